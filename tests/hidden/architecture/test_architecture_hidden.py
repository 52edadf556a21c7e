"""Hidden suite for architecture: breadth a learner cannot tune to. Run by `make grade-architecture`;
failures are reported by property name (the test's name) and one line, without expected values.

The helpers (loading reference weights into the learner's block, comparing it, and naming the
earlier part that is wrong when one is) are the visible suite's, so both suites explain a failure
the same way."""
import copy

import pytest
import torch

from kata.compare import MODULE_DEVICE_ADVICE, assert_unchanged, on_meta
from kata.testing import assert_close, exercise, fail, learner, randn
from tests.visible.architecture.test_architecture import (BLOCK_TOL, assert_block_matches, blaming_parts,
                                                          blocks, tables)

impl = learner("architecture")
HALF = [torch.float16, torch.bfloat16]
# A half-precision block against the float32 reference run on the same (rounded) weights and input:
# the reference itself, computed in half, stays below a quarter of these over 40 seeds.
HALF_BLOCK_TOL = {torch.float16: dict(rtol=2e-2, atol=2e-2), torch.bfloat16: dict(rtol=1e-1, atol=1e-1)}
GRAD_TOL = dict(rtol=1e-4, atol=1e-4)


@exercise("TransformerBlock")
def test_TransformerBlock_norm_weights_that_are_not_all_ones():
    # Each norm gets its own weight: a swapped or reused norm now changes the output.
    mine, theirs = blocks(32, 4, 2, seed=1, norm_weights=True)
    cos, sin = tables(8, 9)
    assert_block_matches(mine, theirs, randn(2, 5, 32, seed=2), cos, sin, ((32, 4, 2), {}))


@exercise("TransformerBlock")
@pytest.mark.parametrize("heads", [(6, 3), (6, 1), (6, None)], ids=["gqa", "mqa", "mha"])
def test_TransformerBlock_sizes_that_do_not_coincide_on_a_non_contiguous_input(heads):
    # dim 48, head_dim 8, 5 tokens, batch 3, RoPE tables of 12 rows; the input is a transposed view.
    n_heads, n_kv = heads
    mine, theirs = blocks(48, n_heads, n_kv, seed=3, norm_weights=True)
    cos, sin = tables(8, 12)
    x = randn(5, 3, 48, seed=4).transpose(0, 1)
    assert_block_matches(mine, theirs, x, cos, sin, ((48, n_heads, n_kv), {}))


@exercise("TransformerBlock")
def test_TransformerBlock_hidden_dim_passed_explicitly():
    mine, theirs = blocks(32, 4, 2, hidden_dim=72, seed=5, norm_weights=True)
    cos, sin = tables(8, 8)
    assert_block_matches(mine, theirs, randn(2, 6, 32, seed=6), cos, sin, ((32, 4, 2), {"hidden_dim": 72}))


@exercise("TransformerBlock")
def test_TransformerBlock_passes_eps_to_both_norms():
    # eps = 0.25 against inputs of mean square ~0.25: the norms' eps now changes the output a lot.
    mine, theirs = blocks(32, 4, 2, eps=0.25, seed=7, norm_weights=True)
    cos, sin = tables(8, 8)
    assert_block_matches(mine, theirs, randn(2, 6, 32, seed=8, scale=0.5), cos, sin, ((32, 4, 2), {"eps": 0.25}))


@exercise("TransformerBlock")
def test_TransformerBlock_uses_the_rope_tables_it_is_given():
    # Tables built with base 1e4, not the default 1e6: the block must hand these to attention.
    mine, theirs = blocks(32, 4, 2, seed=9)
    cos, sin = tables(8, 8, base=1e4)
    assert_block_matches(mine, theirs, randn(2, 6, 32, seed=10), cos, sin, ((32, 4, 2), {}))


@exercise("TransformerBlock")
def test_TransformerBlock_one_token():
    mine, theirs = blocks(32, 4, 2, seed=11, norm_weights=True)
    cos, sin = tables(8, 4)
    assert_block_matches(mine, theirs, randn(1, 1, 32, seed=12), cos, sin, ((32, 4, 2), {}))


@exercise("TransformerBlock")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_TransformerBlock_half_precision_keeps_its_dtype(dtype):
    mine, theirs = blocks(32, 4, 2, seed=13, norm_weights=True)
    mine, theirs = mine.to(dtype), theirs.to(dtype)
    cos, sin = tables(8, 8)
    x = randn(2, 6, 32, seed=14).to(dtype)
    out = mine(x, cos, sin)
    with torch.no_grad():
        expected = copy.deepcopy(theirs).float()(x.float(), cos, sin).to(dtype)
    assert_close(out, expected, **HALF_BLOCK_TOL[dtype], against="the float32 reference")


@exercise("TransformerBlock")
def test_TransformerBlock_does_not_modify_its_inputs():
    mine, theirs = blocks(32, 4, 2, seed=15)
    cos, sin = tables(8, 8)
    x = randn(2, 6, 32, seed=16)
    saved = [t.clone() for t in (x, cos, sin)]
    with torch.no_grad():
        out = mine(x, cos, sin)
    for name, t, t0 in zip(("x", "cos", "sin"), (x, cos, sin), saved):
        assert_unchanged(t, t0, name)
    assert_close(out, theirs(*saved), **BLOCK_TOL)


@exercise("TransformerBlock")
def test_TransformerBlock_gradients_match_reference():
    mine, theirs = blocks(32, 4, 2, seed=17, norm_weights=True)
    cos, sin = tables(8, 8)
    x, g = randn(2, 6, 32, seed=18), randn(2, 6, 32, seed=19)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    (mine(xa, cos, sin) * g).sum().backward()
    (theirs(xb, cos, sin) * g).sum().backward()
    if xa.grad is None:
        fail("no gradient reached the block's input: is the output detached from it?")
    ref_params = dict(theirs.named_parameters())

    def check():
        assert_close(xa.grad, xb.grad, what="gradient w.r.t. the input", **GRAD_TOL)
        for name, p in mine.named_parameters():
            if p.grad is None:
                fail(f"{name} received no gradient: is it used in forward?")
            assert_close(p.grad, ref_params[name].grad, what=f"gradient w.r.t. {name}", **GRAD_TOL)

    blaming_parts(check, mine, theirs, x, cos, sin, "a gradient")


@exercise("TransformerBlock")
def test_TransformerBlock_moves_to_the_meta_device():
    block = impl.TransformerBlock(32, 4, 2).to("meta")
    cos, sin = (t.to("meta") for t in tables(8, 8))
    out = on_meta(lambda: block(torch.empty(2, 6, 32, device="meta"), cos, sin), "TransformerBlock moved with "
                  ".to('meta')", MODULE_DEVICE_ADVICE)
    assert_close(out, torch.empty(2, 6, 32, device="meta"))
