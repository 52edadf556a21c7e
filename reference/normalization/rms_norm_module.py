import torch
from torch import nn

from .rms_norm import rms_norm


class RMSNorm(nn.Module):
    """RMSNorm as a module: `rms_norm(x, self.weight, self.eps)`.

    Args:
        dim: size of the last dimension it normalizes.
        eps: passed to rms_norm; keep it on the module so forward uses it.

    Parameters (names are part of the contract, checked with load_state_dict(strict=True)):
        weight: (dim,), initialised to ones, so a fresh module only normalizes.
    """

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., dim) -> (..., dim), dtype of x."""
        return rms_norm(x, self.weight, self.eps)
