import torch


def sinusoidal_encoding(seq_len: int, dim: int, base: float = 10000.0) -> torch.Tensor:
    """The fixed position table of the original Transformer, added to the token embeddings.

        PE[pos, 2i]     = sin(pos / base**(2i / dim))
        PE[pos, 2i + 1] = cos(pos / base**(2i / dim))

    Even columns hold sines, odd columns the matching cosines (interleaved, not two halves).

    Args:
        seq_len: number of positions, counted from 0.
        dim: embedding size (even).
        base: wavelength scale; 10000 in the paper.
    Returns:
        (seq_len, dim) float32.

    Example (dim=4): PE[0] = [0, 1, 0, 1]; PE[1] = [sin 1, cos 1, sin 0.01, cos 0.01]
                                               = [0.8415, 0.5403, 0.0100, 0.99995].
    """
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]  # (seq_len, 1)
    two_i = torch.arange(0, dim, 2, dtype=torch.float64)  # (dim/2,)
    angles = pos / base ** (two_i / dim)  # (seq_len, dim/2)
    pe = torch.empty(seq_len, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles)
    return pe.float()
