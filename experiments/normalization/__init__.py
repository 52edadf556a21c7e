"""Normalization experiments: activations through depth, where the norm goes, half precision."""
