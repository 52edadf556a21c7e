"""Realistic wrong versions of the attention exercises (see kata/mistakes/__init__.py).

Each one keeps every shape right on the inputs most people try first (one head, one token, a
square float32 example), which is what makes it worth catching."""
import math

import torch
from torch import nn

from reference.attention import causal_mask as ref_causal_mask
from reference.attention import repeat_kv as ref_repeat_kv
from reference.attention import scaled_dot_product_attention as ref_sdpa
from reference.position_encoding import apply_rope

from . import Catalogue

MISTAKES = Catalogue("attention")
mistake = MISTAKES.add

# ---------------------------------------------------------------- causal_mask


@mistake("causal_mask", "the polarity is inverted: True must mean 'may attend', not 'blocked'")
def causal_mask_inverted(seq_len):
    return torch.ones(seq_len, seq_len, dtype=torch.bool).triu(1)


@mistake("causal_mask", "the diagonal is hidden: a token must be allowed to attend to itself (row 0 would be empty)")
def causal_mask_no_diagonal(seq_len):
    return torch.ones(seq_len, seq_len, dtype=torch.bool).tril(-1)


@mistake("causal_mask", "the mask lets each token see one step ahead (tril(1) instead of tril())")
def causal_mask_one_ahead(seq_len):
    return torch.ones(seq_len, seq_len, dtype=torch.bool).tril(1)


@mistake("causal_mask", "rows and columns swapped: True where j >= i lets queries see the future, not the past")
def causal_mask_transposed(seq_len):
    return torch.ones(seq_len, seq_len, dtype=torch.bool).triu()


@mistake("causal_mask", "an additive float mask (0 / -inf) instead of the contract's bool mask")
def causal_mask_additive(seq_len):
    return torch.full((seq_len, seq_len), float("-inf")).triu(1)


# ---------------------------------------------------------------- scaled_dot_product_attention


def _finish(scores, v, mask):
    """The reference's masking and softmax, for mistakes that only change the scores."""
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores.to(torch.promote_types(scores.dtype, torch.float32)), dim=-1).to(v.dtype)
    if mask is not None:
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    return weights @ v, weights


@mistake("scaled_dot_product_attention", "scores divided by d instead of sqrt(d)")
def sdpa_scale_by_d(q, k, v, mask=None):
    return _finish(q @ k.transpose(-2, -1) / q.shape[-1], v, mask)


@mistake("scaled_dot_product_attention", "scores not scaled at all (the 1/sqrt(d) is missing)")
def sdpa_no_scale(q, k, v, mask=None):
    return _finish(q @ k.transpose(-2, -1), v, mask)


@mistake("scaled_dot_product_attention", "scaled by sqrt of the value size dv instead of the query/key size d")
def sdpa_scale_by_dv(q, k, v, mask=None):
    return _finish(q @ k.transpose(-2, -1) / math.sqrt(v.shape[-1]), v, mask)


@mistake("scaled_dot_product_attention", "scores multiplied by sqrt(d) instead of divided by it")
def sdpa_scale_times(q, k, v, mask=None):
    return _finish(q @ k.transpose(-2, -1) * math.sqrt(q.shape[-1]), v, mask)


@mistake("scaled_dot_product_attention", "softmax over the query axis (dim=-2) instead of the key axis (dim=-1)")
def sdpa_softmax_wrong_axis(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores.float(), dim=-2).nan_to_num(0.0).to(q.dtype)
    return weights @ v, weights


@mistake("scaled_dot_product_attention",
         "mask polarity inverted: True positions were blocked (True means 'may attend')")
def sdpa_mask_inverted(q, k, v, mask=None):
    return ref_sdpa(q, k, v, None if mask is None else ~mask)


@mistake("scaled_dot_product_attention",
         "the mask multiplies the scores (blocked score 0) instead of setting them to -inf")
def sdpa_mask_multiplies_scores(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores * mask
    weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)
    return weights @ v, weights


@mistake("scaled_dot_product_attention",
         "the mask is applied after the softmax (weights * mask): rows no longer sum to 1")
def sdpa_mask_after_softmax(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)
    if mask is not None:
        weights = weights * mask
    return weights @ v, weights


@mistake("scaled_dot_product_attention", "the mask is ignored")
def sdpa_ignores_mask(q, k, v, mask=None):
    return ref_sdpa(q, k, v, None)


@mistake("scaled_dot_product_attention", "a query with no allowed key gives NaN (softmax of a row of -inf is 0/0)")
def sdpa_nan_rows(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)
    return weights @ v, weights


@mistake("scaled_dot_product_attention",
         "blocked scores set to -1e9 but fully masked rows not zeroed: such a row averages every value uniformly")
def sdpa_uniform_empty_rows(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    weights = torch.softmax(scores.float(), dim=-1).to(q.dtype)
    return weights @ v, weights


@mistake("scaled_dot_product_attention",
         "hand-written softmax without subtracting the row maximum: exp of a large score overflows to inf, then NaN")
def sdpa_softmax_no_max(q, k, v, mask=None):
    scores = (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).float()
    e = scores.exp()
    if mask is not None:
        e = e * mask
    total = e.sum(-1, keepdim=True)
    weights = torch.where(total > 0, e / total, torch.zeros_like(e)).to(q.dtype)
    return weights @ v, weights


@mistake("scaled_dot_product_attention", "returns (weights, output) instead of (output, weights)")
def sdpa_swapped_returns(q, k, v, mask=None):
    out, weights = ref_sdpa(q, k, v, mask)
    return weights, out


@mistake("scaled_dot_product_attention", "returns the scaled scores (before the softmax) as the weights")
def sdpa_returns_scores(q, k, v, mask=None):
    out, weights = ref_sdpa(q, k, v, mask)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    return out, scores


@mistake("scaled_dot_product_attention",
         "k transposed with fixed dims (2, 3) instead of the last two (-2, -1): only right for 4-D inputs")
def sdpa_fixed_transpose(q, k, v, mask=None):
    return _finish(q @ k.transpose(2, 3) / math.sqrt(q.shape[-1]), v, mask)


@mistake("scaled_dot_product_attention",
         "leading dims flattened with .view for bmm: fails on non-contiguous inputs (use reshape)")
def sdpa_view_bmm(q, k, v, mask=None):
    *lead, lq, d = q.shape
    lk = k.shape[-2]
    scores = torch.bmm(q.view(-1, lq, d), k.view(-1, lk, d).transpose(1, 2)).view(*lead, lq, lk) / math.sqrt(d)
    out, weights = _finish(scores, v, mask)
    return out, weights


@mistake("scaled_dot_product_attention",
         "the weights stay float32 for half-precision input (cast them back to the input's dtype)")
def sdpa_weights_float32(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores.float(), dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    return weights.to(v.dtype) @ v, weights


@mistake("scaled_dot_product_attention", "q is scaled in place (q /= sqrt(d)), changing the caller's tensor")
def sdpa_in_place(q, k, v, mask=None):
    q /= math.sqrt(q.shape[-1])
    return _finish(q @ k.transpose(-2, -1), v, mask)


@mistake("scaled_dot_product_attention",
         "the -inf fill is built with torch.full on the default device instead of the scores' device")
def sdpa_wrong_device(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        blocked = torch.full(scores.shape, float("-inf"), dtype=scores.dtype)
        scores = torch.where(mask, scores, blocked)
    return _finish(scores, v, mask)


# ---------------------------------------------------------------- repeat_kv


@mistake("repeat_kv", "KV heads tiled (h0, h1, h0, h1) instead of each repeated (h0, h0, h1, h1)")
def repeat_kv_tiled(x, n_rep):
    return x.repeat(1, 1, n_rep, 1)


@mistake("repeat_kv", "repeated along the sequence axis (dim 1) instead of the head axis (dim 2)")
def repeat_kv_wrong_dim(x, n_rep):
    return x.repeat_interleave(n_rep, dim=1)


@mistake("repeat_kv",
         "batch and sequence merged with x.view(b * s, ...): fails on a non-contiguous tensor (use reshape)")
def repeat_kv_view(x, n_rep):
    b, s, n_kv, hd = x.shape
    return x.view(b * s, n_kv, hd).repeat_interleave(n_rep, dim=1).view(b, s, n_kv * n_rep, hd)


@mistake("repeat_kv", "the output is allocated with torch.empty(shape): float32 on the default device, whatever x is")
def repeat_kv_new_buffer(x, n_rep):
    b, s, n_kv, hd = x.shape
    out = torch.empty(b, s, n_kv * n_rep, hd)
    for h in range(n_kv * n_rep):
        out[:, :, h] = x[:, :, h // n_rep]
    return out


@mistake("repeat_kv",
         "the result is detached from x (built from x.detach() or .data): no gradient reaches the keys and values")
def repeat_kv_detached(x, n_rep):
    return ref_repeat_kv(x.detach(), n_rep)


# ---------------------------------------------------------------- MultiHeadAttention


class _Base(nn.Module):
    """The reference's parameters; subclasses get one step wrong in forward."""

    def __init__(self, dim, n_heads, n_kv_heads=None):
        super().__init__()
        self.n_heads = n_heads
        self.n_kv_heads = n_kv_heads or n_heads
        self.head_dim = dim // n_heads
        self.q_proj = nn.Linear(dim, n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(dim, self.n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(dim, self.n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(n_heads * self.head_dim, dim, bias=False)

    def qkv(self, x):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.n_heads, self.head_dim)
        k = self.k_proj(x).view(b, s, self.n_kv_heads, self.head_dim)
        v = self.v_proj(x).view(b, s, self.n_kv_heads, self.head_dim)
        return q, k, v

    def rope(self, q, k, cos, sin):
        s = q.shape[1]
        if cos is not None and sin is not None:
            q, k = apply_rope(q, cos[:s], sin[:s]), apply_rope(k, cos[:s], sin[:s])
        return q, k

    def attend(self, q, k, v, causal):
        """(B, T, nh, hd) q and (B, T, nkv, hd) k, v -> (B, T, nh * hd)."""
        b, s = q.shape[:2]
        n_rep = self.n_heads // self.n_kv_heads
        k, v = ref_repeat_kv(k, n_rep), ref_repeat_kv(v, n_rep)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        mask = ref_causal_mask(s).to(q.device) if causal else None
        out, _ = ref_sdpa(q, k, v, mask)
        return out.transpose(1, 2).reshape(b, s, -1)


@mistake("MultiHeadAttention",
         "heads split with a plain reshape to (B, n_heads, T, head_dim) instead of view + transpose")
class MHASplitWithoutTranspose(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        b, s, _ = x.shape
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        n_rep = self.n_heads // self.n_kv_heads
        k, v = ref_repeat_kv(k, n_rep), ref_repeat_kv(v, n_rep)
        q, k, v = (t.reshape(b, self.n_heads, s, self.head_dim) for t in (q, k, v))  # wrong: no transpose
        mask = ref_causal_mask(s).to(x.device) if causal else None
        out, _ = ref_sdpa(q, k, v, mask)
        return self.o_proj(out.transpose(1, 2).reshape(b, s, -1))


@mistake("MultiHeadAttention",
         "heads merged with a plain reshape of (B, n_heads, T, head_dim) to (B, T, dim), without transposing back")
class MHAMergeWithoutTranspose(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        b, s, _ = x.shape
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        n_rep = self.n_heads // self.n_kv_heads
        k, v = ref_repeat_kv(k, n_rep), ref_repeat_kv(v, n_rep)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        mask = ref_causal_mask(s).to(x.device) if causal else None
        out, _ = ref_sdpa(q, k, v, mask)
        return self.o_proj(out.reshape(b, s, -1))  # wrong: (B, nh, T, hd) read as (B, T, nh * hd)


@mistake("MultiHeadAttention", "RoPE applied to the values too (only queries and keys carry position)")
class MHARopeOnValues(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        if cos is not None:
            v = apply_rope(v, cos[:x.shape[1]], sin[:x.shape[1]])
        return self.o_proj(self.attend(q, k, v, causal))


@mistake("MultiHeadAttention", "RoPE applied to the queries only, not the keys")
class MHARopeQueriesOnly(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        q, k, v = self.qkv(x)
        q, _ = self.rope(q, k, cos, sin)
        return self.o_proj(self.attend(q, k, v, causal))


@mistake("MultiHeadAttention", "cos/sin ignored: no RoPE even when the tables are given")
class MHANoRope(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        q, k, v = self.qkv(x)
        return self.o_proj(self.attend(q, k, v, causal))


@mistake("MultiHeadAttention", "the full cos/sin tables are used instead of their first seq rows (cos[:seq])")
class MHARopeNotSliced(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        q, k, v = self.qkv(x)
        if cos is not None:
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        return self.o_proj(self.attend(q, k, v, causal))


@mistake("MultiHeadAttention", "the causal flag is ignored: always causal")
class MHAAlwaysCausal(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        return self.o_proj(self.attend(q, k, v, True))


@mistake("MultiHeadAttention", "the causal flag is ignored: never causal (every token sees the future)")
class MHANeverCausal(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        return self.o_proj(self.attend(q, k, v, False))


@mistake("MultiHeadAttention", "forward's causal defaults to False; the contract's default is causal=True")
class MHADefaultNotCausal(_Base):
    def forward(self, x, cos=None, sin=None, causal=False):
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        return self.o_proj(self.attend(q, k, v, causal))


@mistake("MultiHeadAttention",
         "n_kv_heads ignored: k_proj and v_proj keep the full width (no GQA, state dicts do not load)")
class MHAIgnoresKVHeads(_Base):
    def __init__(self, dim, n_heads, n_kv_heads=None):
        super().__init__(dim, n_heads, None)

    def forward(self, x, cos=None, sin=None, causal=True):
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        return self.o_proj(self.attend(q, k, v, causal))


@mistake("MultiHeadAttention", "the projections have a bias (the contract's linear layers have none)")
class MHAWithBias(_Base):
    def __init__(self, dim, n_heads, n_kv_heads=None):
        super().__init__(dim, n_heads, n_kv_heads)
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            old = getattr(self, name)
            setattr(self, name, nn.Linear(old.in_features, old.out_features, bias=True))

    def forward(self, x, cos=None, sin=None, causal=True):
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        return self.o_proj(self.attend(q, k, v, causal))


@mistake("MultiHeadAttention", "the output projection o_proj is never applied")
class MHANoOutputProjection(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        return self.attend(q, k, v, causal)


@mistake("MultiHeadAttention", "query head h paired with KV head h % n_kv_heads (tiling) instead of h // n_rep")
class MHAKVHeadModulo(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        b, s, _ = x.shape
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        idx = torch.arange(self.n_heads, device=x.device) % self.n_kv_heads
        k, v = k[:, :, idx], v[:, :, idx]  # wrong grouping
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        mask = ref_causal_mask(s).to(x.device) if causal else None
        out, _ = ref_sdpa(q, k, v, mask)
        return self.o_proj(out.transpose(1, 2).reshape(b, s, -1))


@mistake("MultiHeadAttention",
         "attention written inline with the scale 1/sqrt(dim) of the model instead of 1/sqrt(head_dim)")
class MHAScaleByModelDim(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        b, s, dim = x.shape
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        # Rescale q so that the reference's 1/sqrt(head_dim) becomes 1/sqrt(dim).
        q = q * math.sqrt(self.head_dim / dim)
        return self.o_proj(self.attend(q, k, v, causal))


@mistake("MultiHeadAttention", "the values are computed with k_proj (a copy-paste slip): v_proj is never used")
class MHAValuesFromKeyProjection(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        q, k, _ = self.qkv(x)
        v = k.clone()  # k_proj(x), before RoPE
        q, k = self.rope(q, k, cos, sin)
        return self.o_proj(self.attend(q, k, v, causal))


@mistake("MultiHeadAttention", "x flattened with x.view(-1, dim) before projecting: fails on a non-contiguous input")
class MHAViewInput(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        b, s, dim = x.shape
        flat = x.view(-1, dim)
        q = self.q_proj(flat).view(b, s, self.n_heads, self.head_dim)
        k = self.k_proj(flat).view(b, s, self.n_kv_heads, self.head_dim)
        v = self.v_proj(flat).view(b, s, self.n_kv_heads, self.head_dim)
        q, k = self.rope(q, k, cos, sin)
        return self.o_proj(self.attend(q, k, v, causal))


@mistake("MultiHeadAttention", "the causal mask is built on the default device, not x.device")
class MHAMaskWrongDevice(_Base):
    def forward(self, x, cos=None, sin=None, causal=True):
        b, s, _ = x.shape
        q, k, v = self.qkv(x)
        q, k = self.rope(q, k, cos, sin)
        n_rep = self.n_heads // self.n_kv_heads
        k, v = ref_repeat_kv(k, n_rep), ref_repeat_kv(v, n_rep)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))
        mask = ref_causal_mask(s) if causal else None  # wrong: stays on the CPU
        out, _ = ref_sdpa(q, k, v, mask)
        return self.o_proj(out.transpose(1, 2).reshape(b, s, -1))
