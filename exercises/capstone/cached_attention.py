import torch

from ..attention import repeat_kv, scaled_dot_product_attention
from ..position_encoding import apply_rope


def cached_attention(attn, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                     cache=None, layer: int = 0) -> torch.Tensor:
    """MultiHeadAttention's forward pass, but with the keys and values kept in a KVCache.

    Args:
        attn: a MultiHeadAttention; only its q_proj, k_proj, v_proj and o_proj are used.
        x: (batch, new, dim), the new positions only.
        cos, sin: (new, head_dim), the RoPE rows of exactly x's positions (the caller slices them:
            rows cache.length .. cache.length + new - 1).
        cache: a KVCache, or None.  layer: which of the cache's layers this is.
    Returns:
        (batch, new, dim).

    Steps: project q, k, v and split the heads; RoPE on q and k; with a cache,
    k, v = cache.update(layer, k, v) (the cache holds n_kv_heads heads); repeat_kv; attention
    with a causal mask that is offset by the cached positions: with Lq new queries and Lk keys,
    query i sits at absolute position Lk - Lq + i and may see key j when j <= Lk - Lq + i;
    merge the heads; o_proj. With cache=None this equals attn(x, cos, sin, causal=True).

    Example: 3 cached positions and 1 new token: Lq = 1, Lk = 4, and the mask row is
    [True, True, True, True] (the new token sees everything before it and itself).
    """
    raise NotImplementedError('cached_attention: not written yet (replace this line with your code; hints: make hint EX=cached_attention)')
