from typing import Callable

import torch


def pre_norm_residual(x: torch.Tensor, sublayer: Callable[[torch.Tensor], torch.Tensor],
                      norm: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Pre-LN residual step, used by modern decoders (GPT-2 onwards, Llama):

        x + sublayer(norm(x))

    The sublayer sees a normalized copy; the residual stream x itself passes through untouched,
    so a sublayer that outputs zeros returns x exactly.

    Args:
        x: (batch, seq, dim) residual stream.
        sublayer: a callable (attention or feed-forward), (..., dim) -> (..., dim).
        norm: a callable such as an RMSNorm module.
    Returns: (batch, seq, dim).
    """
    raise NotImplementedError('pre_norm_residual: not written yet (replace this line with your code; hints: make hint EX=pre_norm_residual)')
