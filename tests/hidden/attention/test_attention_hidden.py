"""Hidden suite for attention: breadth a learner cannot tune to. Run by `make grade-attention`;
failures are reported by property name (the test's name) and one line, without expected values.

Sizes never coincide (seq_len, head_dim, n_heads, n_kv_heads and n_rep all differ, every KV head is
distinct), so a transpose forgotten or a head grouping tiled instead of repeated cannot hide."""
import traceback

import pytest
import torch

from kata.compare import assert_unchanged, load_reference_weights, on_meta
from kata.testing import (KataFailure, assert_close, assert_equal, catalogue, exercise, fail, learner, randn,
                          reference, suspects_from, tolerance)

impl = learner("attention")
ref = reference("attention")
PE = learner("position_encoding")
REF_PE = reference("position_encoding")
MISTAKES = catalogue("attention")
HALF = [torch.float16, torch.bfloat16]
PE_EXERCISES = ("apply_rope", "rotate_half", "rope_cos_sin", "rope_frequencies", "sinusoidal_encoding")
F32_LAYER = tolerance(torch.float32, scale=10)



def sdpa_case(lead=(2, 3), lq=5, lk=7, d=8, dv=6, seed=0, scale=1.0):
    return (randn(*lead, lq, d, seed=seed, scale=scale), randn(*lead, lk, d, seed=seed + 1, scale=scale),
            randn(*lead, lk, dv, seed=seed + 2))


def random_mask(lq, lk, seed, keep_every_row=True):
    mask = randn(lq, lk, seed=seed) > 0
    if keep_every_row:
        mask[:, 0] = True
    return mask


def compare_sdpa(q, k, v, mask=None, tol_scale=1.0):
    sus = suspects_from(MISTAKES, "scaled_dot_product_attention", lambda f: f(q, k, v, mask))
    out, weights = sdpa_result(impl.scaled_dot_product_attention(q, k, v, mask))
    exp_out, exp_w = ref.scaled_dot_product_attention(q, k, v, mask)
    rtol, atol = tolerance(exp_out.dtype, scale=tol_scale)
    assert_close(weights, exp_w, what="weights", rtol=rtol, atol=atol, suspects={c: r[1] for c, r in sus.items()})
    assert_close(out, exp_out, what="output", rtol=rtol, atol=atol, suspects={c: r[0] for c, r in sus.items()})


def sdpa_result(result):
    """(output, weights) from the learner's return value, or a sentence saying what came back instead."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        kind = f"a tuple of {len(result)}" if isinstance(result, tuple) else type(result).__name__
        fail(f"scaled_dot_product_attention should return a tuple (output, weights), got {kind}")
    return result


# ---------------------------------------------------------------- causal_mask

@exercise("causal_mask")
@pytest.mark.parametrize("seq_len", [1, 2, 9])
def test_causal_mask_other_lengths(seq_len):
    assert_equal(impl.causal_mask(seq_len), ref.causal_mask(seq_len), what=f"causal_mask({seq_len})",
                 suspects=suspects_from(MISTAKES, "causal_mask", lambda f: f(seq_len)))


# ---------------------------------------------------------------- scaled_dot_product_attention

@exercise("scaled_dot_product_attention")
def test_sdpa_sizes_that_do_not_coincide():
    q, k, v = sdpa_case()  # Lq 5, Lk 7, d 8, dv 6, two leading dims
    compare_sdpa(q, k, v, random_mask(5, 7, seed=3))


@exercise("scaled_dot_product_attention")
def test_sdpa_fewer_queries_than_keys():
    q, k, v = sdpa_case(lead=(4,), lq=2, lk=9, d=6, dv=3, seed=4)
    compare_sdpa(q, k, v)
    compare_sdpa(q, k, v, random_mask(2, 9, seed=5))


@exercise("scaled_dot_product_attention")
def test_sdpa_large_scores_do_not_overflow_the_softmax():
    # Scores of several hundred: exp() of them is inf in float32 unless the row max is subtracted.
    q, k, v = sdpa_case(seed=6, scale=12.0)
    compare_sdpa(q, k, v)
    compare_sdpa(q, k, v, random_mask(5, 7, seed=7))


@exercise("scaled_dot_product_attention")
def test_sdpa_fully_masked_rows_give_zero_weights_and_zero_output():
    q, k, v = sdpa_case(seed=8)
    mask = random_mask(5, 7, seed=9)
    mask[2] = False
    mask[4] = False
    out, weights = sdpa_result(impl.scaled_dot_product_attention(q, k, v, mask))
    for name, t in (("output", out), ("weights", weights)):
        if isinstance(t, torch.Tensor) and not bool(torch.isfinite(t).all()):
            fail(f"{name} contains NaN or Inf for queries whose keys are all blocked: softmax of a row that is "
                 f"all -inf is 0/0; set the weights of such rows to zero (e.g. masked_fill where no key is allowed)")
    compare_sdpa(q, k, v, mask)


@exercise("scaled_dot_product_attention")
def test_sdpa_key_padding_mask_broadcast_over_heads_and_queries():
    # mask (batch, 1, 1, Lk): sequence 1 has only padding, so every one of its queries is empty.
    q, k, v = sdpa_case(lead=(2, 3), seed=10)
    mask = torch.ones(2, 1, 1, 7, dtype=torch.bool)
    mask[0, ..., 5:] = False
    mask[1] = False
    compare_sdpa(q, k, v, mask)


@exercise("scaled_dot_product_attention")
@pytest.mark.parametrize("lead", [(), (6,), (2, 2, 3)], ids=["2d", "3d", "5d"])
def test_sdpa_any_number_of_leading_dims(lead):
    q, k, v = sdpa_case(lead=lead, seed=11)
    compare_sdpa(q, k, v, random_mask(5, 7, seed=12))


@exercise("scaled_dot_product_attention")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_sdpa_half_precision(dtype):
    q, k, v = (t.to(dtype) for t in sdpa_case(seed=13))
    mask = random_mask(5, 7, seed=14)
    mask[3] = False
    # Two roundings of the scores (before and after the softmax) at the half precision's size.
    compare_sdpa(q, k, v, mask, tol_scale=2.0)


@exercise("scaled_dot_product_attention")
def test_sdpa_keeps_float64():
    q, k, v = (t.double() for t in sdpa_case(seed=15))
    mask = ref.causal_mask(7)[:5]
    sus = suspects_from(MISTAKES, "scaled_dot_product_attention", lambda f: f(q, k, v, mask))
    out, weights = sdpa_result(impl.scaled_dot_product_attention(q, k, v, mask))
    exp_out, exp_w = ref.scaled_dot_product_attention(q, k, v, mask)
    assert_close(weights, exp_w, what="weights", rtol=1e-6, atol=1e-7, suspects={c: r[1] for c, r in sus.items()})
    assert_close(out, exp_out, what="output", rtol=1e-6, atol=1e-7, suspects={c: r[0] for c, r in sus.items()})


@exercise("scaled_dot_product_attention")
def test_sdpa_non_contiguous_inputs():
    q, k, v = sdpa_case(lead=(3, 2), seed=16)
    q, k, v = (t.transpose(0, 1) for t in (q, k, v))  # (2, 3, L, d), not contiguous
    keys_by_query = randn(7, 5, seed=17) > 0
    keys_by_query[0] = True  # every query keeps key 0
    compare_sdpa(q, k, v, keys_by_query.T)  # a (5, 7) mask that is not contiguous either


@exercise("scaled_dot_product_attention")
def test_sdpa_does_not_modify_its_inputs():
    q, k, v = sdpa_case(seed=18)
    mask = random_mask(5, 7, seed=19)
    saved = [t.clone() for t in (q, k, v, mask)]
    impl.scaled_dot_product_attention(q, k, v, mask)
    for name, t, t0 in zip(("q", "k", "v", "mask"), (q, k, v, mask), saved):
        assert_unchanged(t, t0, name)


@exercise("scaled_dot_product_attention")
def test_sdpa_creates_nothing_on_another_device():
    q, k, v = (torch.empty(2, 3, 5, 8, device="meta"), torch.empty(2, 3, 7, 8, device="meta"),
               torch.empty(2, 3, 7, 6, device="meta"))
    mask = torch.empty(5, 7, dtype=torch.bool, device="meta")
    out, weights = sdpa_result(on_meta(lambda: impl.scaled_dot_product_attention(q, k, v, mask),
                                       "scaled_dot_product_attention"))
    assert_close(out, torch.empty(2, 3, 5, 6, device="meta"), what="output")
    assert_close(weights, torch.empty(2, 3, 5, 7, device="meta"), what="weights")


@exercise("scaled_dot_product_attention")
def test_sdpa_gradients_match_reference():
    q, k, v = sdpa_case(seed=20)
    mask = random_mask(5, 7, seed=21)
    mine = [t.clone().requires_grad_() for t in (q, k, v)]
    theirs = [t.clone().requires_grad_() for t in (q, k, v)]
    g_out, g_w = randn(2, 3, 5, 6, seed=22), randn(2, 3, 5, 7, seed=23)
    out, w = sdpa_result(impl.scaled_dot_product_attention(*mine, mask))
    ((out * g_out).sum() + (w * g_w).sum()).backward()
    out, w = ref.scaled_dot_product_attention(*theirs, mask)
    ((out * g_out).sum() + (w * g_w).sum()).backward()
    for name, a, b in zip("qkv", mine, theirs):
        if a.grad is None:
            fail(f"no gradient reached {name}: is the output detached from it?")
        assert_close(a.grad, b.grad, what=f"gradient w.r.t. {name}", rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- repeat_kv

@exercise("repeat_kv")
@pytest.mark.parametrize("n_kv, n_rep", [(2, 3), (3, 2), (4, 4)])
def test_repeat_kv_groups_of_distinct_kv_heads(n_kv, n_rep):
    x = randn(2, 5, n_kv, 6, seed=24)
    assert_close(impl.repeat_kv(x, n_rep), ref.repeat_kv(x, n_rep), rtol=0, atol=0,
                 suspects=suspects_from(MISTAKES, "repeat_kv", lambda f: f(x, n_rep)))


@exercise("repeat_kv")
def test_repeat_kv_non_contiguous_input():
    x = randn(3, 2, 5, 4, seed=25).transpose(0, 2)  # (5, 2, 3, 4), not contiguous
    assert_close(impl.repeat_kv(x, 2), ref.repeat_kv(x, 2), rtol=0, atol=0,
                 suspects=suspects_from(MISTAKES, "repeat_kv", lambda f: f(x, 2)))


@exercise("repeat_kv")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_repeat_kv_keeps_dtype(dtype):
    x = randn(2, 3, 2, 4, seed=26, dtype=dtype)
    assert_close(impl.repeat_kv(x, 3), ref.repeat_kv(x, 3), rtol=0, atol=0,
                 suspects=suspects_from(MISTAKES, "repeat_kv", lambda f: f(x, 3)))


@exercise("repeat_kv")
def test_repeat_kv_creates_nothing_on_another_device():
    x = torch.empty(2, 3, 2, 4, device="meta")
    assert_close(on_meta(lambda: impl.repeat_kv(x, 3), "repeat_kv"), torch.empty(2, 3, 6, 4, device="meta"))


@exercise("repeat_kv")
def test_repeat_kv_gradients_reach_the_shared_heads():
    x = randn(2, 3, 2, 4, seed=27)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = randn(2, 3, 6, 4, seed=28)
    (impl.repeat_kv(xa, 3) * g).sum().backward()
    (ref.repeat_kv(xb, 3) * g).sum().backward()
    if xa.grad is None:
        fail("no gradient reached x: is the output detached from it?")
    assert_close(xa.grad, xb.grad, what="gradient w.r.t. x")


# ---------------------------------------------------------------- MultiHeadAttention

def reference_module(dim, n_heads, n_kv_heads=None, seed=0):
    theirs = ref.MultiHeadAttention(dim, n_heads, n_kv_heads)
    with torch.no_grad():
        for i, (_, p) in enumerate(sorted(theirs.named_parameters())):
            p.copy_(randn(*p.shape, seed=seed + i, scale=p.shape[1] ** -0.5))
    return theirs


def pair(dim, n_heads, n_kv_heads=None, seed=0):
    theirs = reference_module(dim, n_heads, n_kv_heads, seed)
    mine = impl.MultiHeadAttention(dim, n_heads, n_kv_heads)
    load_reference_weights(mine, theirs, f"MultiHeadAttention({dim}, {n_heads}, n_kv_heads={n_kv_heads})")
    return mine, theirs


def mha_suspects(theirs, *args, **kw):
    def call(cls):
        wrong = cls(theirs.q_proj.in_features, theirs.n_heads, theirs.n_kv_heads).to(args[0].dtype)
        wrong.load_state_dict(theirs.state_dict(), strict=True)
        return wrong(*args, **kw)
    return suspects_from(MISTAKES, "MultiHeadAttention", call)


# As in the visible suite: a failure caused by an unfinished or wrong part that MultiHeadAttention
# relies on (its own module's other exercises, or position_encoding's RoPE) is named as such.
PARTS = ("causal_mask", "scaled_dot_product_attention", "repeat_kv")


def run_mha(module, x, *args, **kw):
    try:
        return module(x, *args, **kw)
    except (RuntimeError, TypeError, ValueError, IndexError) as e:
        # A crash inside the layer often comes from a part it calls (a wrong shape or dtype).
        problem = part_problem(rope=bool(args) or "cos" in kw, dtype=x.dtype)
        if problem:
            fail(problem, f"{type(e).__name__}: {e}")
        raise
    except NotImplementedError as e:
        head = str(e).split(":")[0].split(" ")[0]
        in_pe = head in PE_EXERCISES or any("position_encoding" in f.filename
                                            for f in traceback.extract_tb(e.__traceback__))
        if head not in PARTS and not in_pe:
            raise  # MultiHeadAttention itself is not started
    if in_pe:
        fail("finish position_encoding.apply_rope first: this test passes cos/sin, so your MultiHeadAttention "
             "calls your RoPE, which is not written yet")
    fail(f"finish {head} first: your MultiHeadAttention calls it, and it is not written yet")


def part_problem(rope: bool, dtype: torch.dtype = torch.float32) -> str | None:
    q, k, v = randn(2, 3, 5, 4, seed=90), randn(2, 3, 5, 4, seed=91), randn(2, 3, 5, 4, seed=92)
    kv = randn(2, 5, 2, 4, seed=93)
    cos, sin = REF_PE.rope_cos_sin(4, 5, base=100.0)
    qh, kh, vh = (t.to(dtype) for t in (q, k, v))
    probes = [("causal_mask", impl, ref, lambda m: m.causal_mask(5)),
              ("scaled_dot_product_attention", impl, ref,
               lambda m: m.scaled_dot_product_attention(q, k, v, m.causal_mask(5))[0]),
              ("scaled_dot_product_attention", impl, ref, lambda m: m.scaled_dot_product_attention(q, k, v)[0]),
              ("repeat_kv", impl, ref, lambda m: m.repeat_kv(kv, 2)),
              ("scaled_dot_product_attention", impl, ref, lambda m: torch.tensor(
                  [float(t.dtype == dtype) for t in m.scaled_dot_product_attention(qh, kh, vh)]))]
    if rope:
        probes.append(("position_encoding.apply_rope", PE, REF_PE, lambda m: m.apply_rope(kv, cos, sin)))
    for name, mine, theirs, probe in probes:
        try:
            a, b = probe(mine), probe(theirs)
            ok = a.shape == b.shape and a.dtype == b.dtype and torch.allclose(a, b, rtol=1e-4, atol=1e-5)
        except Exception:  # noqa: BLE001 - a part that crashes is the message
            ok = False
        if not ok:
            return (f"{name} does not match the contract yet, and your MultiHeadAttention most likely uses it: "
                    f"fix it first")
    return None


def compare_mha(mine, theirs, x, *args, tol=None, **kw):
    out = run_mha(mine, x, *args, **kw)
    expected = theirs(x, *args, **kw)
    rtol, atol = tol or (F32_LAYER if x.dtype == torch.float32 else tolerance(x.dtype, scale=2.0))
    try:
        assert_close(out, expected, rtol=rtol, atol=atol, suspects=mha_suspects(theirs, x, *args, **kw))
        return
    except KataFailure as e:
        err = e
    problem = part_problem(rope=bool(args), dtype=x.dtype)
    if problem:
        fail(problem)
    raise err


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_gqa_sizes_that_do_not_coincide():
    # dim 48, 6 query heads of size 8, 3 KV heads (n_rep 2), 5 tokens.
    mine, theirs = pair(48, 6, 3, seed=30)
    x = randn(2, 5, 48, seed=31)
    compare_mha(mine, theirs, x)
    compare_mha(mine, theirs, x, causal=False)


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_multi_query_one_kv_head():
    mine, theirs = pair(40, 4, 1, seed=32)  # head_dim 10, 7 tokens
    compare_mha(mine, theirs, randn(3, 7, 40, seed=33))


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_n_kv_heads_none_means_n_heads():
    mine, theirs = pair(36, 3, None, seed=34)  # head_dim 12
    if getattr(mine.k_proj, "out_features", None) != 36:
        fail("with n_kv_heads=None, k_proj must produce n_heads * head_dim features")
    compare_mha(mine, theirs, randn(2, 5, 36, seed=35))


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_causal_flag_is_honoured():
    mine, theirs = pair(48, 6, 2, seed=36)  # n_rep 3
    x = randn(2, 5, 48, seed=37)
    compare_mha(mine, theirs, x, causal=True)
    compare_mha(mine, theirs, x, causal=False)
    assert_close(run_mha(mine, x), theirs(x, causal=True), rtol=F32_LAYER[0], atol=F32_LAYER[1],
                 what="output without the causal argument (the default is causal=True)",
                 suspects=mha_suspects(theirs, x))


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_rope_on_queries_and_keys_only():
    mine, theirs = pair(48, 6, 3, seed=38)  # head_dim 8
    x = randn(2, 5, 48, seed=39)
    cos, sin = REF_PE.rope_cos_sin(8, 11, base=50.0)  # a longer table than the sequence, a non-default base
    compare_mha(mine, theirs, x, cos, sin)
    compare_mha(mine, theirs, x, cos, sin, causal=False)


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_rope_makes_attention_order_aware():
    # Without a mask, only RoPE can tell token orders apart: permuting tokens must change the output.
    mine, theirs = pair(32, 4, 2, seed=40)
    x = randn(1, 6, 32, seed=41)
    cos, sin = REF_PE.rope_cos_sin(8, 6, base=100.0)
    perm = torch.tensor([5, 4, 3, 2, 1, 0])
    compare_mha(mine, theirs, x[:, perm], cos, sin, causal=False)


@exercise("MultiHeadAttention")
@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_MultiHeadAttention_half_precision(dtype):
    mine, theirs = pair(48, 6, 3, seed=42)
    mine, theirs = mine.to(dtype), theirs.to(dtype)
    x = randn(2, 5, 48, seed=43, dtype=dtype)
    compare_mha(mine, theirs, x, tol=tolerance(dtype, scale=2.0))


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_single_token():
    mine, theirs = pair(48, 6, 3, seed=44)
    compare_mha(mine, theirs, randn(2, 1, 48, seed=45))


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_non_contiguous_input():
    mine, theirs = pair(48, 6, 3, seed=46)
    x = randn(5, 2, 48, seed=47).transpose(0, 1)  # (2, 5, 48), not contiguous
    compare_mha(mine, theirs, x)


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_does_not_modify_its_input():
    mine, _ = pair(48, 6, 3, seed=48)
    x = randn(2, 5, 48, seed=49)
    x0 = x.clone()
    run_mha(mine, x)
    assert_unchanged(x, x0, "x")


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_gradients_match_reference():
    try:
        gradients_match_reference()
    except KataFailure:
        problem = part_problem(rope=False)
        if problem:
            fail(problem)
        raise


def gradients_match_reference():
    mine, theirs = pair(48, 6, 3, seed=50)
    x = randn(2, 5, 48, seed=51)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    g = randn(2, 5, 48, seed=52)
    (run_mha(mine, xa) * g).sum().backward()
    (theirs(xb) * g).sum().backward()
    if xa.grad is None:
        fail("no gradient reached x")
    assert_close(xa.grad, xb.grad, what="gradient w.r.t. x", rtol=1e-4, atol=1e-5)
    grads = dict(theirs.named_parameters())
    for name, p in mine.named_parameters():
        if p.grad is None:
            fail(f"no gradient reached {name}")
        assert_close(p.grad, grads[name].grad, what=f"gradient w.r.t. {name}", rtol=1e-4, atol=1e-5)


@exercise("MultiHeadAttention")
def test_MultiHeadAttention_runs_on_the_meta_device():
    mine = impl.MultiHeadAttention(48, 6, 3).to("meta")
    out = on_meta(lambda: run_mha(mine, torch.empty(2, 5, 48, device="meta")), "MultiHeadAttention on meta")
    assert_close(out, torch.empty(2, 5, 48, device="meta"))
