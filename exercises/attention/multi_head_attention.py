import torch
from torch import nn

from ..position_encoding import apply_rope
from .causal_mask import causal_mask
from .repeat_kv import repeat_kv
from .scaled_dot_product_attention import scaled_dot_product_attention


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention with optional RoPE and grouped KV heads (GQA / MQA).

    Args:
        dim: model width.  n_heads: query heads; head_dim = dim // n_heads.
        n_kv_heads: key/value heads (None means n_heads; fewer is GQA, 1 is MQA). n_heads must
            be a multiple of it.

    Parameters (no bias): q_proj (dim -> dim), k_proj and v_proj (dim -> n_kv_heads * head_dim),
    o_proj (dim -> dim).

    forward(x, cos=None, sin=None, causal=True):
        x: (batch, seq, dim). cos/sin: RoPE tables of at least seq rows; when given, q and k
        (never v) are rotated with cos[:seq], sin[:seq]. causal: apply the causal mask.
        Returns (batch, seq, dim).
    """

    def __init__(self, dim: int, n_heads: int, n_kv_heads: int | None = None):
        super().__init__()
        raise NotImplementedError('MultiHeadAttention: not written yet (replace this line with your code; hints: make hint EX=MultiHeadAttention)')

    def forward(self, x: torch.Tensor, cos: torch.Tensor | None = None, sin: torch.Tensor | None = None,
                causal: bool = True) -> torch.Tensor:
        raise NotImplementedError('MultiHeadAttention: not written yet (replace this line with your code; hints: make hint EX=MultiHeadAttention)')
