"""Shared pieces of the attention experiments: two small tasks, reading a trained model's attention
weights, and greedy generation. Not an experiment itself (it is not listed in course.toml)."""
from dataclasses import dataclass

import torch

from kata.lab.tasks import IGNORE, Task


@dataclass
class TwoLookups(Task):
    """Predict the pair (token lag_a back, token lag_b back) as one class: x[t-a] * S + x[t-b].

    Two different positions must be read at once, and which one was which matters (the pair is
    ordered). Values carry no position, so one softmax that splits its weight between the two
    tokens returns an average in which the order is blurred."""
    lag_a: int = 1
    lag_b: int = 4
    length: int = 16
    n_symbols: int = 5

    @property
    def vocab(self):
        return self.n_symbols ** 2  # inputs use the first n_symbols ids, targets all pairs

    @property
    def seq_len(self):
        return self.length

    def sample(self, gen, batch):
        x = torch.randint(0, self.n_symbols, (batch, self.length), generator=gen)
        y = torch.full_like(x, IGNORE)
        a, b, n = self.lag_a, self.lag_b, self.length
        y[:, b:] = x[:, b - a: n - a] * self.n_symbols + x[:, : n - b]
        return x, y


@dataclass
class Periodic(Task):
    """Next-token prediction on a random pattern of `period` tokens repeated: a b c d a b c d ...

    The first period cannot be predicted by anyone who reads left to right (chance is
    1 / n_symbols); every later token is the one `period` steps back."""
    period: int = 4
    length: int = 16
    n_symbols: int = 10

    @property
    def vocab(self):
        return self.n_symbols

    @property
    def seq_len(self):
        return self.length

    def sample(self, gen, batch):
        pattern = torch.randint(0, self.n_symbols, (batch, self.period), generator=gen)
        seq = pattern.repeat(1, self.length // self.period + 2)[:, : self.length + 1]
        return seq[:, :-1], seq[:, 1:]  # inputs, next tokens


@torch.no_grad()
def attention_maps(model, tokens: torch.Tensor, n_heads: int, P_attn, P_pos) -> list[torch.Tensor]:
    """The attention weights of every layer of a kata.lab TinyDecoder on `tokens`: a list of
    (batch, n_heads, T, T) tensors. A forward hook records what each attention layer receives;
    the weights are recomputed from its own q_proj / k_proj with the implementation's
    scaled_dot_product_attention (the contract's MultiHeadAttention returns only its output)."""
    seen = []
    hooks = [block.attn.register_forward_hook(
        lambda mod, args, kwargs, out: seen.append((mod, args, kwargs)), with_kwargs=True)
        for block in model.blocks]
    try:
        model(tokens)
    finally:
        for h in hooks:
            h.remove()
    maps = []
    for mod, args, kwargs in seen:
        h = args[0]
        cos = args[1] if len(args) > 1 else kwargs.get("cos")
        sin = args[2] if len(args) > 2 else kwargs.get("sin")
        causal = kwargs.get("causal", args[3] if len(args) > 3 else True)
        b, t, dim = h.shape
        hd = dim // n_heads
        q = mod.q_proj(h).view(b, t, n_heads, hd)
        k = mod.k_proj(h).view(b, t, -1, hd)
        if cos is not None and sin is not None:
            q, k = P_pos.apply_rope(q, cos[:t], sin[:t]), P_pos.apply_rope(k, cos[:t], sin[:t])
        k = P_attn.repeat_kv(k, n_heads // k.shape[2])
        mask = P_attn.causal_mask(t) if causal else None
        q, k = q.transpose(1, 2), k.transpose(1, 2)  # (b, heads, t, hd)
        _, weights = P_attn.scaled_dot_product_attention(q, k, torch.zeros_like(k), mask)
        maps.append(weights)
    return maps


@torch.no_grad()
def generate(model, prompt: torch.Tensor, total: int) -> torch.Tensor:
    """Greedy left-to-right generation: each new token is predicted from the tokens so far only."""
    seq = prompt
    while seq.shape[1] < total:
        nxt = model(seq)[:, -1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
    return seq
