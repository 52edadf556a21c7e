import torch

from .rope_frequencies import rope_frequencies


def rope_cos_sin(head_dim: int, max_len: int, base: float = 1e6) -> tuple[torch.Tensor, torch.Tensor]:
    """Cos and sin tables for RoPE, in the half-split layout.

    angle[pos, i] = pos * freq[i] for positions 0 .. max_len - 1 and the head_dim/2 frequencies
    of rope_frequencies(head_dim, base). Each table holds the angles twice along the last dim,
    [angles, angles] (not [a0, a0, a1, a1, ...]), so column j and column j + head_dim/2 belong to
    the same rotating pair (see rotate_half).

    Args:
        head_dim: size of one head (even).  max_len: number of positions.  base: as rope_frequencies.
    Returns:
        (cos, sin), each (max_len, head_dim) float32. Row 0 (position 0) is cos = 1, sin = 0.

    Example (head_dim=4, base=100, so the frequencies are [1, 0.1]): row 1 of cos is
    [cos 1, cos 0.1, cos 1, cos 0.1] = [0.5403, 0.9950, 0.5403, 0.9950].
    """
    raise NotImplementedError('rope_cos_sin: not written yet (replace this line with your code; hints: make hint EX=rope_cos_sin)')
