"""Visible suite for architecture: one idea per test. Run: make test-architecture.

The block is built from your own RMSNorm (normalization), MultiHeadAttention (attention, which
uses your apply_rope) and SwiGLU (feedforward). When one of them is not written yet, or disagrees
with the reference, the failure says which earlier module to finish first. The wrong blocks these
tests reject live in kata/mistakes/architecture.py (the mutation suite)."""
import torch

from kata.compare import load_reference_weights
from kata.testing import (KataFailure, assert_close, assert_equal, catalogue, exercise, fail, learner, randn,
                          reference, suspects_from)

impl = learner("architecture")
ref = reference("architecture")
rope = reference("position_encoding")
MISTAKES = catalogue("architecture")

# Sizes that never coincide: head_dim 8, 4 query heads sharing 2 KV heads, 6 tokens, RoPE tables of
# 10 rows (the block must pass them on; attention takes the first 6).
DIM, HEADS, KV_HEADS, SEQ, BATCH, MAX_LEN = 32, 4, 2, 6, 2, 10
# A whole block in float32 chains about ten matmuls, a softmax and two norms: a correct block made of
# differently ordered parts lands within ~1.3e-6 of the reference (measured against float64 over 10
# seeds), so the tolerance is looser than for one layer; every wrong wiring is off by more than 1e-2.
BLOCK_TOL = dict(rtol=1e-4, atol=2e-5)


# ---------------------------------------------------------------- helpers

def randomize(block, seed: int, norm_weights: bool = False):
    """Linear weights of std 1/sqrt(fan_in), so both branches matter at unit scale; norm weights
    stay ones unless norm_weights (then 1 + 0.5 * noise, so each norm is told apart)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in block.named_parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen) * p.shape[-1] ** -0.5)
            elif norm_weights:
                p.copy_(1 + 0.5 * torch.randn(p.shape, generator=gen))
    return block


def blocks(*args, seed: int = 0, norm_weights: bool = False, **kw):
    """(learner's block, reference block) with the same random weights, loaded by name."""
    theirs = randomize(ref.TransformerBlock(*args, **kw), seed, norm_weights)
    mine = impl.TransformerBlock(*args, **kw)
    load_reference_weights(mine, theirs, "TransformerBlock")
    return mine, theirs


def tables(head_dim: int = DIM // HEADS, max_len: int = MAX_LEN, **kw):
    return rope.rope_cos_sin(head_dim, max_len, **kw)


def part_at_fault(mine, theirs, x, cos, sin) -> str | None:
    """Which of the learner's parts disagrees with the reference's on the input it sees in the block."""
    with torch.no_grad():
        n1 = theirs.attn_norm(x)
        a = theirs.attn(n1, cos, sin, causal=True)
        n2 = theirs.ffn_norm(x + a)
        parts = [("attn_norm", "RMSNorm", "normalization", lambda: mine.attn_norm(x), n1),
                 ("attn", "MultiHeadAttention", "attention", lambda: mine.attn(n1, cos, sin, causal=True), a),
                 ("ffn_norm", "RMSNorm", "normalization", lambda: mine.ffn_norm(x + a), n2),
                 ("ffn", "SwiGLU", "feedforward", lambda: mine.ffn(n2), theirs.ffn(n2))]
        for attr, cls, module, call, expected in parts:
            try:
                got = call()
                ok = got.shape == expected.shape and torch.allclose(got, expected, **BLOCK_TOL)
            except Exception:  # noqa: BLE001 - a part that crashes on its own input is at fault too
                ok = False
            if not ok:
                return (f"your {cls} (block.{attr}) gives a different output from the reference's on the "
                        f"same input: get `make test-{module}` passing first, then come back to the block")
    return None


def blaming_parts(check, mine, theirs, x, cos, sin, what):
    """Run check(); if it fails and one of the learner's parts is what differs, say that instead."""
    culprit = None
    try:
        check()
    except KataFailure:
        culprit = part_at_fault(mine, theirs, x, cos, sin)
        if culprit is None:
            raise
    if culprit:
        fail(f"{what} differs from the reference, and {culprit}")


def assert_block_matches(mine, theirs, x, cos, sin, config, *, what="block output", tol=None, hint=""):
    """The learner's block against the reference on x; a failure names a known wrong wiring, or the
    earlier part that is wrong. config: the constructor's (args, kwargs), to build the suspects."""
    with torch.no_grad():
        expected = theirs(x.clone(), cos, sin)
    out = mine(x.clone(), cos, sin)
    state = theirs.state_dict()

    def call(cls):
        wrong = cls(*config[0], **config[1])
        wrong.load_state_dict(state, strict=True)
        return wrong(x.clone(), cos, sin)

    blaming_parts(lambda: assert_close(out, expected, what=what, **(tol or BLOCK_TOL), hint=hint,
                                       suspects=suspects_from(MISTAKES, "TransformerBlock", call)),
                  mine, theirs, x, cos, sin, what)


# ---------------------------------------------------------------- TransformerBlock

@exercise("TransformerBlock")
def test_TransformerBlock_has_the_contract_parts_and_parameter_count():
    # TransformerBlock(64, 4, 2): norms 2 * 64, q_proj and o_proj 64 * 64 each, k_proj and v_proj
    # 64 * 32 each (2 KV heads of 16), SwiGLU 3 * 64 * 192 (swiglu_hidden_dim(64) = 192): 49280.
    mine = impl.TransformerBlock(64, 4, 2)
    theirs = ref.TransformerBlock(64, 4, 2)
    children = dict(mine.named_children())
    missing = [n for n in ("attn_norm", "attn", "ffn_norm", "ffn") if n not in children]
    if missing:
        fail(f"TransformerBlock has no submodule {', '.join(missing)} (it has {sorted(children)}): the block "
             f"needs attn_norm, attn, ffn_norm and ffn", "the names are part of the contract: state dicts are "
             "loaded by name")
    shapes = {k: tuple(v.shape) for k, v in mine.state_dict().items()}
    expected = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    if shapes != expected:
        wrong = sorted(k for k in set(shapes) | set(expected) if shapes.get(k) != expected.get(k))
        fail(f"TransformerBlock(64, 4, 2) parameters differ from the contract's at {wrong}",
             f"got {[(k, shapes.get(k)) for k in wrong]}, expected {[(k, expected.get(k)) for k in wrong]}; "
             f"pass n_kv_heads to MultiHeadAttention and hidden_dim to SwiGLU")
    assert_equal(sum(p.numel() for p in mine.parameters()), 49280, what="parameter count of TransformerBlock(64, 4, 2)")


@exercise("TransformerBlock")
def test_TransformerBlock_matches_reference_with_loaded_weights():
    mine, theirs = blocks(DIM, HEADS, KV_HEADS, seed=1)
    cos, sin = tables()
    assert_block_matches(mine, theirs, randn(BATCH, SEQ, DIM, seed=2), cos, sin, ((DIM, HEADS, KV_HEADS), {}),
                         hint="h = x + attn(attn_norm(x), cos, sin, causal=True); out = h + ffn(ffn_norm(h))")


@exercise("TransformerBlock")
def test_TransformerBlock_with_zero_output_projections_returns_its_input():
    # o_proj = 0 and down_proj = 0 silence both sublayers: only the residual stream is left, so the
    # block must give back x exactly (not norm(x), not zeros).
    block = randomize(impl.TransformerBlock(DIM, HEADS, KV_HEADS), seed=3)
    with torch.no_grad():
        block.attn.o_proj.weight.zero_()
        block.ffn.down_proj.weight.zero_()
    x = randn(BATCH, SEQ, DIM, seed=4, scale=3.0, offset=1.0)
    cos, sin = tables()
    with torch.no_grad():
        out = block(x.clone(), cos, sin)
    assert_close(out, x, rtol=0, atol=0, what="output with o_proj and down_proj zeroed", against="the input",
                 hint="Pre-LN adds each sublayer's output to the raw input: x + attn(...), then h + ffn(...); "
                      "the norms go inside the branches, never on the residual stream")


@exercise("TransformerBlock")
def test_TransformerBlock_is_causal():
    # Changing tokens 4 and 5 must leave the outputs of tokens 0..3 untouched.
    block = randomize(impl.TransformerBlock(DIM, HEADS, KV_HEADS), seed=5)
    x = randn(BATCH, SEQ, DIM, seed=6)
    changed = x.clone()
    changed[:, 4:] = randn(BATCH, 2, DIM, seed=7)
    cos, sin = tables()
    with torch.no_grad():
        a, b = block(x, cos, sin), block(changed, cos, sin)
    assert_close(b[:, :4], a[:, :4], what="outputs of tokens 0..3 after changing tokens 4 and 5", **BLOCK_TOL,
                 against="their outputs before the change",
                 hint="call attention with causal=True: no token may see the ones after it")


@exercise("TransformerBlock")
def test_TransformerBlock_output_depends_on_the_order_of_earlier_tokens():
    # Swap tokens 0 and 1: the last token still sees the same set of tokens, so only position
    # information (RoPE inside attention) can change its output. Without cos/sin it stays put.
    block = randomize(impl.TransformerBlock(DIM, HEADS, KV_HEADS), seed=8)
    x = randn(BATCH, SEQ, DIM, seed=9)
    swapped = x[:, [1, 0, 2, 3, 4, 5]]
    cos, sin = tables()
    with torch.no_grad():
        a, b = block(x, cos, sin), block(swapped, cos, sin)
    change = float((a[:, -1] - b[:, -1]).abs().max())
    if not change > 1e-3:
        fail(f"swapping tokens 0 and 1 changed the last token's output by only {change:.2g}: the block "
             f"ignores token order", "pass cos and sin on to attention: attn(attn_norm(x), cos, sin, causal=True)")


@exercise("TransformerBlock")
def test_stack_of_8_TransformerBlocks_passes_gradient_to_its_input():
    # The residual stream is a straight path from the loss back to the input; through 8 blocks the
    # gradient must reach x and equal the reference stack's (errors stay ~1e-6 of values ~3).
    pairs = [blocks(DIM, HEADS, KV_HEADS, seed=10 + i) for i in range(8)]
    cos, sin = tables()
    x = randn(BATCH, SEQ, DIM, seed=11)
    g = randn(BATCH, SEQ, DIM, seed=12)
    grads = []
    for side in (0, 1):
        xi = x.clone().requires_grad_()
        h = xi
        for pair in pairs:
            h = pair[side](h, cos, sin)
        (h * g).sum().backward()
        grads.append(xi.grad)
    if grads[0] is None:
        fail("no gradient reached the input of the stack: is the output detached from it?")
    what = "gradient w.r.t. the input of 8 stacked blocks"
    blaming_parts(lambda: assert_close(
        grads[0], grads[1], what=what, rtol=1e-4, atol=1e-4,
        hint="keep the residual path: out = h + ffn(ffn_norm(h)) with h = x + attn(attn_norm(x), ...), "
             "and no in-place += on tensors autograd needs"), *pairs[0], x, cos, sin, what)
