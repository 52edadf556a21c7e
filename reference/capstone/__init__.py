"""Capstone: a tiny decoder-only language model built from your own blocks, with a KV cache."""
from .cached_attention import cached_attention
from .kv_cache import KVCache
from .sample_next_token import sample_next_token
from .tiny_lm import TinyLM

__all__ = ["KVCache", "cached_attention", "sample_next_token", "TinyLM"]
