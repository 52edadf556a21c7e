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
    compute = torch.promote_types(x.dtype, torch.float32)
    xc = x.to(compute)
    mean = xc.mean(dim=-1, keepdim=True)  # (..., 1)
    centered = xc - mean
    var = centered.pow(2).mean(dim=-1, keepdim=True)  # biased: divide by n
    y = centered * torch.rsqrt(var + eps)
    return (y * weight.to(compute) + bias.to(compute)).to(x.dtype)
