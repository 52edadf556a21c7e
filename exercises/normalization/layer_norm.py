import torch


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
               eps: float = 1e-5) -> torch.Tensor:
    """Layer normalization over the last dimension.

        y = (x - mean) / sqrt(var + eps) * weight + bias

    mean and var are taken over the last dimension; var is the *biased* variance
    (divide by n, not n - 1), as in the original LayerNorm.

    Args:
        x: (..., dim) activations, any float dtype.
        weight: (dim,) gain.  bias: (dim,) shift.
        eps: added to the variance inside the square root.

    Returns:
        (..., dim), same dtype and device as x; half precision is computed in float32 and cast
        back. No input is modified.

    Example (eps=0, unit weight, zero bias): x = [1, 0, 0, 0] has mean 0.25 and variance 0.1875,
    so y = [1.7321, -0.5774, -0.5774, -0.5774].
    """
    raise NotImplementedError('layer_norm: not written yet (replace this line with your code; hints: make hint EX=layer_norm)')
