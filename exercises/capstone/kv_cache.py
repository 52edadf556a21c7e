import torch


class KVCache:
    """The keys and values every layer has already computed, so generation never recomputes them.

    One entry per layer. Keys and values are stored exactly as k_proj / v_proj produce them, after
    RoPE and BEFORE repeat_kv: (batch, seq, n_kv_heads, head_dim). Storing the repeated heads would
    throw away the memory that grouped-query attention saves.

    update(layer, k, v) -> (k_all, v_all):
        k, v: (batch, new, n_kv_heads, head_dim), the new positions of this layer.
        Appends them after what the layer already holds, along the seq dim (dim 1), and returns
        everything cached for the layer: (batch, cached + new, n_kv_heads, head_dim) each.
        The first update of a layer simply stores k and v.

    length (property): how many positions are cached (0 when empty). A model reads it once, before
        its forward pass starts updating the layers: it is the position of the first new token.

    Example: update(0, k, v) with k of shape (2, 5, 1, 4), then update(0, k1, v1) with k1 of shape
    (2, 1, 1, 4) returns keys of shape (2, 6, 1, 4), whose last row is k1; length is then 6.
    """

    def __init__(self):
        super().__init__()
        raise NotImplementedError('KVCache: not written yet (replace this line with your code; hints: make hint EX=KVCache)')

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError('KVCache (update): not written yet (replace this line with your code; hints: make hint EX=KVCache)')

    @property
    def length(self) -> int:
        raise NotImplementedError('KVCache (length): not written yet (replace this line with your code; hints: make hint EX=KVCache)')
