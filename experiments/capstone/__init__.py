"""Capstone experiments: what the KV cache buys when a language model generates."""
