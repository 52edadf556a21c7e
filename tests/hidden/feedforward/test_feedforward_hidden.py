"""Hidden suite for feedforward: breadth a learner cannot tune to. Run by `make grade-feedforward`;
failures are reported by property name (the test's name) and one line, without expected values."""
import copy

import pytest
import torch

from kata.compare import (MODULE_DEVICE_ADVICE, agrees, assert_unchanged, load_reference_weights,
                          on_meta)
from kata.testing import (blame_parts, assert_close, assert_equal, catalogue, exercise, fail, learner, randn, reference,
                          suspects_from)

impl = learner("feedforward")
ref = reference("feedforward")
HALF = [torch.float16, torch.bfloat16]
MISTAKES = catalogue("feedforward")
CONFIGS = {}  # id(reference module) -> (name, args, kwargs) it was built with, for the suspects

# float32 layers against the reference: a correct but differently ordered computation lands within
# ~1.2e-6 at unit scale (measured), every known mistake is off by more than 1e-3.
LAYER_TOL = dict(rtol=1e-5, atol=1e-5)
# Half-precision layers against the float32 reference run on the same (rounded) weights and input:
# the reference itself, computed in half, stays below a quarter of these over 40 seeds.
HALF_LAYER_TOL = {torch.float16: dict(rtol=1e-2, atol=1e-2), torch.bfloat16: dict(rtol=6e-2, atol=6e-2)}
GRAD_TOL = dict(rtol=1e-4, atol=1e-5)


def randomize(module, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * p.shape[-1] ** -0.5)
    return module


def loaded(name, *args, seed=0, **kw):
    theirs = randomize(getattr(ref, name)(*args, **kw), seed)
    mine = getattr(impl, name)(*args, **kw)
    load_reference_weights(mine, theirs, name)
    CONFIGS[id(theirs)] = (name, args, kw)
    return mine, theirs


def layer_suspects(theirs, x):
    """Outputs of the known wrong versions of the same layer, given the same weights and input."""
    if id(theirs) not in CONFIGS:
        return {}
    name, args, kw = CONFIGS[id(theirs)]

    def call(cls):
        wrong = cls(*args, **kw).to(next(theirs.parameters()).dtype)
        wrong.load_state_dict(theirs.state_dict(), strict=True)
        return wrong(x)
    return suspects_from(MISTAKES, name, call)


def check_layer(mine, theirs, x, what="output"):
    assert_close(mine(x), theirs(x), what=what, **LAYER_TOL, suspects=layer_suspects(theirs, x))


def half_expected(theirs, x):
    """The float32 reference on the half-rounded weights and input, rounded once at the end."""
    return copy.deepcopy(theirs).float()(x.float()).to(x.dtype)


def same_grads(mine, theirs, x, seed):
    """Backpropagate the same loss through both; compare input and parameter gradients."""
    g = randn(*x.shape, seed=seed)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    (mine(xa) * g).sum().backward()
    (theirs(xb) * g).sum().backward()
    if xa.grad is None:
        fail("no gradient reached the input: is the output detached from it?")
    assert_close(xa.grad, xb.grad, what="gradient w.r.t. the input", **GRAD_TOL)
    theirs_params = dict(theirs.named_parameters())
    for name, p in mine.named_parameters():
        if p.grad is None:
            fail(f"{name} received no gradient: is it used in forward?")
        assert_close(p.grad, theirs_params[name].grad, what=f"gradient w.r.t. {name}", **GRAD_TOL)


# ---------------------------------------------------------------- silu

@exercise("silu")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_silu_half_precision_stays_half_and_finite(dtype):
    # Values up to ~20: exp(x) overflows float16 above 11, so exp(x) / (1 + exp(x)) gives NaN.
    x = randn(4, 64, seed=1, scale=6.0).to(dtype)
    truth = ref.silu(x.double()).to(dtype)
    assert_close(impl.silu(x.clone()), truth, against="x * sigmoid(x) computed in float64")


@exercise("silu")
def test_silu_keeps_float64():
    x = randn(3, 7, seed=2, scale=3.0, dtype=torch.float64)
    assert_close(impl.silu(x.clone()), ref.silu(x), suspects=suspects_from(MISTAKES, "silu", lambda f: f(x)))


@exercise("silu")
def test_silu_does_not_modify_its_input():
    x = randn(2, 3, 8, seed=3)
    x0 = x.clone()
    out = impl.silu(x)
    assert_unchanged(x, x0, "x")
    assert_close(out, ref.silu(x0))


@exercise("silu")
def test_silu_gradient_on_a_non_contiguous_input():
    base = randn(6, 4, 5, seed=4, scale=3.0)
    x = base.transpose(0, 1)  # (4, 6, 5), not contiguous
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = randn(4, 6, 5, seed=5)
    (impl.silu(xa) * g).sum().backward()
    (ref.silu(xb) * g).sum().backward()
    if xa.grad is None:
        fail("no gradient reached x: is the output detached from it?")
    assert_close(xa.grad, xb.grad, what="gradient of silu", rtol=1e-5, atol=1e-6)


@exercise("silu")
def test_silu_creates_nothing_on_another_device():
    out = on_meta(lambda: impl.silu(torch.empty(2, 3, 8, device="meta")), "silu")
    assert_close(out, torch.empty(2, 3, 8, device="meta"))


# ---------------------------------------------------------------- swiglu_hidden_dim

@exercise("swiglu_hidden_dim")
def test_swiglu_hidden_dim_returns_an_int():
    got = impl.swiglu_hidden_dim(512)
    if type(got) is not int:
        fail(f"swiglu_hidden_dim(512) returned a {type(got).__name__}, expected a Python int "
             f"(nn.Linear needs an integer width)")


@exercise("swiglu_hidden_dim")
def test_swiglu_hidden_dim_truncates_before_rounding_up():
    # int(8 * 8 / 3) = 21 is already a multiple of 7; ceil(21.33 / 7) * 7 would be 28.
    assert_equal(impl.swiglu_hidden_dim(8, 7), 21, what="swiglu_hidden_dim(8, 7)")
    assert_equal(impl.swiglu_hidden_dim(512, 1), 1365, what="swiglu_hidden_dim(512, 1)")


@exercise("swiglu_hidden_dim")
def test_swiglu_hidden_dim_many_sizes_and_multiples():
    for multiple_of in (8, 24, 64, 100, 256):
        for dim in (1, 3, 17, 96, 100, 250, 1000, 2048):
            assert_equal(impl.swiglu_hidden_dim(dim, multiple_of), ref.swiglu_hidden_dim(dim, multiple_of),
                         what=f"swiglu_hidden_dim({dim}, {multiple_of})")


# ---------------------------------------------------------------- FeedForward

@exercise("FeedForward")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_FeedForward_half_precision(dtype):
    mine, theirs = loaded("FeedForward", 24, 40, seed=6)
    mine, theirs = mine.to(dtype), theirs.to(dtype)
    x = randn(3, 5, 24, seed=7).to(dtype)
    assert_close(mine(x), half_expected(theirs, x), **HALF_LAYER_TOL[dtype], against="the float32 reference",
                 suspects=layer_suspects(theirs, x))


@exercise("FeedForward")
def test_FeedForward_non_contiguous_input_is_left_unchanged():
    mine, theirs = loaded("FeedForward", 24, 40, seed=8)
    x = randn(5, 3, 24, seed=9).transpose(0, 1)
    x0 = x.clone()
    out = mine(x)
    assert_unchanged(x, x0, "x")
    assert_close(out, theirs(x0), **LAYER_TOL)


@exercise("FeedForward")
def test_FeedForward_extra_batch_dims():
    mine, theirs = loaded("FeedForward", 12, 20, seed=10)
    x = randn(2, 3, 4, 12, seed=11)
    check_layer(mine, theirs, x)


@exercise("FeedForward")
def test_FeedForward_gradients_match_reference():
    mine, theirs = loaded("FeedForward", 16, 36, seed=12)
    same_grads(mine, theirs, randn(2, 4, 16, seed=13), seed=14)


@exercise("FeedForward")
def test_FeedForward_moves_to_the_meta_device():
    ff = impl.FeedForward(8, 20).to("meta")
    out = on_meta(lambda: ff(torch.empty(2, 3, 8, device="meta")), "FeedForward moved with .to('meta')",
                  MODULE_DEVICE_ADVICE)
    assert_close(out, torch.empty(2, 3, 8, device="meta"))
    mine, theirs = loaded("FeedForward", 8, 20, seed=15)
    x = randn(2, 3, 8, seed=16, scale=3.0)
    check_layer(mine, theirs, x)


# ---------------------------------------------------------------- SwiGLU

@exercise("SwiGLU")
def test_SwiGLU_hidden_dim_passed_explicitly():
    mine, theirs = loaded("SwiGLU", 24, hidden_dim=40, seed=17)
    x = randn(2, 5, 24, seed=18)
    check_layer(mine, theirs, x)


@exercise("SwiGLU")
def test_SwiGLU_default_width_uses_multiple_of():
    # dim 100, multiple_of 32: int(266.7) = 266 -> 288 (with 64 it would be 320).
    mine, theirs = loaded("SwiGLU", 100, multiple_of=32, seed=19)
    x = randn(2, 3, 100, seed=20)
    check_layer(mine, theirs, x)


@exercise("SwiGLU")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_SwiGLU_half_precision(dtype):
    mine, theirs = loaded("SwiGLU", 24, hidden_dim=40, seed=21)
    mine, theirs = mine.to(dtype), theirs.to(dtype)
    x = randn(3, 5, 24, seed=22).to(dtype)
    assert_close(mine(x), half_expected(theirs, x), **HALF_LAYER_TOL[dtype], against="the float32 reference",
                 suspects=layer_suspects(theirs, x))


@exercise("SwiGLU")
def test_SwiGLU_non_contiguous_input_is_left_unchanged():
    mine, theirs = loaded("SwiGLU", 24, hidden_dim=40, seed=23)
    x = randn(5, 3, 24, seed=24).transpose(0, 1)
    x0 = x.clone()
    out = mine(x)
    assert_unchanged(x, x0, "x")
    assert_close(out, theirs(x0), **LAYER_TOL)


@exercise("SwiGLU")
def test_SwiGLU_gradients_match_reference():
    mine, theirs = loaded("SwiGLU", 16, hidden_dim=36, seed=25)
    same_grads(mine, theirs, randn(2, 4, 16, seed=26), seed=27)


@exercise("SwiGLU")
def test_SwiGLU_one_token_and_extra_batch_dims():
    mine, theirs = loaded("SwiGLU", 12, hidden_dim=20, seed=28)
    for shape in ((1, 1, 12), (2, 3, 4, 12)):
        x = randn(*shape, seed=29)
        check_layer(mine, theirs, x, what=f"output for an input of shape {shape}")


@exercise("SwiGLU")
def test_SwiGLU_moves_to_the_meta_device():
    glu = impl.SwiGLU(8, hidden_dim=20).to("meta")
    out = on_meta(lambda: glu(torch.empty(2, 3, 8, device="meta")), "SwiGLU moved with .to('meta')",
                  MODULE_DEVICE_ADVICE)
    assert_close(out, torch.empty(2, 3, 8, device="meta"))
    mine, theirs = loaded("SwiGLU", 8, hidden_dim=20, seed=30)
    x = randn(2, 3, 8, seed=31, scale=3.0)
    check_layer(mine, theirs, x)


# ---------------------------------------------------------------- your own earlier parts
# SwiGLU calls your silu and swiglu_hidden_dim: when one of them is wrong, a SwiGLU failure names it.

_PROBE = randn(3, 5, seed=99, scale=3.0)
PARTS = {"SwiGLU": [("silu", lambda: agrees(impl.silu(_PROBE.clone()), ref.silu(_PROBE))),
                    ("swiglu_hidden_dim", lambda: all(impl.swiglu_hidden_dim(d, m) == ref.swiglu_hidden_dim(d, m)
                                                      for d, m in ((8, 64), (48, 16), (512, 64))))]}
blame_parts(globals(), PARTS)
