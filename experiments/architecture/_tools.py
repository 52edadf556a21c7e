"""Shared pieces of the architecture experiments: decoders built from the contract's
TransformerBlock or from kata.lab's switchable block, and a training loop that records the
gradient norm of every block. Not an experiment itself (it is not listed in course.toml)."""
from __future__ import annotations

import math

import torch
from torch import nn

from kata.lab.models import Parts, TinyDecoder
from kata.lab.train import seed_all

DIM, HEADS = 32, 4
HIDDEN = int(4 * DIM * 2 / 3)  # the SwiGLU width of kata.lab's blocks (hidden_mult 4), for both kinds


class ContractBlock(nn.Module):
    """The contract's TransformerBlock (yours with IMPL=exercises) in the slot of a kata.lab block."""

    def __init__(self, block: nn.Module):
        super().__init__()
        self.block = block

    def forward(self, x, cos=None, sin=None, causal=True):
        return self.block(x, cos, sin)  # always causal, always Pre-LN: that is the contract


def decoder(ctx, vocab: int, max_len: int, n_layers: int, kind: str) -> nn.Module:
    """A small decoder whose blocks are one of:
        "pre-ln"          the contract's TransformerBlock from IMPL: x + attn(norm(x)), then the FFN
        "post-ln"         norm(x + attn(x)), then norm(h + ffn(h))        (kata.lab block, reference)
        "no-residual"     attn(norm(x)), then ffn(norm(h)): Pre-LN minus the residual stream
    Everything else (embedding, RoPE, final norm, head, SwiGLU width) is the same."""
    model = TinyDecoder(vocab, dim=DIM, n_layers=n_layers, n_heads=HEADS, max_len=max_len,
                        parts=Parts("reference"), placement="post" if kind == "post-ln" else "pre",
                        residual=kind != "no-residual")
    if kind == "pre-ln":
        block = ctx.impl("architecture").TransformerBlock
        model.blocks = nn.ModuleList(ContractBlock(block(DIM, HEADS, hidden_dim=HIDDEN)) for _ in range(n_layers))
    return model


def block_grad_norms(model) -> list[float]:
    """The gradient norm of each block's parameters, first block first."""
    return [math.sqrt(sum(float(p.grad.pow(2).sum()) for p in b.parameters() if p.grad is not None))
            for b in model.blocks]


def train_recording(model, task, steps: int, lr: float, *, seed: int, clip: float | None) -> dict:
    """AdamW at a constant learning rate from the first step (no warm-up), like kata.lab.train, but
    keeping each step's per-block gradient norms (measured before any clipping).

    Returns {"loss": [...], "grads": [[per block] per step], "diverged": bool}."""
    gen = seed_all(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    out = {"loss": [], "grads": [], "diverged": False}
    model.train()
    for _ in range(steps):
        x, y = task(gen)
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)
        if not math.isfinite(loss.item()):
            out["diverged"] = True
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        out["grads"].append(block_grad_norms(model))
        if clip:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        out["loss"].append(loss.item())
    return out


def mean_grads(grads: list[list[float]], start: int = 0, stop: int | None = None) -> list[float]:
    """Per-block gradient norm averaged over steps start..stop-1, counted from 0 (a geometric mean:
    the values span decades)."""
    rows = grads[start:stop] or grads
    return [math.exp(sum(math.log(max(r[i], 1e-30)) for r in rows) / len(rows)) for i in range(len(rows[0]))]
