"""Visible suite for feedforward: one idea per test. Run: make test-feedforward.

Every test names the property it checks; the comments say which wrong implementation it rejects
(all of them live in kata/mistakes/feedforward.py, the mutation suite)."""
import torch

from kata.compare import agrees, load_reference_weights
from kata.testing import (blame_parts, assert_close, assert_equal, catalogue, exercise, fail, learner, randn, reference,
                          suspects_from)

impl = learner("feedforward")
ref = reference("feedforward")
MISTAKES = catalogue("feedforward")

# A layer with matmuls, compared with the reference in float32: a correct but differently ordered
# computation (float64 internals, x / (1 + exp(-x))) lands within ~1.2e-6 of it at unit scale
# (measured over 10 seeds), so atol is 1e-5; every known mistake is off by more than 1e-3.
LAYER_TOL = dict(rtol=1e-5, atol=1e-5)


def randomize(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Weights of std 1/sqrt(fan_in), so every path through the layer matters at unit scale."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * p.shape[-1] ** -0.5)
    return module


def loaded(name: str, *args, seed: int = 0, **kw):
    """(learner's module, reference module) with the same random weights, loaded by name."""
    theirs = randomize(getattr(ref, name)(*args, **kw), seed)
    mine = getattr(impl, name)(*args, **kw)
    load_reference_weights(mine, theirs, name)
    return mine, theirs


def load_state(module, state: dict, name: str):
    """module.load_state_dict(state, strict=True), naming the parameters that do not match."""
    have = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    want = {k: tuple(v.shape) for k, v in state.items()}
    if have != want:
        fail(f"{name}'s parameters are {have}, expected {want}: use exactly the names and sizes of the "
             f"docstring, no bias (state dicts load by name)")
    module.load_state_dict(state, strict=True)


def module_suspects(name: str, args: tuple, state: dict, x: torch.Tensor, kw: dict | None = None):
    """Outputs of the known wrong versions of `name`, built like the learner's and given `state`."""
    def call(cls):
        m = cls(*args, **(kw or {}))
        m.load_state_dict(state, strict=True)
        return m(x)
    return suspects_from(MISTAKES, name, call)


def check_parameters(module, expected: dict[str, tuple], what: str) -> None:
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    if shapes != expected:
        fail(f"{what} has parameters {shapes}, expected {expected}",
             "names are part of the contract (load_state_dict(strict=True) uses them); "
             "nn.Linear(in, out, bias=False) stores a weight of shape (out, in)")


# ---------------------------------------------------------------- silu

@exercise("silu")
def test_silu_worked_values():
    # silu(1) = 1 * sigmoid(1) = 0.7311; silu(-1) = -0.2689; large x passes through (~x),
    # very negative x gives ~0. x = 100 rejects exp(x) / (1 + exp(x)), which is inf / inf = NaN.
    x = torch.tensor([0.0, 1.0, -1.0, 20.0, -20.0, 100.0])
    assert_close(impl.silu(x.clone()), torch.tensor([0.0, 0.7311, -0.2689, 20.0, 0.0, 100.0]), rtol=0, atol=1e-4,
                 against="the worked values",
                 suspects=suspects_from(MISTAKES, "silu", lambda f: f(x.clone())),
                 hint="silu(x) = x * sigmoid(x): 1 * 0.7311 = 0.7311 and -1 * 0.2689 = -0.2689")


@exercise("silu")
def test_silu_minimum_is_about_minus_0_278_at_minus_1_278():
    # The one dip of SiLU: the minimum of x * sigmoid(x), on a grid of step 0.001.
    grid = torch.linspace(-4.0, 1.0, 5001)
    y = impl.silu(grid.clone())
    if not isinstance(y, torch.Tensor) or y.shape != grid.shape:
        fail(f"silu on a 1-D tensor of {grid.numel()} values should return one of the same shape")
    i = int(y.argmin())
    where, low = float(grid[i]), float(y[i])
    if abs(where + 1.2785) > 0.01 or abs(low + 0.2785) > 1e-3:
        fail(f"the smallest value of silu on [-4, 1] is {low:.4f} at x = {where:.3f}; "
             f"SiLU's minimum is -0.2785 at x = -1.2785",
             "a dip of -0.17 at -0.75 is GELU; no dip at all is a plain sigmoid or a missing x factor")


@exercise("silu")
def test_silu_matches_reference():
    x = randn(3, 5, 16, seed=1, scale=4.0)
    assert_close(impl.silu(x.clone()), ref.silu(x),
                 suspects=suspects_from(MISTAKES, "silu", lambda f: f(x.clone())))


# ---------------------------------------------------------------- swiglu_hidden_dim

@exercise("swiglu_hidden_dim")
def test_swiglu_hidden_dim_of_512_is_1408():
    # 8 * 512 / 3 = 1365.3 -> int 1365 -> up to the next multiple of 64: 22 * 64 = 1408.
    assert_equal(impl.swiglu_hidden_dim(512), 1408, what="swiglu_hidden_dim(512)",
                 hint="int(8 * 512 / 3) = 1365, rounded *up* to a multiple of 64 is 1408")


@exercise("swiglu_hidden_dim")
def test_swiglu_hidden_dim_known_sizes():
    cases = [((4096, 256), 11008, "Llama 7B: int(10922.7) = 10922, up to a multiple of 256"),
             ((5120, 256), 13824, "Llama 13B"),
             ((768,), 2048, "8 * 768 / 3 = 2048 is already a multiple of 64: it stays"),
             ((64,), 192, "int(170.7) = 170, up to 192")]
    for args, expected, why in cases:
        assert_equal(impl.swiglu_hidden_dim(*args), expected,
                     what=f"swiglu_hidden_dim{args if len(args) > 1 else f'({args[0]})'}", hint=why)


# ---------------------------------------------------------------- FeedForward

@exercise("FeedForward")
def test_FeedForward_has_up_proj_and_down_proj_without_bias():
    check_parameters(impl.FeedForward(6, 10), {"up_proj.weight": (10, 6), "down_proj.weight": (6, 10)},
                     "FeedForward(6, 10)")


@exercise("FeedForward")
def test_FeedForward_uses_the_exact_gelu():
    # With one hidden unit and both weights 1, the layer is GELU itself: gelu(x) = x * Phi(x),
    # Phi the normal CDF: gelu(1) = 0.841345, gelu(2) = 2 * 0.977250 = 1.954500. The tanh
    # approximation is off by 1.5e-4 at 1 and 4e-4 at 3; ReLU by 0.16 at 1.
    ff = impl.FeedForward(1, 1)
    load_state(ff, {"up_proj.weight": torch.ones(1, 1), "down_proj.weight": torch.ones(1, 1)}, "FeedForward")
    x = torch.tensor([[-3.0], [-1.0], [0.0], [1.0], [2.0], [3.0]])
    expected = torch.tensor([[-0.004050], [-0.158655], [0.0], [0.841345], [1.954500], [2.995950]])
    state = ff.state_dict()
    assert_close(ff(x), expected, rtol=0, atol=2e-6, what="FeedForward(1, 1) with unit weights",
                 against="the exact gelu values",
                 suspects=module_suspects("FeedForward", (1, 1), state, x),
                 hint="exact GELU is x * 0.5 * (1 + erf(x / sqrt(2))), not the tanh approximation")


@exercise("FeedForward")
def test_FeedForward_matches_reference_with_loaded_weights():
    mine, theirs = loaded("FeedForward", 12, 40, seed=2)
    x = randn(2, 5, 12, seed=3)
    assert_close(mine(x), theirs(x), **LAYER_TOL,
                 suspects=module_suspects("FeedForward", (12, 40), theirs.state_dict(), x))


# ---------------------------------------------------------------- SwiGLU

@exercise("SwiGLU")
def test_SwiGLU_has_three_projections_of_width_swiglu_hidden_dim():
    # dim 80: int(8 * 80 / 3) = 213 -> 256, not 4 * 80 = 320.
    check_parameters(impl.SwiGLU(80), {"gate_proj.weight": (256, 80), "up_proj.weight": (256, 80),
                                       "down_proj.weight": (80, 256)}, "SwiGLU(80)")


@exercise("SwiGLU")
def test_SwiGLU_worked_example():
    # gate_proj = 2 * identity, up_proj = down_proj = identity, x = [1, -1]:
    # silu(2 * x) * x = [silu(2) * 1, silu(-2) * -1] = [1.7616, 0.2384].
    # Swapping gate and up gives silu(x) * 2x = [1.4621, 0.5379].
    eye = torch.eye(2)
    state = {"gate_proj.weight": 2 * eye, "up_proj.weight": eye, "down_proj.weight": eye}
    glu = impl.SwiGLU(2, hidden_dim=2)
    load_state(glu, state, "SwiGLU")
    x = torch.tensor([[1.0, -1.0]])
    assert_close(glu(x), torch.tensor([[1.7616, 0.2384]]), rtol=0, atol=1e-4, against="the worked values",
                 suspects=module_suspects("SwiGLU", (2,), state, x, {"hidden_dim": 2}),
                 hint="silu goes on gate_proj(x) only, then multiplies up_proj(x) elementwise")


@exercise("SwiGLU")
def test_SwiGLU_matches_reference_with_loaded_weights():
    mine, theirs = loaded("SwiGLU", 48, seed=4)
    x = randn(2, 5, 48, seed=5)
    assert_close(mine(x), theirs(x), **LAYER_TOL,
                 suspects=module_suspects("SwiGLU", (48,), theirs.state_dict(), x))


@exercise("SwiGLU")
def test_SwiGLU_with_zero_gate_weights_outputs_zeros():
    # silu(0) = 0 closes the gate: nothing gets through, whatever up_proj says. A sigmoid gate
    # would let half through (sigmoid(0) = 0.5).
    glu = randomize(impl.SwiGLU(16, hidden_dim=24), seed=6)
    with torch.no_grad():
        glu.gate_proj.weight.zero_()
    out = glu(randn(2, 3, 16, seed=7))
    assert_close(out, torch.zeros(2, 3, 16), rtol=0, atol=1e-7, what="output with gate_proj.weight = 0",
                 against="zeros",
                 hint="the gate is silu(gate_proj(x)); silu(0) = 0, so the product and the output are 0")


@exercise("SwiGLU")
def test_SwiGLU_acts_on_each_token_independently():
    # Changing one token changes its own output only: the FFN never mixes positions (that is
    # attention's job). Rejects flattening tokens in one order and unflattening in another.
    glu = randomize(impl.SwiGLU(16, hidden_dim=24), seed=8)
    x = randn(2, 5, 16, seed=9)
    changed = x.clone()
    changed[1, 2] = randn(16, seed=10)
    with torch.no_grad():
        a, b = glu(x), glu(changed)
    keep = torch.ones(2, 5, dtype=torch.bool)
    keep[1, 2] = False
    assert_close(b[keep], a[keep], what="the output of every token that did not change", against="their outputs before",
                 hint="apply the linear layers to the last dimension only; any flatten must be undone "
                      "in the same order (or just call the layers on (batch, seq, dim) directly)")
    if torch.allclose(b[1, 2], a[1, 2]):
        fail("changing token (1, 2) did not change its own output: is the output tied to the input?")


# ---------------------------------------------------------------- your own earlier parts
# SwiGLU calls your silu and swiglu_hidden_dim: when one of them is wrong, a SwiGLU failure names it.

_PROBE = randn(3, 5, seed=99, scale=3.0)
PARTS = {"SwiGLU": [("silu", lambda: agrees(impl.silu(_PROBE.clone()), ref.silu(_PROBE))),
                    ("swiglu_hidden_dim", lambda: all(impl.swiglu_hidden_dim(d, m) == ref.swiglu_hidden_dim(d, m)
                                                      for d, m in ((8, 64), (48, 16), (512, 64))))]}
blame_parts(globals(), PARTS)
