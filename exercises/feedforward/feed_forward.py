import torch
from torch import nn


class FeedForward(nn.Module):
    """The classic two-layer MLP of GPT-2 / BERT: down_proj(gelu(up_proj(x))).

    Args: dim: model width.  hidden_dim: expanded width (4 * dim classically).
    Parameters (no bias): up_proj (dim -> hidden_dim), down_proj (hidden_dim -> dim).
    GELU is the exact one, x * Phi(x) with the normal CDF (erf), not the tanh approximation.

    forward(x): (..., dim) -> (..., dim), each token independently.
    """

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        raise NotImplementedError('FeedForward: not written yet (replace this line with your code; hints: make hint EX=FeedForward)')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError('FeedForward: not written yet (replace this line with your code; hints: make hint EX=FeedForward)')
