import torch


def rope_frequencies(head_dim: int, base: float = 1e6) -> torch.Tensor:
    """One rotation frequency per pair of dimensions: base ** (-2i / head_dim), i = 0 .. head_dim/2 - 1.

    Pair 0 turns by 1 radian per position (fast: tells neighbours apart); the last pair turns
    by about 1/base per position (slow: tells far positions apart).

    Args:
        head_dim: size of one attention head (even).
        base: 1e6 by default (Llama 3 and Qwen use large bases; the RoPE paper used 10000).
    Returns:
        (head_dim // 2,) float32.

    Example (head_dim=4, base=100): [1.0, 0.1].
    """
    exponent = torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim  # 2i / head_dim
    return (base ** -exponent).float()
