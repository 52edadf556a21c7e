"""Visible suite for attention: one idea per test. Run: make test-attention.

Every test names the property it checks; the wrong implementations they reject live in
kata/mistakes/attention.py (the mutation suite). The MultiHeadAttention tests load the reference's
weights into your module, so they test your forward pass, not your initialisation."""
import traceback

import torch

from kata.testing import (KataFailure, assert_close, assert_equal, catalogue, exercise, fail, learner, oracle,
                          randn, reference, suspects_from, tolerance)

impl = learner("attention")
ref = reference("attention")
PE = learner("position_encoding")
REF_PE = reference("position_encoding")
MISTAKES = catalogue("attention")
PE_EXERCISES = ("apply_rope", "rotate_half", "rope_cos_sin", "rope_frequencies", "sinusoidal_encoding")



# A whole attention layer sums over keys and features twice: allow a few ulps more than one op.
F32_LAYER = tolerance(torch.float32, scale=10)


def sdpa(*args):
    """The learner's scaled_dot_product_attention; (output, weights), or a sentence saying what came back."""
    result = impl.scaled_dot_product_attention(*args)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        kind = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        fail(f"scaled_dot_product_attention should return a tuple (output, weights), got {kind}: "
             f"return output, weights (the weights are the softmax, one row per query)")
    return result


def sdpa_suspects(*args):
    return suspects_from(MISTAKES, "scaled_dot_product_attention", lambda f: f(*args)[0])


def weight_suspects(*args):
    return suspects_from(MISTAKES, "scaled_dot_product_attention", lambda f: f(*args)[1])


# ---------------------------------------------------------------- MultiHeadAttention helpers

def reference_module(dim, n_heads, n_kv_heads=None, seed=0):
    """The reference module with seeded weights (no global RNG state touched)."""
    theirs = ref.MultiHeadAttention(dim, n_heads, n_kv_heads)
    with torch.no_grad():
        for i, (_, p) in enumerate(sorted(theirs.named_parameters())):
            p.copy_(randn(*p.shape, seed=seed + i, scale=p.shape[1] ** -0.5))
    return theirs


def load_into(mine, theirs):
    """Load the reference's weights into `mine` with strict=True, explaining any mismatch."""
    want = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in mine.state_dict().items()}
    if want != have:
        lines = [f"missing: {k} {want[k]}" for k in sorted(set(want) - set(have))]
        no_bias = " (the projections have no bias: bias=False)"
        lines += [f"unexpected: {k} {have[k]}" + (no_bias if k.endswith("bias") else "")
                  for k in sorted(set(have) - set(want))]
        lines += [f"{k} has shape {have[k]}, expected {want[k]}" for k in sorted(set(want) & set(have))
                  if want[k] != have[k]]
        fail("MultiHeadAttention's parameters do not match the contract (q_proj, k_proj, v_proj, o_proj; "
             "k_proj and v_proj produce n_kv_heads * head_dim; no bias), so the reference's weights do not load",
             "\n".join(lines))
    mine.load_state_dict(theirs.state_dict(), strict=True)
    return mine


def pair(dim, n_heads, n_kv_heads=None, seed=0):
    """(yours, reference) with the same weights."""
    theirs = reference_module(dim, n_heads, n_kv_heads, seed)
    return load_into(impl.MultiHeadAttention(dim, n_heads, n_kv_heads), theirs), theirs


def mha_suspects(theirs, *args, **kw):
    def call(cls):
        wrong = cls(theirs.q_proj.in_features, theirs.n_heads, theirs.n_kv_heads)
        wrong.load_state_dict(theirs.state_dict(), strict=True)
        return wrong(*args, **kw)
    return suspects_from(MISTAKES, "MultiHeadAttention", call)


# Your MultiHeadAttention most likely calls your causal_mask, scaled_dot_product_attention and
# repeat_kv, and your position_encoding's apply_rope when cos/sin are given. When one of those is
# unfinished or wrong, the MultiHeadAttention tests say so instead of blaming the module itself.
PARTS = ("causal_mask", "scaled_dot_product_attention", "repeat_kv")


def unfinished_part(e: NotImplementedError) -> str | None:
    """The exercise other than MultiHeadAttention that raised 'not written yet', if any."""
    head = str(e).split(":")[0].split(" ")[0]
    if head in PARTS:
        return head
    if head in PE_EXERCISES:
        return f"position_encoding.{head}"
    if any("position_encoding" in frame.filename for frame in traceback.extract_tb(e.__traceback__)):
        return "position_encoding.apply_rope"
    return None


def run_mha(module, x, *args, **kw):
    """module(x, *args, **kw), with a plain sentence when a part it relies on is not written yet."""
    try:
        return module(x, *args, **kw)
    except (RuntimeError, TypeError, ValueError, IndexError) as e:
        # A crash inside the layer often comes from a part it calls (a wrong shape or dtype).
        problem = part_problem(rope=bool(args) or "cos" in kw, dtype=x.dtype)
        if problem:
            fail(problem, f"{type(e).__name__}: {e}")
        raise
    except NotImplementedError as e:
        part = unfinished_part(e)
        if part is None:
            raise  # MultiHeadAttention itself is not started
    if part.startswith("position_encoding"):
        fail(f"finish position_encoding.apply_rope first: this test passes cos/sin, so your MultiHeadAttention "
             f"calls your RoPE, and {part} is not written yet (make test-position_encoding)")
    fail(f"finish {part} first: your MultiHeadAttention calls it, and it is not written yet")


def _agrees(mine, theirs) -> bool:
    return isinstance(mine, torch.Tensor) and mine.shape == theirs.shape and mine.dtype == theirs.dtype \
        and torch.allclose(mine, theirs, rtol=1e-4, atol=1e-5)


def part_problem(rope: bool, dtype: torch.dtype = torch.float32) -> str | None:
    """None when the parts MultiHeadAttention relies on agree with the reference on a small probe,
    else a sentence naming the first one that does not."""
    q, k, v = randn(2, 3, 5, 4, seed=90), randn(2, 3, 5, 4, seed=91), randn(2, 3, 5, 4, seed=92)
    kv = randn(2, 5, 2, 4, seed=93)
    cos, sin = REF_PE.rope_cos_sin(4, 5, base=100.0)
    qh, kh, vh = (t.to(dtype) for t in (q, k, v))
    probes = [
        ("causal_mask", lambda m: m.causal_mask(5), None),
        ("scaled_dot_product_attention", lambda m: m.scaled_dot_product_attention(q, k, v, m.causal_mask(5))[0], None),
        ("scaled_dot_product_attention", lambda m: m.scaled_dot_product_attention(q, k, v)[0], None),
        ("repeat_kv", lambda m: m.repeat_kv(kv, 2), None),
        ("scaled_dot_product_attention", lambda m: torch.tensor(
            [float(t.dtype == dtype) for t in m.scaled_dot_product_attention(qh, kh, vh)]), None),
    ]
    if rope:
        probes.append(("position_encoding.apply_rope", lambda m: m.apply_rope(kv, cos, sin), "pe"))
    for name, probe, which in probes:
        mine, theirs = (PE, REF_PE) if which == "pe" else (impl, ref)
        try:
            ok = _agrees(probe(mine), probe(theirs))
        except Exception:  # noqa: BLE001 - a part that crashes is the message
            ok = False
        if not ok:
            where = "make test-position_encoding" if which == "pe" else "its own tests above say how"
            return (f"{name} does not match the contract yet, and your MultiHeadAttention most likely uses it: "
                    f"fix it first ({where})")
    return None


def assert_close_mha(actual, expected, *, rope=False, **kw):
    """assert_close for a MultiHeadAttention output; a mismatch caused by one of the parts it relies
    on is named as such."""
    try:
        assert_close(actual, expected, **kw)
        return
    except KataFailure as e:
        err = e
    problem = part_problem(rope)
    if problem:
        fail(problem, str(err))
    raise err


# ---------------------------------------------------------------- causal_mask

@exercise("causal_mask")
def test_causal_mask_worked_example_seq_len_3():
    expected = torch.tensor([[True, False, False], [True, True, False], [True, True, True]])
    mask = impl.causal_mask(3)
    if isinstance(mask, torch.Tensor) and mask.dtype != torch.bool:
        fail(f"causal_mask returned dtype {mask.dtype}; the contract's masks are bool (True = may attend), "
             f"not additive 0 / -inf floats")
    assert_equal(mask, expected, what="causal_mask(3)",
                 hint="row i is the query, column j the key: True where j <= i (the diagonal is True)")


@exercise("causal_mask")
def test_causal_mask_lets_each_query_see_itself_and_the_past_only():
    mask = impl.causal_mask(6)
    expected = ref.causal_mask(6)
    if isinstance(mask, torch.Tensor) and not torch.equal(mask, expected):
        for cause, wrong in suspects_from(MISTAKES, "causal_mask", lambda f: f(6)).items():
            if mask.shape == wrong.shape and mask.dtype == wrong.dtype and torch.equal(mask, wrong):
                fail(f"causal_mask(6) is wrong; likely cause: {cause}")
    assert_equal(mask, expected, what="causal_mask(6)",
                 hint="True where key j <= query i: the diagonal and everything below it")


# ---------------------------------------------------------------- scaled_dot_product_attention

@exercise("scaled_dot_product_attention")
def test_sdpa_worked_example_two_keys_one_query():
    # q = [1, 0]; keys [1, 0] and [0, 1]; d = 2: scores [1/sqrt(2), 0] = [0.7071, 0].
    # softmax: e^0.7071 = 2.0281, e^0 = 1, so weights [2.0281 / 3.0281, 1 / 3.0281] = [0.6698, 0.3302].
    # Values [10] and [20]: output 0.6698 * 10 + 0.3302 * 20 = 13.302.
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    v = torch.tensor([[10.0], [20.0]])
    out, weights = sdpa(q, k, v)
    assert_close(weights, torch.tensor([[0.6698, 0.3302]]), what="weights", rtol=0, atol=1e-4,
                 suspects=weight_suspects(q, k, v),
                 hint="softmax([0.7071, 0]) = [0.6698, 0.3302]; divide the scores by sqrt(d) = sqrt(2)")
    assert_close(out, torch.tensor([[13.302]]), what="output", rtol=0, atol=1e-3, suspects=sdpa_suspects(q, k, v),
                 hint="0.6698 * 10 + 0.3302 * 20 = 13.302: the weights mix the values")


@exercise("scaled_dot_product_attention")
def test_sdpa_matches_reference():
    q, k, v = randn(2, 3, 5, 8, seed=1), randn(2, 3, 5, 8, seed=2), randn(2, 3, 5, 8, seed=3)
    out, weights = sdpa(q, k, v)
    exp_out, exp_w = ref.scaled_dot_product_attention(q, k, v)
    assert_close(weights, exp_w, what="weights", suspects=weight_suspects(q, k, v))
    assert_close(out, exp_out, what="output", suspects=sdpa_suspects(q, k, v))


@exercise("scaled_dot_product_attention")
def test_sdpa_matches_torch_builtin_with_causal_mask():
    # An independent oracle: torch's own fused attention (allowed here, inside the test only).
    q, k, v = randn(2, 2, 6, 8, seed=4), randn(2, 2, 6, 8, seed=5), randn(2, 2, 6, 8, seed=6)
    mask = ref.causal_mask(6)
    out, _ = sdpa(q, k, v, mask)
    with oracle():
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert_close(out, expected, what="output vs torch.nn.functional.scaled_dot_product_attention",
                 rtol=1e-4, atol=1e-5, suspects=sdpa_suspects(q, k, v, mask),
                 hint="bool mask: True = may attend; blocked scores become -inf before the softmax")


@exercise("scaled_dot_product_attention")
def test_sdpa_weights_rows_sum_to_one():
    q, k, v = randn(3, 4, 8, seed=7, scale=2.0), randn(3, 6, 8, seed=8, scale=2.0), randn(3, 6, 8, seed=9)
    mask = randn(4, 6, seed=10) > -0.5
    mask[:, 0] = True  # every query keeps at least one key
    _, weights = sdpa(q, k, v, mask)
    assert_close(weights.sum(-1), torch.ones(3, 4), what="sum of each row of weights (over the keys)",
                 rtol=1e-5, atol=1e-5, suspects={c: w.sum(-1) for c, w in weight_suspects(q, k, v, mask).items()},
                 hint="softmax over the key axis (dim=-1), and the mask applied before the softmax")


@exercise("scaled_dot_product_attention")
def test_sdpa_blocked_keys_get_zero_weight():
    q, k, v = randn(2, 5, 4, seed=11), randn(2, 5, 4, seed=12), randn(2, 5, 3, seed=13)
    mask = torch.tensor([[1, 0, 1, 1, 0], [0, 1, 1, 0, 1], [1, 1, 0, 0, 0], [0, 0, 1, 0, 1], [1, 0, 0, 1, 1]]).bool()
    out, weights = sdpa(q, k, v, mask)
    exp_out, exp_w = ref.scaled_dot_product_attention(q, k, v, mask)
    if isinstance(weights, torch.Tensor) and weights.shape == exp_w.shape and bool((weights[..., ~mask] != 0).any()):
        fail("a key the mask blocks (False) got a nonzero weight: True means 'may attend', False 'blocked'",
             f"mask row 0 is {mask[0].int().tolist()}, your weights row 0 of batch 0: "
             f"{[round(float(w), 4) for w in weights[0, 0]]}")
    assert_close(weights, exp_w, what="weights", suspects=weight_suspects(q, k, v, mask))
    assert_close(out, exp_out, what="output", suspects=sdpa_suspects(q, k, v, mask))


@exercise("scaled_dot_product_attention")
def test_sdpa_query_with_no_allowed_key_gets_zeros_not_nan():
    q, k, v = randn(3, 4, seed=14), randn(5, 4, seed=15), randn(5, 2, seed=16)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[1] = False  # query 1 may attend nothing
    out, weights = sdpa(q, k, v, mask)
    exp_out, exp_w = ref.scaled_dot_product_attention(q, k, v, mask)
    hint = ("softmax of a row of -inf is 0/0 = NaN; the contract wants zeros there: zero such rows after "
            "the softmax (mask.any(dim=-1)), or use a large negative number and zero them")
    assert_close(weights, exp_w, what="weights", suspects=weight_suspects(q, k, v, mask), hint=hint)
    assert_close(out, exp_out, what="output", suspects=sdpa_suspects(q, k, v, mask), hint=hint)


# ---------------------------------------------------------------- repeat_kv

@exercise("repeat_kv")
def test_repeat_kv_output_head_h_is_input_head_h_floordiv_n_rep():
    x = randn(2, 4, 3, 5, seed=17)  # 3 distinct KV heads
    out = impl.repeat_kv(x, 2)
    expected = torch.stack([x[:, :, h // 2] for h in range(6)], dim=2)  # heads 0 0 1 1 2 2
    suspects = suspects_from(MISTAKES, "repeat_kv", lambda f: f(x, 2))
    assert_close(out, expected, rtol=0, atol=0, suspects=suspects,
                 hint="each KV head repeated n_rep times in a row (h0, h0, h1, h1, ...), not tiled (h0, h1, h0, h1)")
    assert_close(impl.repeat_kv(x, 1), x, what="repeat_kv(x, 1)", rtol=0, atol=0,
                 hint="with n_rep = 1 there is nothing to share: return x unchanged")


# ---------------------------------------------------------------- MultiHeadAttention

@exercise("MultiHeadAttention")
def test_MultiHeadAttention_has_four_projections_without_bias():
    mha = impl.MultiHeadAttention(32, 4)
    shapes = {k: tuple(v.shape) for k, v in mha.state_dict().items()}
    expected = {f"{p}_proj.weight": (32, 32) for p in "qkvo"}
    if shapes != expected:
        fail(f"MultiHeadAttention(32, 4) has parameters {shapes}, expected {expected}",
             "nn.Linear(dim, dim, bias=False) for q_proj, k_proj, v_proj, o_proj (names are part of the contract)")


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_fewer_kv_heads_shrink_k_and_v_projections():
    # head_dim = 64 / 8 = 8. n_kv_heads = 2 (GQA): K and V have 2 * 8 = 16 outputs, 4x fewer than Q.
    for n_kv, width in ((8, 64), (2, 16), (1, 8)):
        mha = impl.MultiHeadAttention(64, 8, n_kv)
        shapes = {k: tuple(v.shape) for k, v in mha.state_dict().items()}
        expected = {"q_proj.weight": (64, 64), "k_proj.weight": (width, 64), "v_proj.weight": (width, 64),
                    "o_proj.weight": (64, 64)}
        if shapes != expected:
            fail(f"MultiHeadAttention(64, 8, n_kv_heads={n_kv}) has parameters {shapes}, expected {expected}",
                 "k_proj and v_proj produce n_kv_heads * head_dim features: that is where GQA saves memory")


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_matches_reference_with_loaded_weights():
    mine, theirs = pair(32, 4, seed=20)
    x = randn(2, 6, 32, seed=21)
    rtol, atol = F32_LAYER
    assert_close_mha(run_mha(mine, x), theirs(x), rtol=rtol, atol=atol, suspects=mha_suspects(theirs, x),
                     hint="split heads with view(B, T, n_heads, head_dim) then transpose(1, 2); "
                          "merge back the same way")


def plain_multi_head(x, wq, wk, wv, wo, n_heads, causal):
    """Textbook multi-head attention, one head at a time, in float64."""
    x, wq, wk, wv, wo = (t.double() for t in (x, wq, wk, wv, wo))
    b, s, dim = x.shape
    hd = dim // n_heads
    heads = []
    for h in range(n_heads):
        rows = slice(h * hd, (h + 1) * hd)
        q, k, v = x @ wq[rows].T, x @ wk[rows].T, x @ wv[rows].T  # (B, T, hd)
        scores = q @ k.transpose(1, 2) / hd ** 0.5
        if causal:
            scores = scores.masked_fill(~torch.ones(s, s, dtype=torch.bool).tril(), float("-inf"))
        heads.append(torch.softmax(scores, -1) @ v)
    return (torch.cat(heads, dim=-1) @ wo.T).float()


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_with_n_kv_heads_equal_to_n_heads_is_plain_multi_head_attention():
    mine, theirs = pair(24, 3, 3, seed=22)
    x = randn(2, 5, 24, seed=23)
    w = {n: p.detach() for n, p in theirs.named_parameters()}
    expected = plain_multi_head(x, w["q_proj.weight"], w["k_proj.weight"], w["v_proj.weight"], w["o_proj.weight"],
                                3, causal=True)
    rtol, atol = F32_LAYER
    assert_close_mha(run_mha(mine, x), expected, rtol=rtol, atol=atol, suspects=mha_suspects(theirs, x),
                     hint="head h uses rows h*head_dim:(h+1)*head_dim of each projection's output")


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_gqa_matches_reference():
    # 4 query heads share 2 KV heads: heads 0, 1 read KV head 0; heads 2, 3 read KV head 1.
    mine, theirs = pair(32, 4, 2, seed=24)
    x = randn(2, 5, 32, seed=25)
    rtol, atol = F32_LAYER
    assert_close_mha(run_mha(mine, x), theirs(x), rtol=rtol, atol=atol, suspects=mha_suspects(theirs, x),
                     hint="repeat each KV head n_heads // n_kv_heads times in a row (repeat_kv) before attending")


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_with_rope_matches_reference():
    mine, theirs = pair(32, 4, 2, seed=26)
    x = randn(2, 5, 32, seed=27)
    cos, sin = REF_PE.rope_cos_sin(8, 9, base=100.0)  # longer than the sequence: use cos[:seq]
    out = run_mha(mine, x, cos, sin)
    rtol, atol = F32_LAYER
    assert_close_mha(out, theirs(x, cos, sin), rope=True, rtol=rtol, atol=atol,
                     suspects=mha_suspects(theirs, x, cos, sin),
                     hint="RoPE rotates q and k (never v) in the (B, T, heads, head_dim) layout, "
                           "with cos[:T], sin[:T]")


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_without_mask_or_positions_permuting_tokens_permutes_outputs():
    # Attention alone sees a set: nothing in it knows token order (that is position encoding's job).
    mine, theirs = pair(32, 4, 2, seed=28)
    x = randn(2, 6, 32, seed=29)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    out = run_mha(mine, x, causal=False)
    assert_close_mha(run_mha(mine, x[:, perm], causal=False), out[:, perm], what="output for the permuted tokens",
                     rtol=1e-4, atol=1e-5, against="the unpermuted output, permuted",
                     suspects=mha_suspects(theirs, x[:, perm], causal=False),
                     hint="with causal=False and no cos/sin, output row i may depend on token i and the set of "
                          "tokens only; a reshape that mixes tokens and heads breaks this")


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_causal_outputs_ignore_later_tokens():
    mine, _ = pair(32, 4, seed=30)
    x = randn(2, 7, 32, seed=31)
    t = 3
    changed = x.clone()
    changed[:, t + 1:] = randn(2, 7 - t - 1, 32, seed=32)  # rewrite every token after position t
    before, after = run_mha(mine, x), run_mha(mine, changed)
    assert_close_mha(after[:, : t + 1], before[:, : t + 1], what=f"outputs at positions 0..{t}",
                     rtol=1e-4, atol=1e-5, hint="with causal=True (the default) position i may only attend keys j <= i")
