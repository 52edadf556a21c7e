"""Realistic wrong versions of the position_encoding exercises (see kata/mistakes/__init__.py).

Several are still valid rotations (norms kept, scores relative) and differ from the contract only
in the pairing, the direction or the default base; the suites must tell them apart by value."""
import torch

from reference.position_encoding import apply_rope as ref_apply_rope
from reference.position_encoding import rope_cos_sin as ref_rope_cos_sin
from reference.position_encoding import rope_frequencies as ref_rope_frequencies
from reference.position_encoding import rotate_half as ref_rotate_half
from reference.position_encoding import sinusoidal_encoding as ref_sinusoidal_encoding

from . import Catalogue

MISTAKES = Catalogue("position_encoding")
mistake = MISTAKES.add


def _sin_cos_table(angles_sin, angles_cos):
    """Interleave sin (even columns) and cos (odd columns) of two (seq, dim/2) angle tables."""
    return torch.stack([angles_sin.sin(), angles_cos.cos()], dim=-1).flatten(-2).float()


# ---------------------------------------------------------------- sinusoidal_encoding


@mistake("sinusoidal_encoding", "sin and cos written as two halves, cat([sin, cos]), instead of "
                                "interleaved columns (sin in column 2i, cos in column 2i + 1)")
def sinusoidal_halves(seq_len, dim, base=10000.0):
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    angles = pos / base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    return torch.cat([angles.sin(), angles.cos()], dim=-1).float()


@mistake("sinusoidal_encoding", "cos in the even columns and sin in the odd ones (swapped)")
def sinusoidal_cos_first(seq_len, dim, base=10000.0):
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    angles = pos / base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    return torch.stack([angles.cos(), angles.sin()], dim=-1).flatten(-2).float()


@mistake("sinusoidal_encoding", "the exponent uses the column index j instead of 2i: the cos column "
                                "gets a different frequency than its sin partner")
def sinusoidal_column_exponent(seq_len, dim, base=10000.0):
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    j = torch.arange(dim, dtype=torch.float64)
    angles = pos / base ** (j / dim)  # (seq, dim): column 2i + 1 uses (2i + 1) / dim
    pe = angles.sin()
    pe[:, 1::2] = angles[:, 1::2].cos()
    return pe.float()


@mistake("sinusoidal_encoding", "2i counted twice: arange(0, dim, 2) already steps by 2, then "
                                "multiplied by 2 again")
def sinusoidal_double_step(seq_len, dim, base=10000.0):
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    angles = pos / base ** (2 * torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    return _sin_cos_table(angles, angles)


@mistake("sinusoidal_encoding", "exponent i / dim instead of 2i / dim (i = 0 .. dim/2 - 1): the "
                                "frequencies fall too slowly")
def sinusoidal_half_exponent(seq_len, dim, base=10000.0):
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    angles = pos / base ** (torch.arange(dim // 2, dtype=torch.float64) / dim)
    return _sin_cos_table(angles, angles)


@mistake("sinusoidal_encoding", "integer division in the exponent (2 * i // dim is 0): every "
                                "frequency becomes 1 and far rows repeat")
def sinusoidal_int_div(seq_len, dim, base=10000.0):
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    angles = pos / base ** (torch.arange(0, dim, 2) // dim).double()
    return _sin_cos_table(angles, angles)


@mistake("sinusoidal_encoding", "positions counted from 1 instead of 0 (row 0 must be "
                                "[0, 1, 0, 1, ...])")
def sinusoidal_from_one(seq_len, dim, base=10000.0):
    return ref_sinusoidal_encoding(seq_len + 1, dim, base)[1:]


@mistake("sinusoidal_encoding", "the position is multiplied by base**(2i/dim) instead of divided")
def sinusoidal_multiplies(seq_len, dim, base=10000.0):
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]
    angles = pos * base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    return _sin_cos_table(angles, angles)


@mistake("sinusoidal_encoding", "the base argument is ignored (10000 always)")
def sinusoidal_ignores_base(seq_len, dim, base=10000.0):
    return ref_sinusoidal_encoding(seq_len, dim)


@mistake("sinusoidal_encoding", "the table is returned in float64 (cast it to float32)")
def sinusoidal_float64(seq_len, dim, base=10000.0):
    return ref_sinusoidal_encoding(seq_len, dim, base).double()


# ---------------------------------------------------------------- rope_frequencies


@mistake("rope_frequencies", "integer division in the exponent (2 * i // head_dim is 0): every "
                             "frequency becomes 1")
def freqs_int_div(head_dim, base=1e6):
    exponent = torch.arange(0, head_dim, 2) // head_dim
    return (base ** -exponent.double()).float()


@mistake("rope_frequencies", "the default base is 10000 (the RoPE paper's); the contract's is 1e6")
def freqs_default_10000(head_dim, base=10000.0):
    return ref_rope_frequencies(head_dim, base)


@mistake("rope_frequencies", "exponent i / head_dim instead of 2i / head_dim (frequencies fall "
                             "too slowly)")
def freqs_half_exponent(head_dim, base=1e6):
    i = torch.arange(head_dim // 2, dtype=torch.float64)
    return (base ** (-i / head_dim)).float()


@mistake("rope_frequencies", "base ** (+2i / head_dim): a wavelength-like growth instead of a "
                             "falling frequency (the minus sign is missing)")
def freqs_positive_exponent(head_dim, base=1e6):
    exponent = torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim
    return (base ** exponent).float()


@mistake("rope_frequencies", "the exponent spans linspace(0, 1, head_dim/2): the last frequency "
                             "is exactly 1/base instead of base**(-(head_dim-2)/head_dim)")
def freqs_linspace(head_dim, base=1e6):
    return (base ** -torch.linspace(0, 1, head_dim // 2, dtype=torch.float64)).float()


@mistake("rope_frequencies", "the frequencies are in reverse order: freq[0] must be 1 (the fastest "
                             "pair first), then falling")
def freqs_reversed(head_dim, base=1e6):
    return ref_rope_frequencies(head_dim, base).flip(0)


@mistake("rope_frequencies", "the frequencies are returned in float64 (cast them to float32)")
def freqs_float64(head_dim, base=1e6):
    return ref_rope_frequencies(head_dim, base).double()


# ---------------------------------------------------------------- rope_cos_sin


@mistake("rope_cos_sin", "tables written interleaved, [a0, a0, a1, a1, ...] (repeat_interleave), "
                         "while the rotation pairs j with j + head_dim/2")
def tables_interleaved(head_dim, max_len, base=1e6):
    angles = torch.outer(torch.arange(max_len, dtype=torch.float64),
                         ref_rope_frequencies(head_dim, base).double())
    angles = angles.repeat_interleave(2, dim=-1)
    return angles.cos().float(), angles.sin().float()


@mistake("rope_cos_sin", "the default base is 10000 (the RoPE paper's); the contract's is 1e6")
def tables_default_10000(head_dim, max_len, base=10000.0):
    return ref_rope_cos_sin(head_dim, max_len, base)


@mistake("rope_cos_sin", "the base argument is not passed on to rope_frequencies")
def tables_ignore_base(head_dim, max_len, base=1e6):
    return ref_rope_cos_sin(head_dim, max_len)


@mistake("rope_cos_sin", "positions counted from 1: position 0 must not rotate (cos 1, sin 0)")
def tables_from_one(head_dim, max_len, base=1e6):
    cos, sin = ref_rope_cos_sin(head_dim, max_len + 1, base)
    return cos[1:], sin[1:]


@mistake("rope_cos_sin", "returns (sin, cos) instead of (cos, sin)")
def tables_swapped(head_dim, max_len, base=1e6):
    cos, sin = ref_rope_cos_sin(head_dim, max_len, base)
    return sin, cos


@mistake("rope_cos_sin", "the angle divides by the frequency (pos / freq) instead of multiplying")
def tables_divide(head_dim, max_len, base=1e6):
    angles = torch.outer(torch.arange(max_len, dtype=torch.float64),
                         1.0 / ref_rope_frequencies(head_dim, base).double())
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos().float(), angles.sin().float()


@mistake("rope_cos_sin", "the position is left out: every row gets the angles of position 1")
def tables_no_position(head_dim, max_len, base=1e6):
    angles = ref_rope_frequencies(head_dim, base).double().expand(max_len, -1)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos().float(), angles.sin().float()


@mistake("rope_cos_sin", "positions from linspace(0, max_len, max_len): off by a little more at "
                         "every step (they must be exactly 0, 1, 2, ...)")
def tables_linspace(head_dim, max_len, base=1e6):
    pos = torch.linspace(0, max_len, max_len, dtype=torch.float64)
    angles = torch.outer(pos, ref_rope_frequencies(head_dim, base).double())
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos().float(), angles.sin().float()


@mistake("rope_cos_sin", "angles computed in bfloat16 (as when the table follows a bf16 model's "
                         "dtype): positions above 256 are rounded")
def tables_bf16_angles(head_dim, max_len, base=1e6):
    pos = torch.arange(max_len, dtype=torch.bfloat16)
    angles = torch.outer(pos, ref_rope_frequencies(head_dim, base).to(torch.bfloat16)).float()
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


@mistake("rope_cos_sin", "the tables are rounded through bfloat16 (cached in the model's dtype): "
                         "cos and sin lose all but 3 digits; keep them float32")
def tables_stored_bf16(head_dim, max_len, base=1e6):
    cos, sin = ref_rope_cos_sin(head_dim, max_len, base)
    return cos.bfloat16().float(), sin.bfloat16().float()


@mistake("rope_cos_sin", "each table is only head_dim/2 wide (the angles are not written twice)")
def tables_half_width(head_dim, max_len, base=1e6):
    angles = torch.outer(torch.arange(max_len, dtype=torch.float64),
                         ref_rope_frequencies(head_dim, base).double())
    return angles.cos().float(), angles.sin().float()


@mistake("rope_cos_sin", "the tables are returned in float64 (cast them to float32)")
def tables_float64(head_dim, max_len, base=1e6):
    cos, sin = ref_rope_cos_sin(head_dim, max_len, base)
    return cos.double(), sin.double()


# ---------------------------------------------------------------- rotate_half


@mistake("rotate_half", "signs swapped, cat([x2, -x1]): a turn by -90 degrees, so RoPE rotates "
                        "by -angle")
def rotate_half_wrong_sign(x):
    half = x.shape[-1] // 2
    return torch.cat([x[..., half:], -x[..., :half]], dim=-1)


@mistake("rotate_half", "interleaved pairs (2i, 2i + 1) instead of the half-split pairs "
                        "(j, j + d/2)")
def rotate_half_interleaved(x):
    x_even, x_odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([-x_odd, x_even], dim=-1).flatten(-2)


@mistake("rotate_half", "the halves are swapped but not negated, cat([x2, x1])")
def rotate_half_no_negation(x):
    half = x.shape[-1] // 2
    return torch.cat([x[..., half:], x[..., :half]], dim=-1)


@mistake("rotate_half", "split and concatenated along the first dimension (chunk(2) / cat "
                        "without dim=-1)")
def rotate_half_dim0(x):
    x1, x2 = x.chunk(2)
    return torch.cat([-x2, x1])


@mistake("rotate_half", "the input is changed in place (the second half is negated with neg_())")
def rotate_half_in_place(x):
    half = x.shape[-1] // 2
    x2 = x[..., half:]
    x2.neg_()
    return torch.cat([x2, x[..., :half]], dim=-1)


@mistake("rotate_half", "the result is built with torch.empty(x.shape) on the default device")
def rotate_half_wrong_device(x):
    half = x.shape[-1] // 2
    out = torch.empty(x.shape, dtype=x.dtype)
    out[..., :half] = -x[..., half:]
    out[..., half:] = x[..., :half]
    return out


# ---------------------------------------------------------------- apply_rope


@mistake("apply_rope", "complex numbers on neighbouring pairs (2i, 2i + 1), as in Meta's original "
                       "Llama code: a valid rotation, but not the half-split pairing of the contract")
def apply_rope_complex_interleaved(x, cos, sin):
    half = x.shape[-1] // 2
    z = torch.view_as_complex(x.float().reshape(*x.shape[:-1], half, 2).contiguous())
    rot = torch.complex(cos[:, :half].float(), sin[:, :half].float())[:, None, :]  # (seq, 1, d/2)
    return torch.view_as_real(z * rot).flatten(-2).to(x.dtype)


@mistake("apply_rope", "rotates by -angle: x * cos - rotate_half(x) * sin")
def apply_rope_minus(x, cos, sin):
    return ref_apply_rope(x, cos, -sin)


@mistake("apply_rope", "cos and sin swapped: x * sin + rotate_half(x) * cos")
def apply_rope_swapped(x, cos, sin):
    return ref_apply_rope(x, sin, cos)


@mistake("apply_rope", "cos/sin broadcast against the heads axis instead of the sequence axis "
                       "(x * cos without cos[:, None, :])")
def apply_rope_no_head_axis(x, cos, sin):
    return x * cos.to(x.dtype) + ref_rotate_half(x) * sin.to(x.dtype)


@mistake("apply_rope", "the float32 tables are not cast to x's dtype: half-precision input comes "
                       "back as float32")
def apply_rope_promotes(x, cos, sin):
    return x * cos[:, None, :] + ref_rotate_half(x) * sin[:, None, :]


@mistake("apply_rope", "x is cast to the tables' float32 and never cast back (float64 input "
                       "comes back as float32)")
def apply_rope_to_float32(x, cos, sin):
    xf = x.float()
    return xf * cos[:, None, :].float() + ref_rotate_half(xf) * sin[:, None, :].float()


@mistake("apply_rope", "x is changed in place (x *= cos)")
def apply_rope_in_place(x, cos, sin):
    rotated = ref_rotate_half(x) * sin[:, None, :].to(x.dtype)
    x *= cos[:, None, :].to(x.dtype)
    return x + rotated


@mistake("apply_rope", "the cos term is dropped: x + rotate_half(x) * sin (small-angle thinking)")
def apply_rope_no_cos(x, cos, sin):
    return x + ref_rotate_half(x) * sin[:, None, :].to(x.dtype)


@mistake("apply_rope", "every position gets the rotation of the first row (cos[0], sin[0])")
def apply_rope_first_row(x, cos, sin):
    return ref_apply_rope(x, cos[:1].expand_as(cos), sin[:1].expand_as(sin))


@mistake("apply_rope", "the output is allocated with torch.empty(x.shape) on the default device")
def apply_rope_wrong_device(x, cos, sin):
    out = torch.empty(x.shape, dtype=x.dtype)
    out[...] = ref_apply_rope(x, cos, sin)
    return out


@mistake("apply_rope", "computed under torch.no_grad() (copied from table-building code): no gradient reaches "
                       "the queries and keys")
def apply_rope_no_grad(x, cos, sin):
    with torch.no_grad():
        return ref_apply_rope(x, cos, sin)

