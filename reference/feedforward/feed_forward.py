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
        self.up_proj = nn.Linear(dim, hidden_dim, bias=False)
        self.down_proj = nn.Linear(hidden_dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(nn.functional.gelu(self.up_proj(x)))  # exact (erf) GELU
