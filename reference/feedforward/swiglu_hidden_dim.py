def swiglu_hidden_dim(dim: int, multiple_of: int = 64) -> int:
    """Hidden width of a SwiGLU FFN: int(8 * dim / 3), rounded *up* to a multiple of multiple_of.

    SwiGLU has three matrices instead of two, so 8/3 * dim keeps its parameter count equal to
    a 4 * dim two-matrix MLP; rounding up keeps matrix shapes hardware-friendly.

    Examples: swiglu_hidden_dim(512) == 1408; swiglu_hidden_dim(4096, 256) == 11008.
    """
    hidden = int(8 * dim / 3)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)
