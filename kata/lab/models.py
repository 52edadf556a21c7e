"""A small decoder-only model whose every design choice can be switched off, for the experiments.

Its parts come from implementation packages (`reference` or the learner's `exercises`), looked up
by contract name, so an experiment can run on the learner's own code: Parts(ctx.impl_name)."""
from __future__ import annotations

import importlib

import torch
from torch import nn


class Parts:
    """Contract names from `package`, per module; modules listed in `fallback` come from reference
    (e.g. normalization experiments use the learner's norms but the reference attention)."""

    def __init__(self, package: str = "reference", only: tuple[str, ...] | None = None):
        self.package, self.only = package, only

    def __call__(self, module: str):
        pkg = self.package if self.only is None or module in self.only else "reference"
        return importlib.import_module(f"{pkg}.{module}")


class Block(nn.Module):
    """One block: attention then FFN, each wrapped as chosen.

    norm: "rms" | "layer" | None     placement: "pre" | "post"     residual: bool
    ffn: "swiglu" | "gelu" | "relu" | None (None drops the FFN)   attention: bool"""

    def __init__(self, dim, n_heads, parts: Parts, *, norm="rms", placement="pre", residual=True,
                 ffn="swiglu", attention=True, hidden_mult=4, n_kv_heads=None):
        super().__init__()
        P_norm, P_attn, P_ffn = parts("normalization"), parts("attention"), parts("feedforward")
        self.placement, self.residual = placement, residual
        self.norm_kind = norm
        self.P_norm = P_norm
        self.attn = P_attn.MultiHeadAttention(dim, n_heads, n_kv_heads) if attention else None
        if ffn == "swiglu":
            self.ffn = P_ffn.SwiGLU(dim, hidden_dim=int(hidden_mult * dim * 2 / 3))
        elif ffn == "gelu":
            self.ffn = P_ffn.FeedForward(dim, hidden_mult * dim)
        elif ffn == "relu":
            self.ffn = ReluFFN(dim, hidden_mult * dim)
        else:
            self.ffn = None
        self.norm1, self.norm2 = self._norm(dim), self._norm(dim)

    def _norm(self, dim):
        if self.norm_kind == "rms":
            return self.P_norm.RMSNorm(dim)
        if self.norm_kind == "layer":
            return LayerNormModule(dim, self.P_norm.layer_norm)
        return nn.Identity()

    def _step(self, x, sublayer, norm):
        if not self.residual:
            return sublayer(norm(x)) if self.placement == "pre" else norm(sublayer(x))
        if self.placement == "pre":
            return self.P_norm.pre_norm_residual(x, sublayer, norm)
        return self.P_norm.post_norm_residual(x, sublayer, norm)

    def forward(self, x, cos=None, sin=None, causal=True):
        if self.attn is not None:
            x = self._step(x, lambda h: self.attn(h, cos, sin, causal=causal), self.norm1)
        if self.ffn is not None:
            x = self._step(x, self.ffn, self.norm2)
        return x


class ReluFFN(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return self.down_proj(torch.relu(self.up_proj(x)))


class LayerNormModule(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.weight, self.bias, self.fn = nn.Parameter(torch.ones(dim)), nn.Parameter(torch.zeros(dim)), fn

    def forward(self, x):
        return self.fn(x, self.weight, self.bias)


class TinyDecoder(nn.Module):
    """Embedding -> position scheme -> n blocks -> final norm -> vocabulary logits.

    pos: "rope" | "sinusoidal" | None.  causal: the attention mask.  Other keywords go to Block."""

    def __init__(self, vocab, dim=64, n_layers=2, n_heads=4, max_len=128, parts: Parts | None = None,
                 *, pos="rope", causal=True, final_norm=True, **block_kw):
        super().__init__()
        parts = parts or Parts()
        self.pos, self.causal = pos, causal
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(Block(dim, n_heads, parts, **block_kw) for _ in range(n_layers))
        norm = block_kw.get("norm", "rms")
        # The final norm (before the vocabulary head) is an RMSNorm whenever blocks use any norm:
        # experiments vary the blocks' norms, and keep this one fixed so only one thing changes.
        self.final_norm = parts("normalization").RMSNorm(dim) if final_norm and norm else nn.Identity()
        self.head = nn.Linear(dim, vocab, bias=False)
        P_pos = parts("position_encoding")
        if pos == "rope":
            cos, sin = P_pos.rope_cos_sin(dim // n_heads, max_len)
            self.register_buffer("cos", cos, persistent=False)
            self.register_buffer("sin", sin, persistent=False)
        elif pos == "sinusoidal":
            self.register_buffer("pe", P_pos.sinusoidal_encoding(max_len, dim), persistent=False)

    def forward(self, tokens):
        x = self.embed(tokens)  # (B, T, dim)
        T = tokens.shape[1]
        cos = sin = None
        if self.pos == "rope":
            cos, sin = self.cos[:T], self.sin[:T]
        elif self.pos == "sinusoidal":
            x = x + self.pe[:T]
        for block in self.blocks:
            x = block(x, cos, sin, causal=self.causal)
        return self.head(self.final_norm(x))  # (B, T, vocab)
