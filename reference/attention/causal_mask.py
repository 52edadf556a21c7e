import torch


def causal_mask(seq_len: int) -> torch.Tensor:
    """Which keys each query may attend to in a decoder: True where key j <= query i.

    Returns: bool (seq_len, seq_len); row i is the query, column j the key. The diagonal is True
    (a token sees itself); everything above it is False (no token sees the future).

    Example (seq_len=3):
        [[True, False, False],
         [True, True,  False],
         [True, True,  True ]]
    """
    return torch.ones(seq_len, seq_len, dtype=torch.bool).tril()
