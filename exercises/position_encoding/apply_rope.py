import torch

from .rotate_half import rotate_half


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding: rotate each (j, j + head_dim/2) pair of x by its position's angle.

        x * cos + rotate_half(x) * sin

    Args:
        x: (batch, seq, n_heads, head_dim) queries or keys.
        cos, sin: (seq, head_dim) from rope_cos_sin, already sliced to x's positions.
    Returns:
        (batch, seq, n_heads, head_dim), dtype of x. Norms are preserved, and the dot product of
        a rotated query at position m with a rotated key at n depends only on m - n.

    Example (head_dim=2): x = [1, 0] at an angle of 90 degrees becomes [0, 1].
    """
    raise NotImplementedError('apply_rope: not written yet (replace this line with your code; hints: make hint EX=apply_rope)')
