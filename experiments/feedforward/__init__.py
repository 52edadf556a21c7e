"""Feed-forward experiments: what the FFN stores, how wide it should be, and what it is for."""
