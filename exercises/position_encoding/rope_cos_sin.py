import torch

from .rope_frequencies import rope_frequencies


def rope_cos_sin(head_dim: int, max_len: int, base: float = 1e6) -> tuple[torch.Tensor, torch.Tensor]:
    """Cos and sin tables for RoPE, in the half-split layout.

    angle[pos, i] = pos * freq[i] for positions 0 .. max_len - 1 and the head_dim/2 frequencies.
    Each table repeats the angles twice along the last dim, [angles, angles], so column j and
    column j + head_dim/2 belong to the same rotating pair (see rotate_half).

    Args:
        head_dim: size of one head (even).  max_len: number of positions.  base: as rope_frequencies.
    Returns:
        (cos, sin), each (max_len, head_dim) float32.

    Example (head_dim=4, base=100): row 1 of cos is [cos 1, cos 0.1, cos 1, cos 0.1].
    """
    raise NotImplementedError('rope_cos_sin: not written yet (replace this line with your code; hints: make hint EX=rope_cos_sin)')
