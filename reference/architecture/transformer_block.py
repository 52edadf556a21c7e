import torch
from torch import nn

from ..attention import MultiHeadAttention
from ..feedforward import SwiGLU
from ..normalization import RMSNorm


class TransformerBlock(nn.Module):
    """One Pre-LN decoder block, as in Llama:

        h   = x + attn(attn_norm(x), cos, sin, causal=True)
        out = h + ffn(ffn_norm(h))

    Args:
        dim, n_heads, n_kv_heads: as MultiHeadAttention.
        hidden_dim: SwiGLU width (None: swiglu_hidden_dim(dim)).  eps: for both RMSNorms.
    Submodules (names are part of the contract): attn_norm (RMSNorm), attn (MultiHeadAttention),
    ffn_norm (RMSNorm), ffn (SwiGLU).

    forward(x, cos, sin): x (batch, seq, dim), RoPE tables (>= seq rows) -> (batch, seq, dim).
    """

    def __init__(self, dim: int, n_heads: int, n_kv_heads: int | None = None,
                 hidden_dim: int | None = None, eps: float = 1e-5):
        super().__init__()
        self.attn_norm = RMSNorm(dim, eps)
        self.attn = MultiHeadAttention(dim, n_heads, n_kv_heads)
        self.ffn_norm = RMSNorm(dim, eps)
        self.ffn = SwiGLU(dim, hidden_dim)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        h = x + self.attn(self.attn_norm(x), cos, sin, causal=True)  # attention: mix tokens
        return h + self.ffn(self.ffn_norm(h))  # feed-forward: each token on its own
