import math

import torch


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q @ k^T / sqrt(d)) @ v, with an optional boolean mask.

    Args:
        q: (..., Lq, d) queries.  k: (..., Lk, d) keys.  v: (..., Lk, dv) values.
        mask: bool, broadcastable to (..., Lq, Lk); True = may attend, False = blocked.
    Returns:
        (output (..., Lq, dv), weights (..., Lq, Lk)). Each row of weights sums to 1 over the
        keys, except a query with no allowed key at all: its weights and output are all zero,
        never NaN.

    Example: one query q = [1, 0], keys [1, 0] and [0, 1], d = 2: scores [0.7071, 0], weights
    softmax = [0.6698, 0.3302]; with values [10] and [20] the output is 13.302.
    """
    d = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)  # (..., Lq, Lk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    # Subtract each row's max before exp (softmax does it) so large scores cannot overflow;
    # a row that is all -inf would give NaN, so it is zeroed explicitly.
    weights = torch.softmax(scores.to(torch.promote_types(scores.dtype, torch.float32)), dim=-1).to(q.dtype)
    if mask is not None:
        weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
    return weights @ v, weights
