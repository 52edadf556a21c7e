"""Realistic wrong versions of the Transformer block (see kata/mistakes/__init__.py).

Each replaces TransformerBlock as a whole and builds its parts from the reference, so in the
mutation suite only the wiring of the block is wrong, never a part."""
from torch import nn

from reference.attention import MultiHeadAttention
from reference.feedforward import SwiGLU
from reference.normalization import RMSNorm
from reference.position_encoding import rope_cos_sin

from . import Catalogue

MISTAKES = Catalogue("architecture")
mistake = MISTAKES.add


class _Block(nn.Module):
    """The reference's submodules and names; each mistake changes __init__ or forward."""

    def __init__(self, dim, n_heads, n_kv_heads=None, hidden_dim=None, eps=1e-5):
        super().__init__()
        self.attn_norm = RMSNorm(dim, eps)
        self.attn = MultiHeadAttention(dim, n_heads, n_kv_heads)
        self.ffn_norm = RMSNorm(dim, eps)
        self.ffn = SwiGLU(dim, hidden_dim)

    def forward(self, x, cos, sin):
        h = x + self.attn(self.attn_norm(x), cos, sin, causal=True)
        return h + self.ffn(self.ffn_norm(h))


# ---------------------------------------------------------------- the order of the steps


@mistake("TransformerBlock", "a Post-LN block (norm after each residual add) where the contract asks for Pre-LN")
class PostLNBlock(_Block):
    def forward(self, x, cos, sin):
        h = self.attn_norm(x + self.attn(x, cos, sin, causal=True))
        return self.ffn_norm(h + self.ffn(h))


@mistake("TransformerBlock", "the residual around the FFN is missing: ffn(ffn_norm(h)) without + h")
class NoFFNResidualBlock(_Block):
    def forward(self, x, cos, sin):
        h = x + self.attn(self.attn_norm(x), cos, sin, causal=True)
        return self.ffn(self.ffn_norm(h))


@mistake("TransformerBlock", "the residual around attention is missing: attn(attn_norm(x)) without + x")
class NoAttnResidualBlock(_Block):
    def forward(self, x, cos, sin):
        h = self.attn(self.attn_norm(x), cos, sin, causal=True)
        return h + self.ffn(self.ffn_norm(h))


@mistake("TransformerBlock", "the normalized input is added back instead of the raw one (x = norm(x); x + attn(x))")
class AddsNormedBlock(_Block):
    def forward(self, x, cos, sin):
        x = self.attn_norm(x)
        h = x + self.attn(x, cos, sin, causal=True)
        h = self.ffn_norm(h)
        return h + self.ffn(h)


@mistake("TransformerBlock", "attention and FFN in parallel on the same input (x + attn(.) + ffn(.)), not one after the other")
class ParallelBlock(_Block):
    def forward(self, x, cos, sin):
        return x + self.attn(self.attn_norm(x), cos, sin, causal=True) + self.ffn(self.ffn_norm(x))


@mistake("TransformerBlock", "attn_norm is skipped: attention sees the raw residual stream")
class NoAttnNormBlock(_Block):
    def forward(self, x, cos, sin):
        h = x + self.attn(x, cos, sin, causal=True)
        return h + self.ffn(self.ffn_norm(h))


@mistake("TransformerBlock", "the block's output is normalized too (a final norm belongs to the model, once)")
class NormalizedOutputBlock(_Block):
    def forward(self, x, cos, sin):
        h = x + self.attn(self.attn_norm(x), cos, sin, causal=True)
        return self.ffn_norm(h + self.ffn(self.ffn_norm(h)))


# ---------------------------------------------------------------- the norms


@mistake("TransformerBlock", "the two norms are swapped: ffn_norm before attention, attn_norm before the FFN")
class SwappedNormsBlock(_Block):
    def forward(self, x, cos, sin):
        h = x + self.attn(self.ffn_norm(x), cos, sin, causal=True)
        return h + self.ffn(self.attn_norm(h))


@mistake("TransformerBlock", "one norm used twice: attn_norm also goes before the FFN (ffn_norm's weight is never used)")
class ReusedNormBlock(_Block):
    def forward(self, x, cos, sin):
        h = x + self.attn(self.attn_norm(x), cos, sin, causal=True)
        return h + self.ffn(self.attn_norm(h))


@mistake("TransformerBlock", "eps is not passed to the RMSNorms (they use their default)")
class IgnoresEpsBlock(_Block):
    def __init__(self, dim, n_heads, n_kv_heads=None, hidden_dim=None, eps=1e-5):
        super().__init__(dim, n_heads, n_kv_heads, hidden_dim)


# ---------------------------------------------------------------- attention's arguments


@mistake("TransformerBlock", "attention is not causal inside the block (causal=False): tokens see the future")
class NonCausalBlock(_Block):
    def forward(self, x, cos, sin):
        h = x + self.attn(self.attn_norm(x), cos, sin, causal=False)
        return h + self.ffn(self.ffn_norm(h))


@mistake("TransformerBlock", "cos and sin are not passed to attention: no RoPE, so the order of earlier tokens is invisible")
class NoRopeBlock(_Block):
    def forward(self, x, cos, sin):
        h = x + self.attn(self.attn_norm(x))
        return h + self.ffn(self.ffn_norm(h))


@mistake("TransformerBlock", "the block builds its own RoPE tables instead of using the cos and sin it is given")
class OwnRopeBlock(_Block):
    def forward(self, x, cos, sin):
        cos, sin = rope_cos_sin(self.attn.head_dim, x.shape[1])
        h = x + self.attn(self.attn_norm(x), cos, sin, causal=True)
        return h + self.ffn(self.ffn_norm(h))


@mistake("TransformerBlock", "n_kv_heads is not passed to MultiHeadAttention (always full multi-head)")
class IgnoresKVHeadsBlock(_Block):
    def __init__(self, dim, n_heads, n_kv_heads=None, hidden_dim=None, eps=1e-5):
        super().__init__(dim, n_heads, None, hidden_dim, eps)


@mistake("TransformerBlock", "hidden_dim is not passed to SwiGLU (always the default width)")
class IgnoresHiddenDimBlock(_Block):
    def __init__(self, dim, n_heads, n_kv_heads=None, hidden_dim=None, eps=1e-5):
        super().__init__(dim, n_heads, n_kv_heads, None, eps)


# ---------------------------------------------------------------- tensors and autograd


@mistake("TransformerBlock", "the attention residual is added in place (h = x; h += ...), changing the caller's x")
class InPlaceInputBlock(_Block):
    def forward(self, x, cos, sin):
        h = x
        h += self.attn(self.attn_norm(x), cos, sin, causal=True)
        return h + self.ffn(self.ffn_norm(h))


@mistake("TransformerBlock", "the FFN residual is added in place (h += ffn(ffn_norm(h))): backward raises")
class InPlaceFFNResidualBlock(_Block):
    def forward(self, x, cos, sin):
        h = x + self.attn(self.attn_norm(x), cos, sin, causal=True)
        h += self.ffn(self.ffn_norm(h))  # ffn_norm saved h for its backward
        return h


@mistake("TransformerBlock", "the residual stream is kept in float32 and not cast back: half input gives float32")
class Float32StreamBlock(_Block):
    def forward(self, x, cos, sin):
        h = x.float() + self.attn(self.attn_norm(x), cos, sin, causal=True).float()
        return h + self.ffn(self.ffn_norm(h).to(x.dtype)).float()
