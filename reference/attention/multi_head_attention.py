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
        self.n_heads = n_heads
        self.n_kv_heads = n_kv_heads or n_heads
        self.head_dim = dim // n_heads
        self.q_proj = nn.Linear(dim, n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(dim, self.n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(dim, self.n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(n_heads * self.head_dim, dim, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor | None = None, sin: torch.Tensor | None = None,
                causal: bool = True) -> torch.Tensor:
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.n_heads, self.head_dim)  # (B, T, nh, hd)
        k = self.k_proj(x).view(b, s, self.n_kv_heads, self.head_dim)  # (B, T, nkv, hd)
        v = self.v_proj(x).view(b, s, self.n_kv_heads, self.head_dim)
        if cos is not None and sin is not None:
            q, k = apply_rope(q, cos[:s], sin[:s]), apply_rope(k, cos[:s], sin[:s])
        n_rep = self.n_heads // self.n_kv_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)  # (B, T, nh, hd)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hd)
        mask = causal_mask(s).to(x.device) if causal else None
        out, _ = scaled_dot_product_attention(q, k, v, mask)  # (B, nh, T, hd)
        out = out.transpose(1, 2).reshape(b, s, self.n_heads * self.head_dim)  # (B, T, dim)
        return self.o_proj(out)
