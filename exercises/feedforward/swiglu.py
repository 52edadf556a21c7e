import torch
from torch import nn

from .silu import silu
from .swiglu_hidden_dim import swiglu_hidden_dim


class SwiGLU(nn.Module):
    """The gated FFN of Llama, Qwen and Mistral: down_proj(silu(gate_proj(x)) * up_proj(x)).

    Args:
        dim: model width.
        hidden_dim: inner width; None means swiglu_hidden_dim(dim, multiple_of).
        multiple_of: rounding for the default hidden_dim.
    Parameters (no bias): gate_proj and up_proj (dim -> hidden_dim), down_proj (hidden_dim -> dim).

    forward(x): (..., dim) -> (..., dim). SiLU goes on the gate only; the product is elementwise.
    """

    def __init__(self, dim: int, hidden_dim: int | None = None, multiple_of: int = 64):
        super().__init__()
        raise NotImplementedError('SwiGLU: not written yet (replace this line with your code; hints: make hint EX=SwiGLU)')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError('SwiGLU: not written yet (replace this line with your code; hints: make hint EX=SwiGLU)')
