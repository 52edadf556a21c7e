import torch


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """Share each key/value head among n_rep query heads (grouped-query attention).

    Args:
        x: (batch, seq, n_kv_heads, head_dim).  n_rep: query heads per KV head.
    Returns:
        (batch, seq, n_kv_heads * n_rep, head_dim) where output head h is input head h // n_rep:
        each KV head repeated n_rep times in a row (h0, h0, h1, h1), not tiled (h0, h1, h0, h1).
    """
    raise NotImplementedError('repeat_kv: not written yet (replace this line with your code; hints: make hint EX=repeat_kv)')
