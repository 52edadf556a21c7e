"""The shipped text (data/moby_dick.txt, public domain), a character-level tokenizer, a train /
validation split and random batches. Nothing is downloaded."""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import torch

TEXT_PATH = Path(__file__).resolve().parents[2] / "data" / "moby_dick.txt"


def load_text(path: Path = TEXT_PATH) -> str:
    return path.read_text(encoding="utf-8")


class CharTokenizer:
    """One token per distinct character of the text, in sorted order (so the ids are stable)."""

    def __init__(self, text: str | None = None, chars: list[str] | None = None):
        self.chars = list(chars) if chars is not None else sorted(set(text or ""))
        self.index = {c: i for i, c in enumerate(self.chars)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {''.join(unknown)!r}")
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else ids
        return "".join(self.chars[i] for i in ids)


def split(ids: torch.Tensor, every: int = 10, block: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, validation): every `every`-th block of `block` characters is validation, so it
    samples the whole book. (The last chapters alone read unlike the rest: chapter 32 is a
    catalogue of whales, and a tail split scored 0.25 bits/char worse than the training text.)"""
    blocks = ids.split(block)
    val = [b for i, b in enumerate(blocks) if i % every == every - 1]
    train = [b for i, b in enumerate(blocks) if i % every != every - 1]
    return torch.cat(train), torch.cat(val)


def get_batch(ids: torch.Tensor, batch: int, seq: int, generator: torch.Generator | None = None):
    """(inputs, targets), each (batch, seq): random windows, targets shifted by one character."""
    starts = torch.randint(0, len(ids) - seq - 1, (batch,), generator=generator)
    rows = starts[:, None] + torch.arange(seq + 1)  # (batch, seq + 1)
    window = ids[rows]
    return window[:, :-1], window[:, 1:]


def unigram_bits(ids: torch.Tensor) -> float:
    """Entropy of the character frequencies, in bits per character: the loss of the best model
    that ignores context entirely. Anything that learned from context must end below it."""
    counts = Counter(ids.tolist())
    n = len(ids)
    return -sum(c / n * math.log2(c / n) for c in counts.values())
