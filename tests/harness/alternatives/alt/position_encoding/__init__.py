"""Alternative 1: everything in float32 the 'usual tutorial' way; complex-number RoPE."""
import math
import torch


def sinusoidal_encoding(seq_len, dim, base=10000.0):
    # The Annotated Transformer way: div_term via exp(-log(base) * 2i / dim), float32 throughout.
    pe = torch.zeros(seq_len, dim)
    position = torch.arange(0, seq_len).unsqueeze(1).float()
    div_term = torch.exp(torch.arange(0, dim, 2).float() * (-math.log(base) / dim))
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe


def rope_frequencies(head_dim, base=1e6):
    return 1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))


def rope_cos_sin(head_dim, max_len, base=1e6):
    inv_freq = rope_frequencies(head_dim, base)
    t = torch.arange(max_len, dtype=torch.float32)
    freqs = torch.einsum("i,j->ij", t, inv_freq)  # float32 angles, as in most Llama ports
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x, cos, sin):
    # Complex numbers on the half-split pairs: z_j = x[j] + i x[j + d/2], times e^{i angle_j}.
    half = x.shape[-1] // 2
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    xf = x.to(work)
    z = torch.complex(xf[..., :half], xf[..., half:])                   # (b, s, h, d/2)
    rot = torch.polar(torch.ones_like(cos[:, :half], dtype=work),
                      torch.atan2(sin[:, :half].to(work), cos[:, :half].to(work)))  # (s, d/2)
    z = z * rot[:, None, :]
    return torch.cat([z.real, z.imag], dim=-1).to(x.dtype)
