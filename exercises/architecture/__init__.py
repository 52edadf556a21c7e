"""Architecture: the Pre-LN decoder block, assembled from the earlier modules."""
from .transformer_block import TransformerBlock

__all__ = ["TransformerBlock"]
