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
        if hidden_dim is None:
            hidden_dim = swiglu_hidden_dim(dim, multiple_of)
        self.gate_proj = nn.Linear(dim, hidden_dim, bias=False)
        self.up_proj = nn.Linear(dim, hidden_dim, bias=False)
        self.down_proj = nn.Linear(hidden_dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(silu(self.gate_proj(x)) * self.up_proj(x))
