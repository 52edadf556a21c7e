import torch


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Root-mean-square normalization over the last dimension.

        y = x / sqrt(mean(x**2, last dim) + eps) * weight

    Args:
        x: (..., dim) activations, any float dtype.
        weight: (dim,) learnable gain.
        eps: added to the mean square *inside* the square root, so an all-zero row stays finite.

    Returns:
        (..., dim), same dtype and device as x. Half-precision inputs (float16, bfloat16) are
        computed in float32 internally (x**2 overflows float16 above 256) and cast back.
        Neither x nor weight is modified.

    Example (eps=0): x = [3, 4] has mean square 12.5, rms 3.5355, so y = [0.8485, 1.1314].
    """
    compute = torch.promote_types(x.dtype, torch.float32)  # at least float32 for the statistic
    xc = x.to(compute)
    mean_square = xc.pow(2).mean(dim=-1, keepdim=True)  # (..., 1)
    y = xc * torch.rsqrt(mean_square + eps)
    return (y * weight.to(compute)).to(x.dtype)
