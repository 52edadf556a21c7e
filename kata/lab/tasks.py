"""Synthetic sequence tasks that a tiny model can actually learn on a CPU in seconds, each chosen
so that one design choice matters. Every task returns (inputs, targets) of token ids; targets of
-100 are ignored by the loss. `accuracy(model, task)` scores the non-ignored positions greedily."""
from __future__ import annotations

from dataclasses import dataclass

import torch

IGNORE = -100


@dataclass
class Task:
    """Base: subclasses define vocab, seq_len and sample(gen, batch)."""
    batch_size: int = 32

    def __call__(self, gen: torch.Generator):
        return self.sample(gen, self.batch_size)


@dataclass
class Reverse(Task):
    """[a b c d SEP] -> predict [d c b a] after SEP. Needs order (position) and lookup (attention)."""
    n: int = 8
    n_symbols: int = 10

    @property
    def vocab(self):
        return self.n_symbols + 1  # + SEP

    @property
    def seq_len(self):
        return 2 * self.n

    def sample(self, gen, batch):
        sep = self.n_symbols
        src = torch.randint(0, self.n_symbols, (batch, self.n), generator=gen)
        full = torch.cat([src, torch.full((batch, 1), sep), src.flip(1)], dim=1)  # (B, 2n + 1)
        x, y = full[:, :-1], full[:, 1:].clone()
        y[:, : self.n] = IGNORE  # only the reversed half is scored
        return x, y


@dataclass
class LookBack(Task):
    """Predict the token k positions back. Needs relative position, nothing else."""
    k: int = 3
    length: int = 24
    n_symbols: int = 16

    @property
    def vocab(self):
        return self.n_symbols

    @property
    def seq_len(self):
        return self.length

    def sample(self, gen, batch):
        x = torch.randint(0, self.n_symbols, (batch, self.length), generator=gen)
        y = torch.full_like(x, IGNORE)
        y[:, self.k:] = x[:, : -self.k]
        return x, y


@dataclass
class AssociativeRecall(Task):
    """k1 v1 k2 v2 ... kn vn  q -> the value stored under key q. A pure attention lookup."""
    n_pairs: int = 6
    n_keys: int = 16
    n_values: int = 16

    @property
    def vocab(self):
        return self.n_keys + self.n_values

    @property
    def seq_len(self):
        return 2 * self.n_pairs + 1

    def sample(self, gen, batch):
        keys = torch.stack([torch.randperm(self.n_keys, generator=gen)[: self.n_pairs] for _ in range(batch)])
        values = torch.randint(0, self.n_values, (batch, self.n_pairs), generator=gen) + self.n_keys
        pairs = torch.stack([keys, values], dim=2).reshape(batch, -1)  # (B, 2 n_pairs)
        pick = torch.randint(0, self.n_pairs, (batch,), generator=gen)
        query = keys[torch.arange(batch), pick]
        x = torch.cat([pairs, query[:, None]], dim=1)
        y = torch.full_like(x, IGNORE)
        y[:, -1] = values[torch.arange(batch), pick]
        return x, y


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
def accuracy(model, task: Task, n_batches: int = 4, seed: int = 12345) -> float:
    gen = torch.Generator().manual_seed(seed)
    right = total = 0
    for _ in range(n_batches):
        x, y = task.sample(gen, 128)
        pred = model(x).argmax(-1)
        keep = y != IGNORE
        right += int((pred[keep] == y[keep]).sum())
        total += int(keep.sum())
    return right / max(total, 1)
