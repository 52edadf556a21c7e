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
        self.keys: dict[int, torch.Tensor] = {}
        self.values: dict[int, torch.Tensor] = {}

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if layer in self.keys:
            k = torch.cat([self.keys[layer], k], dim=1)  # (B, cached + new, nkv, hd)
            v = torch.cat([self.values[layer], v], dim=1)
        self.keys[layer], self.values[layer] = k, v
        return k, v

    @property
    def length(self) -> int:
        if not self.keys:
            return 0
        return self.keys[0].shape[1]  # layer 0 is updated first in every forward pass
