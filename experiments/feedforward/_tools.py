"""Shared pieces of the feed-forward experiments: two lookup-table tasks and a parameter count.
Not an experiment itself (it is not listed in course.toml)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from kata.lab.tasks import IGNORE, Task


@dataclass
class PairTable(Task):
    """A random table of n * n facts: the key is two tokens (a, b), the value a random token.

    Inputs are [a, b] with a from the first n ids and b from the next n; the target after b is
    table[a, b] (one of the first n ids). Attention brings a to b's position; the value cannot be
    computed from a and b, only remembered, and the weights that remember it are the FFN's."""
    n: int = 32
    table_seed: int = 0
    table: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self):
        gen = torch.Generator().manual_seed(self.table_seed)
        self.table = torch.randint(0, self.n, (self.n, self.n), generator=gen)

    @property
    def vocab(self):
        return 2 * self.n

    @property
    def seq_len(self):
        return 2

    def sample(self, gen, batch):
        a = torch.randint(0, self.n, (batch,), generator=gen)
        b = torch.randint(0, self.n, (batch,), generator=gen)
        x = torch.stack([a, b + self.n], dim=1)  # (B, 2)
        y = torch.full_like(x, IGNORE)
        y[:, 1] = self.table[a, b]
        return x, y


@dataclass
class TokenTable(Task):
    """Per-token lookup: the target at position t is table[token, t], a random token.

    Everything needed is in the token itself and its position (added to the embedding as a
    sinusoidal code), so no other token has to be read; but the table is random, so it has to be
    memorised by something nonlinear."""
    n_symbols: int = 16
    length: int = 12
    table_seed: int = 0
    table: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self):
        gen = torch.Generator().manual_seed(self.table_seed)
        self.table = torch.randint(0, self.n_symbols, (self.n_symbols, self.length), generator=gen)

    @property
    def vocab(self):
        return self.n_symbols

    @property
    def seq_len(self):
        return self.length

    def sample(self, gen, batch):
        x = torch.randint(0, self.n_symbols, (batch, self.length), generator=gen)
        return x, self.table[x, torch.arange(self.length)]


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
