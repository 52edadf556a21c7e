"""Attention written differently from the reference, all correct: the mask from an index
comparison; scores by einsum in float64 with blocked keys at a large negative number (not -inf)
and a hand-written softmax that subtracts the row maximum; repeat_kv by index_select; grouped-query
attention by broadcasting each KV head over its group of query heads instead of repeating it."""
import math

import torch
from torch import nn

from reference.position_encoding import apply_rope


def causal_mask(seq_len):
    i = torch.arange(seq_len)
    return i[None, :] <= i[:, None]  # key j <= query i


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", q.double(), k.double()) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e300)
    e = torch.exp(scores - scores.amax(-1, keepdim=True))
    if mask is not None:
        e = e * mask  # blocked keys count for exactly nothing; an empty row sums to 0
    total = e.sum(-1, keepdim=True)
    weights = torch.where(total > 0, e / total.clamp_min(1e-300), torch.zeros_like(e))
    out = torch.einsum("...qk,...kd->...qd", weights, v.double())
    return out.to(q.dtype), weights.to(q.dtype)


def repeat_kv(x, n_rep):
    heads = torch.arange(x.shape[2] * n_rep, device=x.device) // n_rep
    return x.index_select(2, heads)


class MultiHeadAttention(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads=None):
        super().__init__()
        self.n_heads = n_heads
        self.n_kv = n_heads if n_kv_heads is None else n_kv_heads
        self.hd = dim // n_heads
        self.q_proj = nn.Linear(dim, n_heads * self.hd, bias=False)
        self.k_proj = nn.Linear(dim, self.n_kv * self.hd, bias=False)
        self.v_proj = nn.Linear(dim, self.n_kv * self.hd, bias=False)
        self.o_proj = nn.Linear(n_heads * self.hd, dim, bias=False)

    def forward(self, x, cos=None, sin=None, causal=True):
        b, t, _ = x.shape
        rep = self.n_heads // self.n_kv
        q = self.q_proj(x).unflatten(-1, (self.n_heads, self.hd))
        k = self.k_proj(x).unflatten(-1, (self.n_kv, self.hd))
        v = self.v_proj(x).unflatten(-1, (self.n_kv, self.hd))
        if cos is not None and sin is not None:
            q, k = apply_rope(q, cos[:t], sin[:t]), apply_rope(k, cos[:t], sin[:t])
        q = q.unflatten(2, (self.n_kv, rep)).permute(0, 2, 3, 1, 4)  # (b, n_kv, rep, t, hd)
        k = k.permute(0, 2, 1, 3)[:, :, None]  # (b, n_kv, 1, t, hd): shared by the group
        v = v.permute(0, 2, 1, 3)[:, :, None]
        mask = causal_mask(t).to(x.device) if causal else None
        out, _ = scaled_dot_product_attention(q, k, v, mask)  # (b, n_kv, rep, t, hd)
        return self.o_proj(out.permute(0, 3, 1, 2, 4).reshape(b, t, -1))
