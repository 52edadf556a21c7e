from typing import Callable

import torch


def post_norm_residual(x: torch.Tensor, sublayer: Callable[[torch.Tensor], torch.Tensor],
                       norm: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Post-LN residual step, as in the original Transformer (2017):

        norm(x + sublayer(x))

    The norm sits on the residual stream itself, so every layer's output is normalized.

    Args:
        x: (batch, seq, dim) residual stream.
        sublayer: a callable (attention or feed-forward), (..., dim) -> (..., dim).
        norm: a callable such as an RMSNorm module.
    Returns: (batch, seq, dim).
    """
    return norm(x + sublayer(x))
