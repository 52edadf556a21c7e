"""Visible suite for normalization: one idea per test. Run: make test-normalization.

Every test names the property it checks; the comments say which wrong implementation it rejects
(all of them live in kata/mistakes/normalization.py, the mutation suite)."""
import torch

from kata.compare import agrees, load_reference_weights
from kata.testing import (blame_parts, assert_close, catalogue, check_tensor, exercise, fail, learner, randn, reference,
                          suspects_from)

impl = learner("normalization")
ref = reference("normalization")
MISTAKES = catalogue("normalization")


def rms_suspects(*args, **kw):
    return suspects_from(MISTAKES, "rms_norm", lambda f: f(*args, **kw))


def ln_suspects(*args, **kw):
    return suspects_from(MISTAKES, "layer_norm", lambda f: f(*args, **kw))


# ---------------------------------------------------------------- rms_norm

@exercise("rms_norm")
def test_rms_norm_worked_example():
    # x = [3, 4]: mean square (9 + 16) / 2 = 12.5, rms = 3.5355; weight [2, 0.5] scales each entry.
    x = torch.tensor([[3.0, 4.0]])
    out = impl.rms_norm(x, torch.tensor([2.0, 0.5]), eps=0.0)
    assert_close(out, torch.tensor([[1.6971, 0.5657]]), atol=1e-4, rtol=0,
                 suspects=rms_suspects(x, torch.tensor([2.0, 0.5]), eps=0.0),
                 hint="3/3.5355*2 = 1.6971 and 4/3.5355*0.5 = 0.5657")


@exercise("rms_norm")
def test_rms_norm_eps_goes_inside_the_square_root():
    # The lesson's example: a tiny row, where eps matters. Inside: 0.001 / sqrt(5e-7 + 1e-5) = 0.3086;
    # outside, 0.001 / (sqrt(5e-7) + 1e-5) = 1.3945 (rejects eps added after the sqrt).
    x = torch.tensor([0.001, 0.0])
    out = impl.rms_norm(x, torch.ones(2))
    assert_close(out, torch.tensor([0.3086, 0.0]), atol=1e-4, rtol=0, suspects=rms_suspects(x, torch.ones(2)),
                 against="the lesson's numbers", hint="x / sqrt(mean(x**2) + eps): eps inside the square root, default eps = 1e-5")


@exercise("rms_norm")
def test_rms_norm_matches_reference():
    x, w = randn(2, 5, 16, seed=1), randn(16, seed=2)
    assert_close(impl.rms_norm(x, w), ref.rms_norm(x, w), suspects=rms_suspects(x, w),
                 hint="y = x / sqrt(mean(x**2, dim=-1, keepdim=True) + eps) * weight")


@exercise("rms_norm")
def test_rms_norm_output_has_unit_rms():
    x = randn(3, 4, 32, seed=3, scale=7.0)
    out = impl.rms_norm(x, torch.ones(32))
    check_tensor(out, like=x)
    rms = out.pow(2).mean(-1).sqrt()
    assert_close(rms, torch.ones(3, 4), what="RMS of each output row", rtol=1e-4, atol=1e-4, against="1",
                 hint="with weight = ones, every row of the output has root-mean-square 1")


@exercise("rms_norm")
def test_rms_norm_is_invariant_to_scaling_the_input():
    # rms_norm(c * x) == rms_norm(x) for c > 0: the point of normalizing. Rejects a missing sqrt.
    x, w = randn(2, 3, 8, seed=4), randn(8, seed=5)
    base = impl.rms_norm(x, w)
    for c in (3.0, 250.0):
        assert_close(impl.rms_norm(c * x, w), base, what=f"rms_norm({c} * x)", rtol=1e-4, atol=1e-5,
                     hint="scaling the input must not change the output: divide by the *root* mean square")


@exercise("rms_norm")
def test_rms_norm_does_not_subtract_the_mean():
    # A common offset survives RMSNorm (LayerNorm would remove it).
    x, w = randn(4, 8, seed=6, offset=5.0), torch.ones(8)
    assert_close(impl.rms_norm(x, w), ref.rms_norm(x, w), suspects=rms_suspects(x, w))


@exercise("rms_norm")
def test_rms_norm_normalizes_each_token_on_its_own():
    x, w = randn(2, 4, 8, seed=7), torch.ones(8)
    changed = x.clone()
    changed[1, 2] *= 10.0  # one token of one sequence
    a, b = impl.rms_norm(x, w), impl.rms_norm(changed, w)
    check_tensor(a, like=x)
    check_tensor(b, like=x)
    keep = torch.ones(2, 4, dtype=torch.bool)
    keep[1, 2] = False
    assert_close(b[keep], a[keep], what="the output of every token that did not change",
                 against="their outputs before the change", suspects=rms_suspects(changed, w),
                 hint="take the mean over the last dimension only (dim=-1): each token on its own")


# ---------------------------------------------------------------- RMSNorm

def module_suspects(theirs, x):
    """Outputs of the known wrong RMSNorm classes, built like `theirs` and given its weight."""
    def call(cls):
        wrong = cls(theirs.weight.shape[0], theirs.eps)
        with torch.no_grad():
            for p in wrong.parameters():
                p.copy_(theirs.weight)
        if not list(wrong.parameters()):
            wrong.weight = theirs.weight.detach().clone()
        return wrong(x)
    return suspects_from(MISTAKES, "RMSNorm", call)


@exercise("RMSNorm")
def test_RMSNorm_has_one_weight_parameter_of_ones():
    norm = impl.RMSNorm(6)
    params = dict(norm.named_parameters())
    if set(params) != {"weight"}:
        fail(f"RMSNorm's parameters are {sorted(params)}, expected exactly ['weight'] "
             f"(an nn.Parameter named weight)")
    assert_close(params["weight"].detach(), torch.ones(6), what="RMSNorm(6).weight at initialisation",
                 hint="initialise to ones so a fresh RMSNorm only normalizes")


@exercise("RMSNorm")
def test_RMSNorm_matches_reference_with_loaded_weights():
    mine, theirs = impl.RMSNorm(16), ref.RMSNorm(16)
    with torch.no_grad():
        theirs.weight.copy_(randn(16, seed=8))
    load_reference_weights(mine, theirs, "RMSNorm")
    x = randn(2, 3, 16, seed=9)
    assert_close(mine(x), theirs(x), suspects=module_suspects(theirs, x))


# ---------------------------------------------------------------- layer_norm

@exercise("layer_norm")
def test_layer_norm_worked_example():
    # [1, 0, 0, 0]: mean 0.25, biased variance (0.5625 + 3 * 0.0625) / 4 = 0.1875, std 0.4330.
    x = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    w, b = torch.ones(4), torch.zeros(4)
    assert_close(impl.layer_norm(x, w, b, eps=0.0), torch.tensor([[1.7321, -0.5774, -0.5774, -0.5774]]),
                 atol=1e-4, rtol=0, suspects=ln_suspects(x, w, b, eps=0.0),
                 hint="(1 - 0.25) / sqrt(0.1875) = 1.7321; divide by n, not n - 1")


@exercise("layer_norm")
def test_layer_norm_matches_reference():
    x, w, b = randn(2, 5, 12, seed=10), randn(12, seed=11), randn(12, seed=12)
    assert_close(impl.layer_norm(x, w, b), ref.layer_norm(x, w, b), suspects=ln_suspects(x, w, b),
                 hint="normalize x first, (x - mean) / sqrt(var + eps), then scale by weight and add bias")


@exercise("layer_norm")
def test_layer_norm_output_has_zero_mean_and_unit_variance():
    x = randn(3, 4, 32, seed=13, scale=3.0, offset=-2.0)
    out = impl.layer_norm(x, torch.ones(32), torch.zeros(32))
    check_tensor(out, like=x)
    assert_close(out.mean(-1), torch.zeros(3, 4), what="mean of each output row", atol=1e-5, against="0",
                 hint="subtract each row's mean (over dim=-1, keepdim=True) before dividing")
    assert_close(out.var(-1, unbiased=False), torch.ones(3, 4), what="variance of each output row",
                 rtol=1e-4, atol=1e-4, against="1", hint="divide by sqrt(var + eps) with the biased variance "
                                                          "(mean of squared deviations, divide by n)")


# ---------------------------------------------------------------- residual steps

def linear_sublayer(dim: int, seed: int):
    w = randn(dim, dim, seed=seed, scale=dim ** -0.5)
    return lambda t: t @ w


def weighted_norm(dim: int, seed: int):
    """An RMSNorm with a non-unit weight: applying it twice then gives a different result than once
    (with weight = ones, norm(norm(x)) and norm(x) agree to a few ulps)."""
    norm = ref.RMSNorm(dim)
    with torch.no_grad():
        norm.weight.copy_(randn(dim, seed=seed, offset=1.0))
    return norm


@exercise("pre_norm_residual")
def test_pre_norm_returns_its_input_when_the_sublayer_outputs_zeros():
    # The residual stream passes untouched: exactly x, not norm(x).
    x = randn(2, 3, 8, seed=14, offset=1.0)
    out = impl.pre_norm_residual(x, lambda t: torch.zeros_like(t), ref.RMSNorm(8))
    assert_close(out, x, rtol=0, atol=0, against="x itself",
                 suspects=suspects_from(MISTAKES, "pre_norm_residual",
                                        lambda g: g(x, lambda t: torch.zeros_like(t), ref.RMSNorm(8))),
                 hint="pre-norm is x + sublayer(norm(x)): add the raw x back")


@exercise("pre_norm_residual")
def test_pre_norm_residual_matches_formula():
    x, f, norm = randn(2, 3, 8, seed=15), linear_sublayer(8, 16), weighted_norm(8, 21)
    expected = x + f(norm(x))
    suspects = suspects_from(MISTAKES, "pre_norm_residual", lambda g: g(x, f, norm))
    assert_close(impl.pre_norm_residual(x, f, norm), expected, suspects=suspects,
                 hint="call norm once, on x; the sublayer gets norm(x); add the raw x back")


@exercise("post_norm_residual")
def test_post_norm_output_is_normalized():
    x, f = randn(2, 3, 8, seed=17, scale=4.0), linear_sublayer(8, 18)
    out = impl.post_norm_residual(x, f, ref.RMSNorm(8))
    check_tensor(out, like=x)
    assert_close(out.pow(2).mean(-1).sqrt(), torch.ones(2, 3), what="RMS of each output row", against="1",
                 rtol=1e-4, atol=1e-4, hint="post-norm normalizes the sum: norm(x + sublayer(x))")


@exercise("post_norm_residual")
def test_post_norm_residual_matches_formula():
    x, f, norm = randn(2, 3, 8, seed=19), linear_sublayer(8, 20), weighted_norm(8, 22)
    expected = norm(x + f(x))
    suspects = suspects_from(MISTAKES, "post_norm_residual", lambda g: g(x, f, norm))
    assert_close(impl.post_norm_residual(x, f, norm), expected, suspects=suspects,
                 hint="the sublayer gets the raw x; call norm once, on the sum x + sublayer(x)")


# ---------------------------------------------------------------- your own earlier parts
# RMSNorm calls your rms_norm: when rms_norm is wrong, an RMSNorm failure names it instead.

_PROBE = randn(2, 3, 8, seed=99)
_W = randn(8, seed=98)
PARTS = {"RMSNorm": [("rms_norm", lambda: agrees(impl.rms_norm(_PROBE.clone(), _W.clone()), ref.rms_norm(_PROBE, _W)))]}
blame_parts(globals(), PARTS)
