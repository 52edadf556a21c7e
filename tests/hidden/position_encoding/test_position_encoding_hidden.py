"""Hidden suite for position_encoding: breadth a learner cannot tune to. Run by `make grade-position_encoding`;
failures are reported by property name (the test's name) and one line, without expected values.

Sizes never coincide (seq_len differs from n_heads and from head_dim), head_dim is at least 8 so
that frequency pairs >= 1 exist, and bases other than the defaults are used at positions >= 1."""
import pytest
import torch

from kata.compare import agrees, assert_unchanged, on_meta
from kata.testing import (blame_parts, assert_close, assert_equal, catalogue, exercise, fail, learner, randn, reference,
                          suspects_from, tolerance)

impl = learner("position_encoding")
ref = reference("position_encoding")
MISTAKES = catalogue("position_encoding")
HALF = [torch.float16, torch.bfloat16]


def apply_rope(x, cos, sin):
    """The learner's apply_rope, with a plain sentence when the tables do not broadcast against x."""
    try:
        return impl.apply_rope(x, cos, sin)
    except RuntimeError as e:
        if "must match the size" not in str(e):
            raise
        fail(f"apply_rope on x of shape {tuple(x.shape)} with tables of shape {tuple(cos.shape)} does not "
             f"broadcast: x is (batch, seq, n_heads, head_dim) and cos/sin are (seq, head_dim); give the "
             f"tables a heads axis, cos[:, None, :], so that row t meets position t in every head", str(e))


def table_tol(n_positions: int) -> dict:
    """As in the visible suite: one float32 rounding of the largest angle pos * freq."""
    return {"rtol": 1e-5, "atol": 1e-6 + 1.2e-7 * n_positions}


def assert_tables(mine, theirs, n_positions, what="", suspects=None):
    if not isinstance(mine, tuple) or len(mine) != 2:
        fail(f"rope_cos_sin{what} should return a tuple (cos, sin), got {type(mine).__name__}")
    for i, name in enumerate(("cos", "sin")):
        assert_close(mine[i], theirs[i], what=f"{name}{what}", **table_tol(n_positions),
                     suspects={k: v[i] for k, v in (suspects or {}).items()})


def suspects(exercise_name, *args, **kw):
    return suspects_from(MISTAKES, exercise_name, lambda f: f(*args, **kw))


def table_suspects(*args, **kw):
    return suspects_from(MISTAKES, "rope_cos_sin", lambda f: f(*args, **kw))


def rope_suspects(x, cos, sin):
    return suspects_from(MISTAKES, "apply_rope", lambda f: f(x, cos, sin))


def check_rotate_half(x):
    expected = ref.rotate_half(x)  # before the learner's call, which must not (but might) change x
    assert_close(impl.rotate_half(x), expected, suspects=suspects("rotate_half", x))


def check_rope(x, cos, sin, **kw):
    expected, sus = ref.apply_rope(x, cos, sin), rope_suspects(x, cos, sin)  # before the learner's call
    assert_close(apply_rope(x, cos, sin), expected, suspects=sus, **kw)


def tables(head_dim, seq, base=10000.0, start=0):
    cos, sin = ref.rope_cos_sin(head_dim, start + seq, base)
    return cos[start:], sin[start:]


# ---------------------------------------------------------------- sinusoidal_encoding

@exercise("sinusoidal_encoding")
def test_sinusoidal_sizes_that_do_not_coincide():
    assert_close(impl.sinusoidal_encoding(7, 10), ref.sinusoidal_encoding(7, 10), **table_tol(7), suspects=suspects("sinusoidal_encoding", 7, 10))


@exercise("sinusoidal_encoding")
def test_sinusoidal_uses_its_base_argument():
    assert_close(impl.sinusoidal_encoding(12, 8, base=100.0), ref.sinusoidal_encoding(12, 8, base=100.0),
                 **table_tol(12), suspects=suspects("sinusoidal_encoding", 12, 8, base=100.0))


@exercise("sinusoidal_encoding")
def test_sinusoidal_long_positions_in_float32():
    assert_close(impl.sinusoidal_encoding(4096, 16), ref.sinusoidal_encoding(4096, 16), **table_tol(4096), suspects=suspects("sinusoidal_encoding", 4096, 16))


@exercise("sinusoidal_encoding")
def test_sinusoidal_single_position_is_sin_0_cos_0():
    assert_close(impl.sinusoidal_encoding(1, 6), torch.tensor([[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]]),
                 against="[sin 0, cos 0, ...]", suspects=suspects("sinusoidal_encoding", 1, 6))


@exercise("sinusoidal_encoding")
def test_sinusoidal_dim_2_is_sin_and_cos_of_the_position():
    assert_close(impl.sinusoidal_encoding(5, 2), ref.sinusoidal_encoding(5, 2), **table_tol(5), suspects=suspects("sinusoidal_encoding", 5, 2))


# ---------------------------------------------------------------- rope_frequencies

@exercise("rope_frequencies")
@pytest.mark.parametrize("base", [10000.0, 500.0, 1e5])
def test_rope_frequencies_non_default_bases(base):
    assert_close(impl.rope_frequencies(16, base=base), ref.rope_frequencies(16, base=base),
                 suspects=suspects("rope_frequencies", 16, base=base))


@exercise("rope_frequencies")
def test_rope_frequencies_odd_number_of_pairs():
    assert_close(impl.rope_frequencies(6, base=10000.0), ref.rope_frequencies(6, base=10000.0),
                 suspects=suspects("rope_frequencies", 6, base=10000.0))


@exercise("rope_frequencies")
def test_rope_frequencies_head_dim_2_is_a_single_frequency_of_1():
    assert_close(impl.rope_frequencies(2), torch.ones(1), against="[1]", suspects=suspects("rope_frequencies", 2))


@exercise("rope_frequencies")
def test_rope_frequencies_large_head_dim_with_default_base():
    assert_close(impl.rope_frequencies(256), ref.rope_frequencies(256, base=1e6),
                 suspects=suspects("rope_frequencies", 256))


# ---------------------------------------------------------------- rope_cos_sin

@exercise("rope_cos_sin")
def test_rope_cos_sin_max_len_differs_from_head_dim():
    assert_tables(impl.rope_cos_sin(8, 13), ref.rope_cos_sin(8, 13), 13, suspects=table_suspects(8, 13))


@exercise("rope_cos_sin")
@pytest.mark.parametrize("head_dim, max_len, base", [(16, 10, 10000.0), (12, 7, 500.0)])
def test_rope_cos_sin_non_default_bases(head_dim, max_len, base):
    assert_tables(impl.rope_cos_sin(head_dim, max_len, base=base), ref.rope_cos_sin(head_dim, max_len, base=base),
                  max_len, suspects=table_suspects(head_dim, max_len, base=base))


@exercise("rope_cos_sin")
def test_rope_cos_sin_default_base_is_one_million():
    assert_tables(impl.rope_cos_sin(8, 5), ref.rope_cos_sin(8, 5, base=1e6), 5, suspects=table_suspects(8, 5))


@exercise("rope_cos_sin")
def test_rope_cos_sin_long_positions_in_float32():
    assert_tables(impl.rope_cos_sin(16, 4096), ref.rope_cos_sin(16, 4096), 4096,
                  suspects=table_suspects(16, 4096))


@exercise("rope_cos_sin")
def test_rope_cos_sin_single_position_is_no_rotation():
    cos, sin = impl.rope_cos_sin(16, 1)
    assert_close(cos, torch.ones(1, 16), what="cos")
    assert_close(sin, torch.zeros(1, 16), what="sin")


@exercise("rope_cos_sin")
def test_rope_cos_sin_longer_table_starts_with_the_shorter_one():
    # Row t is position t whatever max_len is: a decoder builds one long table and slices it.
    short, long = impl.rope_cos_sin(16, 10, base=100.0), impl.rope_cos_sin(16, 50, base=100.0)
    for i, name in enumerate(("cos", "sin")):
        assert_close(long[i][:10], short[i], what=f"first 10 rows of {name} (max_len 50 vs 10)", **table_tol(50))


@exercise("rope_cos_sin")
def test_rope_cos_sin_head_dim_2():
    assert_tables(impl.rope_cos_sin(2, 6), ref.rope_cos_sin(2, 6), 6)


# ---------------------------------------------------------------- rotate_half

@exercise("rotate_half")
def test_rotate_half_non_contiguous_input():
    x = randn(2, 3, 8, 6, seed=1).transpose(-1, -2)  # (2, 3, 6, 8), last dim not contiguous
    check_rotate_half(x)


@exercise("rotate_half")
@pytest.mark.parametrize("shape", [(6,), (2, 1, 3, 2, 4)], ids=str)
def test_rotate_half_any_number_of_leading_dims(shape):
    x = randn(*shape, seed=2)
    check_rotate_half(x)


@exercise("rotate_half")
def test_rotate_half_head_dim_2():
    x = randn(4, 3, 2, seed=3)
    check_rotate_half(x)


@exercise("rotate_half")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_rotate_half_half_precision_is_exact(dtype):
    x = randn(2, 5, 3, 8, seed=4, dtype=dtype)
    expected = ref.rotate_half(x)
    assert_equal(impl.rotate_half(x), expected, hint="negating and moving values is exact in any dtype")


@exercise("rotate_half")
def test_rotate_half_does_not_modify_its_input():
    x = randn(2, 5, 3, 8, seed=5)
    x0 = x.clone()
    impl.rotate_half(x)
    assert_unchanged(x, x0, "x")


@exercise("rotate_half")
def test_rotate_half_gradients_match_reference():
    x = randn(2, 5, 3, 8, seed=6)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = randn(2, 5, 3, 8, seed=7)
    out = impl.rotate_half(a)
    if not out.requires_grad:
        fail("the output does not require grad although x does: is it detached from x?")
    (out * g).sum().backward()
    (ref.rotate_half(b) * g).sum().backward()
    assert_close(a.grad, b.grad, what="gradient w.r.t. x")


@exercise("rotate_half")
def test_rotate_half_creates_nothing_on_another_device():
    x = torch.empty(2, 5, 3, 8, device="meta")
    assert_close(on_meta(lambda: impl.rotate_half(x), "rotate_half"), torch.empty(2, 5, 3, 8, device="meta"))


# ---------------------------------------------------------------- apply_rope

@exercise("apply_rope")
def test_apply_rope_seq_heads_and_head_dim_all_different():
    x = randn(2, 7, 3, 16, seed=8)
    cos, sin = tables(16, 7)
    check_rope(x, cos, sin)


@exercise("apply_rope")
def test_apply_rope_many_heads_few_positions():
    x = randn(1, 2, 6, 8, seed=9)
    cos, sin = tables(8, 2, base=50.0, start=3)
    check_rope(x, cos, sin)


@exercise("apply_rope")
def test_apply_rope_single_position_with_sliced_tables():
    # One decoding step: the token at position 37, tables sliced to that one row.
    x = randn(2, 1, 4, 8, seed=10)
    cos, sin = tables(8, 1, start=37)
    check_rope(x, cos, sin)


@exercise("apply_rope")
def test_apply_rope_long_positions_in_float32():
    x = randn(1, 12, 2, 16, seed=11)
    cos, sin = tables(16, 12, base=1e6, start=4000)
    check_rope(x, cos, sin)


@exercise("apply_rope")
def test_apply_rope_scores_stay_relative_thousands_of_positions_away():
    # Query/key scores at positions (4000 + m, 4000 + n) equal those at (m, n).
    seq, d = 10, 16
    cos, sin = ref.rope_cos_sin(d, 4000 + seq, base=10000.0)
    q, k = randn(1, seq, 1, d, seed=12), randn(1, seq, 1, d, seed=13)

    def scores(start):
        c, s = cos[start:start + seq], sin[start:start + seq]
        return apply_rope(q.clone(), c, s)[0, :, 0] @ apply_rope(k.clone(), c, s)[0, :, 0].T

    assert_close(scores(4000), scores(0), what="scores at positions 4000.. vs 0..", rtol=1e-4, atol=1e-4)


@exercise("apply_rope")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_apply_rope_half_precision_input_keeps_its_dtype(dtype):
    x = randn(2, 5, 3, 8, seed=14, dtype=dtype)
    cos, sin = tables(8, 5)  # float32 tables, as rope_cos_sin returns them
    # Two roundings of the tables and the products: twice the usual half-precision tolerance.
    rtol, atol = tolerance(dtype, scale=2.0)
    check_rope(x, cos, sin, rtol=rtol, atol=atol)


@exercise("apply_rope")
def test_apply_rope_keeps_float64():
    x = randn(2, 5, 3, 8, seed=15, dtype=torch.float64)
    cos, sin = tables(8, 5)
    check_rope(x, cos, sin, rtol=1e-5, atol=1e-6)


@exercise("apply_rope")
def test_apply_rope_non_contiguous_input():
    # Heads-first (batch, n_heads, seq, head_dim) memory seen as (batch, seq, n_heads, head_dim).
    x = randn(2, 3, 7, 8, seed=16).transpose(1, 2)
    cos, sin = tables(8, 7)
    check_rope(x, cos, sin)


@exercise("apply_rope")
def test_apply_rope_does_not_modify_its_inputs():
    x = randn(2, 5, 3, 8, seed=17)
    cos, sin = tables(8, 5)
    saved = [t.clone() for t in (x, cos, sin)]
    apply_rope(x, cos, sin)
    for name, t, t0 in zip(("x", "cos", "sin"), (x, cos, sin), saved):
        assert_unchanged(t, t0, name)


@exercise("apply_rope")
def test_apply_rope_creates_nothing_on_another_device():
    x = torch.empty(2, 5, 3, 8, device="meta")
    cos, sin = torch.empty(5, 8, device="meta"), torch.empty(5, 8, device="meta")
    assert_close(on_meta(lambda: apply_rope(x, cos, sin), "apply_rope"), torch.empty(2, 5, 3, 8, device="meta"))


@exercise("apply_rope")
def test_apply_rope_gradients_match_reference():
    x = randn(2, 5, 3, 8, seed=18)
    cos, sin = tables(8, 5)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = randn(2, 5, 3, 8, seed=19)
    out = apply_rope(a, cos, sin)
    if not out.requires_grad:
        fail("the output does not require grad although x does: queries and keys must stay trainable "
             "through RoPE (no torch.no_grad() or .detach() inside apply_rope)")
    (out * g).sum().backward()
    (ref.apply_rope(b, cos, sin) * g).sum().backward()
    assert_close(a.grad, b.grad, what="gradient w.r.t. x", rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- your own earlier parts
# apply_rope calls your rotate_half and rope_cos_sin your rope_frequencies: when one of those is
# wrong, a failure of the later exercise names it instead.

_PROBE = randn(2, 3, 2, 8, seed=99)
PARTS = {
    "apply_rope": [("rotate_half", lambda: agrees(impl.rotate_half(_PROBE.clone()), ref.rotate_half(_PROBE)))],
    "rope_cos_sin": [("rope_frequencies", lambda: agrees(impl.rope_frequencies(8, 100.0), ref.rope_frequencies(8, 100.0))
                      and agrees(impl.rope_frequencies(8), ref.rope_frequencies(8)))],
}
blame_parts(globals(), PARTS)
