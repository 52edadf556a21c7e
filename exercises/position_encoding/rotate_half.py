import torch


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """Turn every pair (x[j], x[j + d/2]) by +90 degrees: cat([-x2, x1], dim=-1).

    x1 is the first half of the last dim, x2 the second half. With cos/sin in the half-split
    layout, x * cos + rotate_half(x) * sin rotates each pair by its angle.

    Args: x: (..., d), d even.  Returns: (..., d), same dtype.
    Example: [1, 2, 3, 4] -> [-3, -4, 1, 2].
    """
    raise NotImplementedError('rotate_half: not written yet (replace this line with your code; hints: make hint EX=rotate_half)')
