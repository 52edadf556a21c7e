"""Feed-forward: after attention has mixed tokens, transform each token on its own."""
from .feed_forward import FeedForward
from .silu import silu
from .swiglu import SwiGLU
from .swiglu_hidden_dim import swiglu_hidden_dim

__all__ = ["silu", "swiglu_hidden_dim", "FeedForward", "SwiGLU"]
