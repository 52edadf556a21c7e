import torch

from .rotate_half import rotate_half


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary position embedding: turn each pair (x[j], x[j + head_dim/2]) by its position's angle.

        x * cos + rotate_half(x) * sin

    Half-split pairing: dimension j turns together with dimension j + head_dim/2, never with
    j + 1. (Pairing neighbours (2i, 2i+1), as Meta's original Llama code does, is also a rotation
    that keeps norms and relative scores, but a different one: it disagrees with this contract.)

    Args:
        x: (batch, seq, n_heads, head_dim) queries or keys.
        cos, sin: (seq, head_dim) from rope_cos_sin, already sliced to x's positions. Row t is
            the rotation of position t; every head at that position gets the same rotation.
    Returns:
        (batch, seq, n_heads, head_dim), dtype of x. Norms are preserved, and the dot product of
        a rotated query at position m with a rotated key at n depends only on m - n.

    Example (head_dim=4, one position whose two angles are 90 and 0 degrees, so
    cos = [0, 1, 0, 1] and sin = [1, 0, 1, 0]):  x = [1, 2, 3, 4]  ->  [-3, 2, 1, 4].
    The pair (x[0], x[2]) = (1, 3) turns by 90 degrees to (-3, 1); the pair (x[1], x[3]) = (2, 4)
    does not move. Interleaved pairs would give [-2, 1, 3, 4] instead.
    """
    cos = cos[:, None, :].to(x.dtype)  # (seq, 1, head_dim): broadcast over heads
    sin = sin[:, None, :].to(x.dtype)
    return x * cos + rotate_half(x) * sin
