"""Visible suite for position_encoding: one idea per test. Run: make test-position_encoding (or test-rope).

Each exercise is tested on its own: apply_rope gets tables from the reference, and the tables'
properties are checked through the reference apply_rope, so one unfinished function does not fail
another's tests. The wrong versions each test rejects live in kata/mistakes/position_encoding.py."""
import torch

from kata.compare import agrees
from kata.testing import blame_parts, assert_close, catalogue, exercise, fail, learner, randn, reference, suspects_from

impl = learner("position_encoding")
ref = reference("position_encoding")
MISTAKES = catalogue("position_encoding")


def apply_rope(x, cos, sin):
    """The learner's apply_rope, with a plain sentence when the tables do not broadcast against x."""
    try:
        out = impl.apply_rope(x, cos, sin)
    except RuntimeError as e:
        if "must match the size" not in str(e):
            raise
        fail(f"apply_rope on x of shape {tuple(x.shape)} with tables of shape {tuple(cos.shape)} does not "
             f"broadcast ({e})",
             "x is (batch, seq, n_heads, head_dim) and cos/sin are (seq, head_dim): give the tables a heads "
             "axis, cos[:, None, :], so that row t meets position t in every head")
    if isinstance(out, torch.Tensor) and out.shape != x.shape and out.dim() == x.dim():
        fail(f"apply_rope returned shape {tuple(out.shape)} for x of shape {tuple(x.shape)}: the (seq, head_dim) "
             f"tables broadcast against the heads axis; give them a heads axis, cos[:, None, :], so that row t "
             f"meets position t in every head")
    return out


def suspects(exercise_name, *args, **kw):
    """Outputs of the known mistakes of one exercise on the same arguments (run on copies)."""
    return suspects_from(MISTAKES, exercise_name, lambda f: f(*args, **kw))


def table_tol(n_positions: int) -> dict:
    """Tables are functions of angle = pos * freq. A float32 computation of the angle (the usual
    one) rounds it by up to about one float32 ulp of the largest angle, so the absolute tolerance
    grows with the number of positions; the reference computes the angles in float64."""
    return {"rtol": 1e-5, "atol": 1e-6 + 1.2e-7 * n_positions}


def rope_inputs(batch, seq, n_heads, head_dim, seed, base=100.0):
    """x of shape (batch, seq, n_heads, head_dim) and reference tables sliced to seq positions."""
    cos, sin = ref.rope_cos_sin(head_dim, seq, base)
    return randn(batch, seq, n_heads, head_dim, seed=seed), cos, sin


def one_vector_at_every_position(v, seq):
    """(1, seq, 1, head_dim): the same vector v placed at positions 0 .. seq - 1."""
    return v.reshape(1, 1, 1, -1).repeat(1, seq, 1, 1)


# ---------------------------------------------------------------- sinusoidal_encoding

@exercise("sinusoidal_encoding")
def test_sinusoidal_worked_example():
    # dim 4: two frequencies, 1 and 1 / 10000**(2/4) = 1/100. Row p = [sin p, cos p, sin p/100, cos p/100].
    out = impl.sinusoidal_encoding(3, 4)
    expected = torch.tensor([[0.0, 1.0, 0.0, 1.0],
                             [0.8415, 0.5403, 0.0100, 0.99995],
                             [0.9093, -0.4161, 0.0200, 0.9998]])
    assert_close(out, expected, atol=1e-4, rtol=0, suspects=suspects("sinusoidal_encoding", 3, 4),
                 hint="row 1 is [sin 1, cos 1, sin 0.01, cos 0.01]: pair i turns at 1 / base**(2i/dim) "
                      "(1 and 0.01 here), its sine in column 2i and its cosine right after (interleaved)")


@exercise("sinusoidal_encoding")
def test_sinusoidal_matches_reference():
    assert_close(impl.sinusoidal_encoding(50, 16), ref.sinusoidal_encoding(50, 16), **table_tol(50),
                 suspects=suspects("sinusoidal_encoding", 50, 16))


@exercise("sinusoidal_encoding")
def test_sinusoidal_rows_are_distinct():
    # Every position must get its own code; with one frequency, far rows come back almost equal.
    pe = impl.sinusoidal_encoding(64, 16).float()
    dist = torch.cdist(pe, pe)
    dist.fill_diagonal_(float("inf"))
    closest = float(dist.min())
    if closest < 0.5:
        p, q = (int(i) for i in torch.unravel_index(dist.argmin(), dist.shape))
        fail(f"rows {p} and {q} of sinusoidal_encoding(64, 16) are nearly equal (distance {closest:.3f}): "
             f"the model could not tell those positions apart",
             "each column pair needs its own frequency 1 / base**(2i/dim), i = 0 .. dim/2 - 1; "
             "check the exponent (a float division, 2i and not i or 4i)")


@exercise("sinusoidal_encoding")
def test_sinusoidal_dot_product_depends_only_on_the_offset():
    # PE[p] . PE[p + k] = sum_i cos(k * w_i): the same for every p, because each sin/cos pair
    # shares one frequency w_i (sin a sin b + cos a cos b = cos(a - b)).
    small = impl.sinusoidal_encoding(20, 4).double()  # frequencies 1 and 0.01
    for p in (5, 10):
        assert_close(small[p] @ small[p + 3], torch.tensor(0.0096, dtype=torch.float64), rtol=0, atol=1e-4,
                     what=f"PE[{p}] . PE[{p + 3}] with dim 4",
                     hint="sin(5) sin(8) + cos(5) cos(8) = cos(3), and likewise cos(0.03) for the slow pair: "
                          "cos 3 + cos 0.03 = 0.0096")
    pe = impl.sinusoidal_encoding(40, 16).double()
    for k in (1, 3, 10):
        dots = (pe[:-k] * pe[k:]).sum(-1)  # (40 - k,): one per starting position p
        assert_close(dots, dots[:1].expand_as(dots), what=f"PE[p] . PE[p + {k}] for p = 0 .. {39 - k}",
                     rtol=0, atol=1e-4,
                     hint="column 2i + 1 must be the cosine of the same angle as the sine in column 2i "
                          "(frequency from 2i, not from the column index)")


# ---------------------------------------------------------------- rope_frequencies

@exercise("rope_frequencies")
def test_rope_frequencies_worked_examples():
    # head_dim 8, base 10000: 10000 ** (-0/8, -2/8, -4/8, -6/8) = 1, 0.1, 0.01, 0.001.
    assert_close(impl.rope_frequencies(8, base=10000.0), torch.tensor([1.0, 0.1, 0.01, 0.001]),
                 suspects=suspects("rope_frequencies", 8, base=10000.0),
                 hint="freq[i] = base ** (-2i / head_dim) for i = 0 .. head_dim/2 - 1")
    assert_close(impl.rope_frequencies(4, base=100.0), torch.tensor([1.0, 0.1]),
                 suspects=suspects("rope_frequencies", 4, base=100.0))


@exercise("rope_frequencies")
def test_rope_frequencies_default_base_is_one_million():
    # 1e6 ** (-2/4) = 0.001 (with the RoPE paper's 10000 it would be 0.01).
    assert_close(impl.rope_frequencies(4), torch.tensor([1.0, 0.001]), suspects=suspects("rope_frequencies", 4),
                 hint="the contract's default is base=1e6, as in Llama 3 and Qwen")


@exercise("rope_frequencies")
def test_rope_frequencies_matches_reference():
    for head_dim, kw in ((64, {}), (16, {"base": 500.0})):
        assert_close(impl.rope_frequencies(head_dim, **kw), ref.rope_frequencies(head_dim, **kw),
                     what=f"rope_frequencies({head_dim}{', base=500' if kw else ''})",
                     suspects=suspects("rope_frequencies", head_dim, **kw))


@exercise("rope_frequencies")
def test_rope_frequencies_start_at_1_and_fall_by_a_constant_ratio():
    # A geometric sequence: freq[i + 1] / freq[i] = base ** (-2 / head_dim) for every i.
    f = impl.rope_frequencies(32, base=10000.0).double()
    if f.shape != (16,):
        fail(f"rope_frequencies(32) has shape {tuple(f.shape)}, expected (16,): one frequency per pair")
    assert_close(f[:1], torch.ones(1, dtype=torch.float64), what="freq[0]", hint="pair 0 turns by 1 radian per position")
    ratios = f[1:] / f[:-1]
    assert_close(ratios, torch.full_like(ratios, 10000.0 ** (-2 / 32)), what="ratios freq[i+1] / freq[i]",
                 rtol=1e-5, atol=0, hint="each pair turns base**(-2/head_dim) times slower than the one before")


# ---------------------------------------------------------------- rope_cos_sin

@exercise("rope_cos_sin")
def test_rope_cos_sin_worked_example():
    # head_dim 4, base 100: frequencies [1, 0.1]; row p holds angles [p, 0.1p, p, 0.1p].
    cos, sin = impl.rope_cos_sin(4, 3, base=100.0)
    exp_cos = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.5403, 0.9950, 0.5403, 0.9950], [-0.4161, 0.9801, -0.4161, 0.9801]])
    exp_sin = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.8415, 0.0998, 0.8415, 0.0998], [0.9093, 0.1987, 0.9093, 0.1987]])
    sus = suspects("rope_cos_sin", 4, 3, base=100.0)
    assert_close(cos, exp_cos, what="cos", atol=1e-4, rtol=0, suspects={k: v[0] for k, v in sus.items()},
                 hint="row 1 of cos is [cos 1, cos 0.1, cos 1, cos 0.1]: the angles, then the same angles again")
    assert_close(sin, exp_sin, what="sin", atol=1e-4, rtol=0, suspects={k: v[1] for k, v in sus.items()})


@exercise("rope_cos_sin")
def test_rope_cos_sin_position_0_does_not_rotate():
    cos, sin = impl.rope_cos_sin(16, 10)
    assert_close(cos[0], torch.ones(16), what="cos[0]", hint="positions count from 0, and angle 0 is no rotation")
    assert_close(sin[0], torch.zeros(16), what="sin[0]")


@exercise("rope_cos_sin")
def test_rope_cos_sin_matches_reference():
    mine, theirs = impl.rope_cos_sin(16, 20), ref.rope_cos_sin(16, 20)
    sus = suspects("rope_cos_sin", 16, 20)
    for i, name in enumerate(("cos", "sin")):
        assert_close(mine[i], theirs[i], what=name, **table_tol(20), suspects={k: v[i] for k, v in sus.items()},
                     hint="angle[pos, i] = pos * freq[i] for pos = 0 .. max_len - 1, written twice "
                          "(cat([angles, angles], -1)); return float32 tables")


@exercise("rope_cos_sin")
def test_rope_cos_sin_half_split_layout():
    # Column j and column j + head_dim/2 rotate together, so they hold the same angle.
    cos, sin = impl.rope_cos_sin(16, 20, base=100.0)
    for name, t in (("cos", cos), ("sin", sin)):
        assert_close(t[:, 8:], t[:, :8], what=f"second half of {name} (columns 8..15)",
                     hint="write the angles twice, cat([angles, angles], -1), not repeat_interleave: "
                          "rotate_half pairs column j with column j + head_dim/2")


@exercise("rope_cos_sin")
def test_rope_cos_sin_tables_rotate_without_changing_norms():
    # Your tables, applied with the reference apply_rope: a rotation keeps every head vector's length.
    cos, sin = impl.rope_cos_sin(16, 12, base=100.0)
    x = randn(2, 12, 3, 16, seed=1)
    out = ref.apply_rope(x, cos, sin)
    assert_close(out.norm(dim=-1), x.norm(dim=-1), what="norms of the rotated head vectors", rtol=1e-5, atol=1e-5,
                 hint="cos and sin of one pair must hold the same angle, in columns j and j + head_dim/2")


@exercise("rope_cos_sin")
def test_rope_cos_sin_scores_change_with_distance():
    # Your tables, applied with the reference apply_rope: a fixed query against a fixed key at
    # distances 0 .. 31 must not always give the same score, or attention cannot see distance.
    cos, sin = impl.rope_cos_sin(16, 32)
    q, k = randn(16, seed=2), randn(16, seed=3)
    qs = ref.apply_rope(one_vector_at_every_position(q, 32), cos, sin)[0, :, 0]  # (32, 16)
    k0 = ref.apply_rope(one_vector_at_every_position(k, 32), cos, sin)[0, 0, 0]  # key at position 0
    scores = qs @ k0
    spread = float(scores.max() - scores.min())
    if spread < 0.1 * float(q.norm() * k.norm()):
        fail(f"the score of a fixed query/key pair barely changes over distances 0..31 "
             f"(spread {spread:.3g}): the tables do not depend on the position",
             "angle[pos, i] = pos * freq[i]: row pos of each table must use its own position")


# ---------------------------------------------------------------- rotate_half

@exercise("rotate_half")
def test_rotate_half_worked_example():
    # Halves x1 = [1, 2], x2 = [3, 4] -> cat([-x2, x1]) = [-3, -4, 1, 2].
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    sus = suspects("rotate_half", x)
    assert_close(impl.rotate_half(x), torch.tensor([-3.0, -4.0, 1.0, 2.0]), suspects=sus,
                 hint="split the last dim into halves x1, x2 and return cat([-x2, x1], dim=-1)")


@exercise("rotate_half")
def test_rotate_half_matches_reference():
    x = randn(2, 3, 4, 8, seed=4)
    expected, sus = ref.rotate_half(x), suspects("rotate_half", x)  # before the call: x stays intact for them
    assert_close(impl.rotate_half(x), expected, suspects=sus,
                 hint="split and concatenate along the last dimension (dim=-1) only")


@exercise("rotate_half")
def test_rotate_half_twice_is_a_half_turn():
    # Two quarter turns of every pair: (a, b) -> (-b, a) -> (-a, -b).
    x = randn(3, 5, 6, seed=5)
    minus_x = -x
    assert_close(impl.rotate_half(impl.rotate_half(x)), minus_x, what="rotate_half(rotate_half(x))",
                 hint="a +90 degree turn done twice is -x: one half must be negated")


# ---------------------------------------------------------------- apply_rope

@exercise("apply_rope")
def test_apply_rope_rotates_a_2d_vector_by_its_angle():
    # head_dim 2: one pair. Angle 0 at position 0, 1 radian at position 1:
    # [1, 0] -> [cos 1, sin 1] = [0.5403, 0.8415] (counter-clockwise).
    t = torch.tensor(1.0)
    cos = torch.stack([torch.ones(2), torch.cos(t).expand(2)])  # (seq 2, head_dim 2)
    sin = torch.stack([torch.zeros(2), torch.sin(t).expand(2)])
    x = torch.tensor([1.0, 0.0]).repeat(1, 2, 1, 1)  # (batch 1, seq 2, heads 1, head_dim 2)
    expected, sus = torch.tensor([[[[1.0, 0.0]], [[0.5403, 0.8415]]]]), suspects("apply_rope", x, cos, sin)
    assert_close(apply_rope(x, cos, sin), expected, atol=1e-4, rtol=0, suspects=sus,
                 hint="x * cos + rotate_half(x) * sin: [1, 0] * cos 1 + [0, 1] * sin 1")


@exercise("apply_rope")
def test_apply_rope_pairs_j_with_j_plus_half():
    # head_dim 4, angles (90 deg, 0): cos = [0, 1, 0, 1], sin = [1, 0, 1, 0].
    # The pair (x[0], x[2]) = (1, 3) turns to (-3, 1); the pair (x[1], x[3]) = (2, 4) stays.
    x = torch.tensor([[[[1.0, 2.0, 3.0, 4.0]]]])
    cos, sin = torch.tensor([[0.0, 1.0, 0.0, 1.0]]), torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    sus = suspects("apply_rope", x, cos, sin)
    assert_close(apply_rope(x, cos, sin), torch.tensor([[[[-3.0, 2.0, 1.0, 4.0]]]]), suspects=sus,
                 hint="half-split pairs: dimension j turns with j + head_dim/2. Pairing neighbours "
                      "(2i, 2i+1) would give [-2, 1, 3, 4]")


@exercise("apply_rope")
def test_apply_rope_position_0_is_the_identity():
    x, cos, sin = rope_inputs(2, 5, 3, 8, seed=6)
    x0, sus = x[:, 0].clone(), {k: v[:, 0] for k, v in suspects("apply_rope", x, cos, sin).items()}
    out = apply_rope(x, cos, sin)
    assert_close(out[:, 0], x0, what="output at position 0", suspects=sus,
                 hint="row 0 of the tables is cos = 1, sin = 0: x * 1 + rotate_half(x) * 0")


@exercise("apply_rope")
def test_apply_rope_matches_reference():
    x, cos, sin = rope_inputs(2, 6, 3, 8, seed=7)
    expected, sus = ref.apply_rope(x, cos, sin), suspects("apply_rope", x, cos, sin)
    assert_close(apply_rope(x, cos, sin), expected, suspects=sus,
                 hint="cos and sin are (seq, head_dim): give them a heads axis, cos[:, None, :], so "
                      "they broadcast against (batch, seq, n_heads, head_dim)")


@exercise("apply_rope")
def test_apply_rope_preserves_the_norm_of_every_head_vector():
    x, cos, sin = rope_inputs(2, 9, 3, 16, seed=8)
    norms = x.norm(dim=-1)
    out = apply_rope(x, cos, sin)
    assert_close(out.norm(dim=-1), norms, what="norms of the rotated head vectors", rtol=1e-5, atol=1e-5,
                 hint="a rotation never changes a length: x * cos + rotate_half(x) * sin, with "
                      "rotate_half turning each pair (j, j + head_dim/2) by 90 degrees")


@exercise("apply_rope")
def test_apply_rope_scores_depend_only_on_the_offset():
    # <rope(q, m), rope(k, n)> = <q, rotate(k, n - m)>: shift both positions by s, same score.
    seq, s = 12, 4
    cos, sin = ref.rope_cos_sin(16, seq, 100.0)
    q, k = randn(16, seed=9), randn(16, seed=10)
    qs = apply_rope(one_vector_at_every_position(q, seq), cos, sin)[0, :, 0]  # (seq, 16)
    ks = apply_rope(one_vector_at_every_position(k, seq), cos, sin)[0, :, 0]
    scores = qs @ ks.T  # scores[m, n]: query at position m, key at position n
    assert_close(scores[s:, s:], scores[:-s, :-s], what=f"scores with both positions shifted by {s}",
                 rtol=1e-4, atol=1e-4,
                 hint="rotating q by angle m*w and k by n*w leaves their dot product depending on "
                      "(m - n)*w only; this needs a true rotation of each pair")


@exercise("apply_rope")
def test_apply_rope_scores_change_with_distance():
    seq = 32
    cos, sin = ref.rope_cos_sin(16, seq)
    q, k = randn(16, seed=11), randn(16, seed=12)
    qs = apply_rope(one_vector_at_every_position(q, seq), cos, sin)[0, :, 0]
    k0 = apply_rope(k.reshape(1, 1, 1, 16), cos[:1], sin[:1])[0, 0, 0]
    scores = qs @ k0  # query at positions 0..31, key at position 0
    spread = float(scores.max() - scores.min())
    if spread < 0.1 * float(q.norm() * k.norm()):
        fail(f"a fixed query/key pair gets almost the same score at every distance (spread {spread:.3g})",
             "row t of cos/sin belongs to position t: use cos[t] for the token at position t")


# ---------------------------------------------------------------- your own earlier parts
# apply_rope calls your rotate_half and rope_cos_sin your rope_frequencies: when one of those is
# wrong, a failure of the later exercise names it instead of blaming the later one.

_PROBE = randn(2, 3, 2, 8, seed=99)
PARTS = {
    "apply_rope": [("rotate_half", lambda: agrees(impl.rotate_half(_PROBE.clone()), ref.rotate_half(_PROBE)))],
    "rope_cos_sin": [("rope_frequencies", lambda: agrees(impl.rope_frequencies(8, 100.0), ref.rope_frequencies(8, 100.0))
                      and agrees(impl.rope_frequencies(8), ref.rope_frequencies(8)))],
}
blame_parts(globals(), PARTS)
