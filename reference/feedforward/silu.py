import torch


def silu(x: torch.Tensor) -> torch.Tensor:
    """SiLU (also called swish): x * sigmoid(x).

    Smooth, ~0 for very negative x, ~x for large x, with a small negative dip: its minimum is
    about -0.2785 at x = -1.2785.

    Args: x: any shape, float dtype.  Returns: same shape and dtype.
    Example: silu(0) = 0, silu(1) = 0.7311, silu(-1) = -0.2689.
    """
    return x * torch.sigmoid(x)
