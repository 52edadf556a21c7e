"""Feed-forward, written differently: SiLU as x / (1 + exp(-x)), integer-only rounding, a
hand-written erf GELU in float64, and SwiGLU's gate and up projections fused into one matmul
(over the same two weights) with the gated product taken in float64."""
import math

import torch
from torch import nn


def silu(x):
    return x / (1 + torch.exp(-x))  # exp(-x) overflowing to inf gives x / inf = 0, the right limit


def swiglu_hidden_dim(dim, multiple_of=64):
    hidden = 8 * dim // 3  # the same as int(8 * dim / 3) for positive dim, without a float
    return -(-hidden // multiple_of) * multiple_of


class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.up_proj = nn.Linear(dim, hidden_dim, bias=False)
        self.down_proj = nn.Linear(hidden_dim, dim, bias=False)

    def forward(self, x):
        h = self.up_proj(x).double()
        return self.down_proj((0.5 * h * (1 + torch.erf(h / math.sqrt(2)))).to(x.dtype))


class SwiGLU(nn.Module):
    def __init__(self, dim, hidden_dim=None, multiple_of=64):
        super().__init__()
        if hidden_dim is None:
            hidden_dim = swiglu_hidden_dim(dim, multiple_of)
        self.gate_proj = nn.Linear(dim, hidden_dim, bias=False)
        self.up_proj = nn.Linear(dim, hidden_dim, bias=False)
        self.down_proj = nn.Linear(hidden_dim, dim, bias=False)

    def forward(self, x):
        both = nn.functional.linear(x, torch.cat([self.gate_proj.weight, self.up_proj.weight]))
        gate, up = both.double().chunk(2, dim=-1)  # (..., hidden) each
        return self.down_proj((gate * torch.special.expit(gate) * up).to(x.dtype))
