"""Position encoding: attention sees a set of tokens; these give it their order."""
from .apply_rope import apply_rope
from .rope_cos_sin import rope_cos_sin
from .rope_frequencies import rope_frequencies
from .rotate_half import rotate_half
from .sinusoidal_encoding import sinusoidal_encoding

__all__ = ["sinusoidal_encoding", "rope_frequencies", "rope_cos_sin", "rotate_half", "apply_rope"]
