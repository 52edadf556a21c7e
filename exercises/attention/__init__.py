"""Attention: every token looks up the others and gathers what it needs."""
from .causal_mask import causal_mask
from .multi_head_attention import MultiHeadAttention
from .repeat_kv import repeat_kv
from .scaled_dot_product_attention import scaled_dot_product_attention

__all__ = ["causal_mask", "scaled_dot_product_attention", "repeat_kv", "MultiHeadAttention"]
