"""The Pre-LN block, written differently: through the normalization module's pre_norm_residual,
with keyword arguments, RoPE tables sliced before attention sees them, and built from this
package's own alternative parts (Llama-order RMSNorm, float64 attention, fused SwiGLU)."""
from torch import nn

from ..attention import MultiHeadAttention
from ..feedforward import SwiGLU
from ..normalization import RMSNorm, pre_norm_residual


class TransformerBlock(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads=None, hidden_dim=None, eps=1e-5):
        super().__init__()
        self.attn_norm = RMSNorm(dim, eps=eps)
        self.attn = MultiHeadAttention(dim, n_heads, n_kv_heads=n_kv_heads)
        self.ffn_norm = RMSNorm(dim, eps=eps)
        self.ffn = SwiGLU(dim, hidden_dim=hidden_dim)

    def forward(self, x, cos, sin):
        seq = x.shape[1]
        h = pre_norm_residual(x, lambda t: self.attn(t, cos=cos[:seq], sin=sin[:seq], causal=True), self.attn_norm)
        return pre_norm_residual(h, self.ffn, self.ffn_norm)
