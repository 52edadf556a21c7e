"""The capstone written differently, all correct: a cache preallocated per layer that doubles when
full and is filled at a write index; attention over the cache by einsum in float64, each KV head
broadcast over its group of query heads (no repeat_kv), with a mask built from explicit absolute
positions; Gumbel-max sampling (argmax of logits / T plus Gumbel noise) with top-k by sorting; the
tie made from the head's side, and generate writing into a preallocated output."""
import math

import torch
from torch import nn

from ..architecture import TransformerBlock
from ..normalization import RMSNorm
from ..position_encoding import apply_rope, rope_cos_sin


class KVCache:
    def __init__(self):
        self.k, self.v, self.n = [], [], []

    def update(self, layer, k, v):
        while len(self.k) <= layer:
            self.k.append(None), self.v.append(None), self.n.append(0)
        n, new = self.n[layer], k.shape[1]
        if self.k[layer] is None or n + new > self.k[layer].shape[1]:
            cap = max(16, 2 * (n + new))
            for store, t in ((self.k, k), (self.v, v)):
                buf = t.new_empty(t.shape[0], cap, *t.shape[2:])
                if store[layer] is not None:
                    buf[:, :n] = store[layer][:, :n]
                store[layer] = buf
        self.k[layer][:, n:n + new] = k
        self.v[layer][:, n:n + new] = v
        self.n[layer] = n + new
        return self.k[layer][:, :n + new], self.v[layer][:, :n + new]

    @property
    def length(self):
        return self.n[0] if self.n else 0


def cached_attention(attn, x, cos, sin, cache=None, layer=0):
    b, t, _ = x.shape
    hd = cos.shape[-1]
    nh, nkv = attn.q_proj.weight.shape[0] // hd, attn.k_proj.weight.shape[0] // hd
    q = apply_rope(attn.q_proj(x).unflatten(-1, (nh, hd)), cos, sin)
    k = apply_rope(attn.k_proj(x).unflatten(-1, (nkv, hd)), cos, sin)
    v = attn.v_proj(x).unflatten(-1, (nkv, hd))
    if cache is not None:
        k, v = cache.update(layer, k, v)
    lk = k.shape[1]
    q_pos = torch.arange(lk - t, lk, device=x.device)  # absolute positions of the new queries
    mask = torch.arange(lk, device=x.device)[None, :] <= q_pos[:, None]  # (t, lk)
    qg = q.unflatten(2, (nkv, nh // nkv)).double()  # (b, t, g, r, hd)
    scores = torch.einsum("btgrd,bkgd->bgrtk", qg, k.double()) / math.sqrt(hd)
    weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
    out = torch.einsum("bgrtk,bkgd->btgrd", weights, v.double()).to(x.dtype)
    return attn.o_proj(out.reshape(b, t, nh * hd))


def sample_next_token(logits, temperature=1.0, top_k=None, generator=None):
    if not temperature:
        return logits.argmax(-1)
    z = logits.double() / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = z.sort(-1, descending=True).values[:, top_k - 1:top_k]
        z = torch.where(z >= kth, z, torch.full_like(z, float("-inf")))
    u = torch.rand(z.shape, generator=generator, dtype=torch.float64).clamp(1e-300, 1.0)
    return (z - torch.log(-torch.log(u))).argmax(-1)  # Gumbel-max: a draw from softmax(z)


class TinyLM(nn.Module):
    def __init__(self, vocab_size, dim, n_layers, n_heads, n_kv_heads=None, max_len=256, rope_base=10000.0):
        super().__init__()
        self.max_len = max_len
        self.lm_head = nn.Linear(dim, vocab_size, bias=False)
        self.embed = nn.Embedding(vocab_size, dim)
        self.embed.weight = self.lm_head.weight
        with torch.no_grad():
            self.lm_head.weight.normal_(0.0, 0.02)
        self.layers = nn.ModuleList([TransformerBlock(dim, n_heads, n_kv_heads) for _ in range(n_layers)])
        self.norm = RMSNorm(dim)
        cos, sin = rope_cos_sin(dim // n_heads, max_len, rope_base)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def forward(self, tokens, cache=None):
        t = tokens.shape[1]
        p0 = 0 if cache is None else cache.length
        cos, sin = self.cos[p0:p0 + t], self.sin[p0:p0 + t]
        x = self.embed(tokens)
        for i, blk in enumerate(self.layers):
            x = x + cached_attention(blk.attn, blk.attn_norm(x), cos, sin, cache, i)
            x = x + blk.ffn(blk.ffn_norm(x))
        return self.lm_head(self.norm(x))

    def generate(self, tokens, max_new_tokens, temperature=1.0, top_k=None, use_cache=True, generator=None):
        b, t = tokens.shape
        total = t + max_new_tokens
        if total > self.max_len:
            raise ValueError(f"cannot generate {total} positions with max_len={self.max_len}")
        out = tokens.new_empty(b, total)
        out[:, :t] = tokens
        cache = KVCache() if use_cache else None
        with torch.no_grad():
            fed = 0
            for pos in range(t, total):
                step_in = out[:, fed:pos] if use_cache else out[:, :pos]
                logits = self(step_in, cache)[:, -1]
                fed = pos
                out[:, pos] = sample_next_token(logits, temperature, top_k, generator)
        return out
