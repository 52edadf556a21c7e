"""Hidden suite for normalization: breadth a learner cannot tune to. Run by `make grade-normalization`;
failures are reported by property name (the test's name) and one line, without expected values."""
import pytest
import torch

from kata.compare import MODULE_DEVICE_ADVICE, agrees, assert_unchanged, backward_of, on_meta
from kata.testing import (blame_parts, assert_close, catalogue, exercise, fail, learner, randn, reference,
                          suspects_from)

impl = learner("normalization")
ref = reference("normalization")
MISTAKES = catalogue("normalization")
HALF = [torch.float16, torch.bfloat16]


def check_rms(*args, **kw):
    """The learner's rms_norm against the reference; a failure names a recognised mistake."""
    expected = ref.rms_norm(*args, **kw)
    assert_close(impl.rms_norm(*args, **kw), expected,
                 suspects=suspects_from(MISTAKES, "rms_norm", lambda f: f(*args, **kw)))


def check_ln(*args, **kw):
    expected = ref.layer_norm(*args, **kw)
    assert_close(impl.layer_norm(*args, **kw), expected,
                 suspects=suspects_from(MISTAKES, "layer_norm", lambda f: f(*args, **kw)))


def rms_case(shape=(2, 3, 16), seed=0, **kw):
    return randn(*shape, seed=seed, **kw), randn(shape[-1], seed=seed + 100)


def ln_case(shape=(2, 3, 16), seed=0, **kw):
    return randn(*shape, seed=seed, **kw), randn(shape[-1], seed=seed + 100), randn(shape[-1], seed=seed + 200)


# ---------------------------------------------------------------- rms_norm

@exercise("rms_norm")
def test_rms_norm_float16_row_containing_300_does_not_overflow():
    x, w = rms_case((2, 8), seed=1)
    x[0, 3] = 300.0  # 300**2 = 90000 > 65504, the float16 maximum
    x, w = x.half(), w.half()
    check_rms(x, w)


@exercise("rms_norm")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_rms_norm_half_precision_matches_reference(dtype):
    x, w = rms_case(seed=2)
    check_rms(x.to(dtype), w.to(dtype))


@exercise("rms_norm")
def test_rms_norm_tiny_inputs_put_eps_inside_the_sqrt():
    x, w = rms_case(seed=3, scale=1e-3)
    check_rms(x, w)


@exercise("rms_norm")
def test_rms_norm_default_eps_is_the_contract_value():
    x, w = rms_case(seed=4, scale=3e-3)
    check_rms(x, w)  # no eps given: the default must be 1e-5


@exercise("rms_norm")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_rms_norm_half_input_with_float32_weight_stays_half(dtype):
    # RMSNorm's weight is a float32 parameter: the output must still come back in x's dtype.
    x, w = rms_case(seed=30)
    check_rms(x.to(dtype), w)


@exercise("rms_norm")
@pytest.mark.parametrize("dim", [1, 3, 7])
def test_rms_norm_small_and_odd_dims(dim):
    x, w = rms_case((3, 5, dim), seed=5)
    check_rms(x, w)


@exercise("rms_norm")
def test_rms_norm_extra_batch_dims():
    x, w = rms_case((2, 3, 4, 6), seed=6)
    check_rms(x, w)


@exercise("rms_norm")
def test_rms_norm_non_contiguous_input():
    x, w = rms_case((6, 4, 10), seed=7)
    xt = x.transpose(0, 1)  # (4, 6, 10), not contiguous
    check_rms(xt, w)


@exercise("rms_norm")
def test_rms_norm_keeps_float64():
    x, w = rms_case(seed=8)
    x, w = x.double(), w.double()
    assert_close(impl.rms_norm(x, w), ref.rms_norm(x, w), rtol=1e-5, atol=1e-6,
                 suspects=suspects_from(MISTAKES, "rms_norm", lambda f: f(x, w)))


@exercise("rms_norm")
def test_rms_norm_does_not_modify_its_inputs():
    x, w = rms_case(seed=9)
    x0, w0 = x.clone(), w.clone()
    impl.rms_norm(x, w)
    assert_unchanged(x, x0, "x")
    assert_unchanged(w, w0, "weight")


@exercise("rms_norm")
def test_rms_norm_gradients_match_reference():
    x, w = rms_case(seed=10)
    xa, wa = x.clone().requires_grad_(), w.clone().requires_grad_()
    xb, wb = x.clone().requires_grad_(), w.clone().requires_grad_()
    g = randn(*x.shape, seed=11)
    (impl.rms_norm(xa, wa) * g).sum().backward()
    (ref.rms_norm(xb, wb) * g).sum().backward()
    if xa.grad is None or wa.grad is None:
        fail("no gradient reached x or weight: is the output detached from them?")
    assert_close(xa.grad, xb.grad, what="gradient w.r.t. x", rtol=1e-4, atol=1e-5)
    assert_close(wa.grad, wb.grad, what="gradient w.r.t. weight", rtol=1e-4, atol=1e-5)


@exercise("rms_norm")
def test_rms_norm_creates_nothing_on_another_device():
    # On the meta device any tensor built without device=x.device raises or ends up elsewhere.
    x, w = torch.empty(2, 3, 8, device="meta"), torch.empty(8, device="meta")
    out = on_meta(lambda: impl.rms_norm(x, w), "rms_norm")
    assert_close(out, torch.empty(2, 3, 8, device="meta"))


# ---------------------------------------------------------------- RMSNorm

def check_module(mine, theirs, x):
    """The learner's RMSNorm against the reference one; a failure names a recognised wrong class."""
    def call(cls):  # both modules are fresh: so is each wrong one
        return cls(theirs.weight.shape[0], theirs.eps)(x)
    assert_close(mine(x), theirs(x), suspects=suspects_from(MISTAKES, "RMSNorm", call))


@exercise("RMSNorm")
def test_RMSNorm_uses_its_eps():
    mine, theirs = impl.RMSNorm(8, eps=0.5), ref.RMSNorm(8, eps=0.5)
    check_module(mine, theirs, randn(3, 8, seed=12))


@exercise("RMSNorm")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_RMSNorm_half_input_gives_half_output(dtype):
    mine, theirs = impl.RMSNorm(8), ref.RMSNorm(8)  # float32 weight, half input
    check_module(mine, theirs, randn(2, 3, 8, seed=13, dtype=dtype))


@exercise("RMSNorm")
def test_RMSNorm_default_eps_is_the_contract_value():
    # Small inputs (mean square about 1e-5), where eps decides the output.
    mine, theirs = impl.RMSNorm(8), ref.RMSNorm(8, eps=1e-5)
    check_module(mine, theirs, randn(3, 8, seed=29, scale=3e-3))


@exercise("RMSNorm")
def test_RMSNorm_weight_is_trained():
    norm = impl.RMSNorm(4)
    backward_of(lambda: norm(randn(2, 4, seed=14)).pow(2).sum(), "RMSNorm's output")
    w = dict(norm.named_parameters()).get("weight")
    if w is None or w.grad is None:
        fail("RMSNorm.weight received no gradient: make it an nn.Parameter used in forward")


@exercise("RMSNorm")
def test_RMSNorm_moves_to_the_meta_device():
    norm = impl.RMSNorm(8).to("meta")
    out = on_meta(lambda: norm(torch.empty(2, 8, device="meta")), "RMSNorm moved with .to('meta')",
                  MODULE_DEVICE_ADVICE)
    assert_close(out, torch.empty(2, 8, device="meta"))


# ---------------------------------------------------------------- layer_norm

@exercise("layer_norm")
def test_layer_norm_float16_row_containing_300_does_not_overflow():
    x, w, b = ln_case((2, 8), seed=15)
    x[1, 5] = 300.0
    x, w, b = x.half(), w.half(), b.half()
    check_ln(x, w, b)


@exercise("layer_norm")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_layer_norm_half_precision_matches_reference(dtype):
    x, w, b = ln_case(seed=16)
    args = [t.to(dtype) for t in (x, w, b)]
    check_ln(*args)


@exercise("layer_norm")
def test_layer_norm_large_offset():
    # +1000 on every entry: variance as E[x^2] - E[x]^2 loses every digit in float32.
    x, w, b = ln_case(seed=17, offset=1000.0)
    assert_close(impl.layer_norm(x, w, b), ref.layer_norm(x, w, b), rtol=1e-3, atol=1e-3,
                 suspects=suspects_from(MISTAKES, "layer_norm", lambda f: f(x, w, b)))


@exercise("layer_norm")
def test_layer_norm_tiny_inputs_put_eps_inside_the_sqrt():
    x, w, b = ln_case(seed=18, scale=1e-3)
    check_ln(x, w, b)


@exercise("layer_norm")
@pytest.mark.parametrize("dim", [1, 2, 5])
def test_layer_norm_small_and_odd_dims(dim):
    x, w, b = ln_case((3, 4, dim), seed=19)
    check_ln(x, w, b)


@exercise("layer_norm")
def test_layer_norm_extra_batch_dims_and_non_contiguous_input():
    x, w, b = ln_case((3, 2, 5, 7), seed=20)
    xt = x.transpose(1, 2)
    check_ln(xt, w, b)


@exercise("layer_norm")
def test_layer_norm_does_not_modify_its_inputs():
    x, w, b = ln_case(seed=21)
    saved = [t.clone() for t in (x, w, b)]
    impl.layer_norm(x, w, b)
    for name, t, t0 in zip(("x", "weight", "bias"), (x, w, b), saved):
        assert_unchanged(t, t0, name)


@exercise("layer_norm")
def test_layer_norm_gradients_match_reference():
    x, w, b = ln_case(seed=22)
    mine = [t.clone().requires_grad_() for t in (x, w, b)]
    theirs = [t.clone().requires_grad_() for t in (x, w, b)]
    g = randn(*x.shape, seed=23)
    (impl.layer_norm(*mine) * g).sum().backward()
    (ref.layer_norm(*theirs) * g).sum().backward()
    for name, a, b_ in zip(("x", "weight", "bias"), mine, theirs):
        if a.grad is None:
            fail(f"no gradient reached {name}")
        assert_close(a.grad, b_.grad, what=f"gradient w.r.t. {name}", rtol=1e-4, atol=1e-5)


@exercise("layer_norm")
def test_layer_norm_creates_nothing_on_another_device():
    x, w, b = (torch.empty(*s, device="meta") for s in ((2, 3, 8), (8,), (8,)))
    assert_close(on_meta(lambda: impl.layer_norm(x, w, b), "layer_norm"), torch.empty(2, 3, 8, device="meta"))


# ---------------------------------------------------------------- residual steps

class Recorder:
    """A sublayer that remembers what it was given and returns a fixed linear map of it."""

    def __init__(self, dim, seed):
        self.w = randn(dim, dim, seed=seed, scale=dim ** -0.5)
        self.inputs = []

    def __call__(self, t):
        self.inputs.append(t.clone())  # as given, even if the caller changes t afterwards
        return t @ self.w


def weighted_norm(dim, seed):
    """An RMSNorm with a non-unit weight, so that norm(norm(x)) is not norm(x)."""
    norm = ref.RMSNorm(dim)
    with torch.no_grad():
        norm.weight.copy_(randn(dim, seed=seed, offset=1.0))
    return norm


@exercise("pre_norm_residual")
def test_pre_norm_sublayer_sees_the_normalized_input_once():
    x, norm, f = randn(2, 3, 8, seed=24, scale=5.0), weighted_norm(8, 30), Recorder(8, 25)
    normed, expected = norm(x), x + norm(x) @ f.w
    out = impl.pre_norm_residual(x, f, norm)
    if len(f.inputs) != 1:
        fail(f"the sublayer was called {len(f.inputs)} times, expected once")
    assert_close(f.inputs[0], normed, what="the sublayer's input", against="norm(x)")
    assert_close(out, expected, what="output", against="x + sublayer(norm(x))")


@exercise("pre_norm_residual")
def test_pre_norm_does_not_modify_its_input():
    x, norm, f = randn(2, 3, 8, seed=31), ref.RMSNorm(8), Recorder(8, 32)
    x0 = x.clone()
    impl.pre_norm_residual(x, f, norm)
    assert_unchanged(x, x0, "x")


@exercise("post_norm_residual")
def test_post_norm_sublayer_sees_the_raw_input():
    x, norm, f = randn(2, 3, 8, seed=26, scale=5.0), weighted_norm(8, 33), Recorder(8, 27)
    raw, expected = x.clone(), norm(x + x @ f.w)
    out = impl.post_norm_residual(x, f, norm)
    if len(f.inputs) != 1:
        fail(f"the sublayer was called {len(f.inputs)} times, expected once")
    assert_close(f.inputs[0], raw, what="the sublayer's input", against="the raw x")
    assert_close(out, expected, what="output", against="norm(x + sublayer(x))")


@exercise("post_norm_residual")
def test_post_norm_does_not_modify_its_input():
    x, norm, f = randn(2, 3, 8, seed=34), ref.RMSNorm(8), Recorder(8, 35)
    x0 = x.clone()
    impl.post_norm_residual(x, f, norm)
    assert_unchanged(x, x0, "x")


@exercise("post_norm_residual")
def test_post_norm_with_a_zero_sublayer_is_just_the_norm():
    x, norm = randn(2, 3, 8, seed=28, offset=2.0), ref.RMSNorm(8)
    assert_close(impl.post_norm_residual(x, lambda t: torch.zeros_like(t), norm), norm(x), against="norm(x)",
                 suspects=suspects_from(MISTAKES, "post_norm_residual",
                                        lambda g: g(x, lambda t: torch.zeros_like(t), norm)))


# ---------------------------------------------------------------- your own earlier parts
# RMSNorm calls your rms_norm: when rms_norm is wrong, an RMSNorm failure names it instead.

_PROBE = randn(2, 3, 8, seed=99)
_W = randn(8, seed=98)
PARTS = {"RMSNorm": [("rms_norm", lambda: agrees(impl.rms_norm(_PROBE.clone(), _W.clone()), ref.rms_norm(_PROBE, _W)))]}
blame_parts(globals(), PARTS)
