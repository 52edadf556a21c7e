import torch


def sample_next_token(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Pick the next token of every sequence from the model's last logits.

    Args:
        logits: (batch, vocab), the scores of the next token.
        temperature: 0 means greedy: the argmax, nothing random and no division by zero.
            Otherwise the logits are divided by it before the softmax: below 1 sharpens the
            distribution, above 1 flattens it.
        top_k: keep only the top_k largest logits of each row (the rest become -inf, probability
            0); None keeps them all, and a top_k larger than vocab keeps them all too.
        generator: passed to torch.multinomial, so a seeded generator gives reproducible draws.
    Returns:
        (batch,) int64 token ids.

    Example: logits [[2, 1, 0]] with temperature 0 -> [0]; with top_k=1 -> [0] too (one choice
    left); with temperature 1 token 0 is drawn with probability e^2 / (e^2 + e + 1) = 0.6652.
    """
    raise NotImplementedError('sample_next_token: not written yet (replace this line with your code; hints: make hint EX=sample_next_token)')
