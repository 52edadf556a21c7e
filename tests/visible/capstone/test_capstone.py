"""Visible suite for the capstone: one idea per test. Run: make test-capstone.

TinyLM is built from your own TransformerBlock, RMSNorm and RoPE tables; when one of them is not
written yet, the failure says which module to finish first. The cached_attention tests hand you the
reference's MultiHeadAttention and KVCache, so they test cached_attention alone; the TinyLM tests
use your whole capstone. The wrong versions these tests reject: kata/mistakes/capstone.py."""
import math

import torch

from kata.testing import (assert_close, assert_equal, catalogue, exercise, fail, learner, randn, reference,
                          seeded, suspects_from)

impl = learner("capstone")
ref = reference("capstone")
ref_attn = reference("attention")
rope = reference("position_encoding")
MISTAKES = catalogue("capstone")

# Sizes that never coincide: vocab 11, dim 32, 4 query heads (head_dim 8) sharing 2 KV heads,
# 2 layers, RoPE tables of 24 rows, batch 3, a prompt of 5 tokens.
VOCAB, DIM, LAYERS, HEADS, KV_HEADS, MAX_LEN = 11, 32, 2, 4, 2, 24
CONFIG = (VOCAB, DIM, LAYERS, HEADS, KV_HEADS)
# A whole model chains two blocks and a head: a correct model built from differently ordered parts
# stays within ~2e-6 of the reference in float32; every wrong wiring is off by more than 1e-2.
LM_TOL = dict(rtol=1e-4, atol=2e-5)
# Cached and uncached runs of the same model use different matmul shapes: a few ulps apart.
CACHE_TOL = dict(rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- helpers

def randomize(model, seed: int):
    """Weights that look trained: linear layers std 1/sqrt(fan_in), the (tied) embedding std 1 so the
    logits are far apart, norm weights 1 + 0.3 * noise so each norm is told apart."""
    gen = seeded(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "embed.weight":
                p.copy_(torch.randn(p.shape, generator=gen))
            elif p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen) * p.shape[-1] ** -0.5)
            else:
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen))
    return model


def load_into(mine, theirs):
    """Load the reference's weights into `mine` with strict=True, explaining any mismatch."""
    want = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in mine.state_dict().items()}
    if want != have:
        lines = [f"missing: {k} {want[k]}" for k in sorted(set(want) - set(have))]
        lines += [f"unexpected: {k} {have[k]}" + (" (make cos and sin non-persistent buffers)"
                                                   if k in ("cos", "sin") else "")
                  for k in sorted(set(have) - set(want))]
        lines += [f"{k} has shape {have[k]}, expected {want[k]}" for k in sorted(set(want) & set(have))
                  if want[k] != have[k]]
        fail("TinyLM's parameters do not match the contract (embed, layers.<i>, norm, lm_head), so the "
             "reference's weights do not load", "\n".join(lines[:12]))
    mine.load_state_dict(theirs.state_dict(), strict=True)
    return mine


def lm_pair(*config, seed: int = 0, dtype=torch.float32, **kw):
    """(yours, reference) TinyLM with the same trained-looking weights."""
    theirs = randomize(ref.TinyLM(*config, **kw), seed).to(dtype)
    return load_into(impl.TinyLM(*config, **kw).to(dtype), theirs), theirs


def lm_suspects(theirs, config, kw, run):
    """run(model) for every known wrong TinyLM loaded with the reference's weights."""
    def call(cls):
        wrong = cls(*config, **kw).to(theirs.embed.weight.dtype)
        wrong.load_state_dict(theirs.state_dict(), strict=True)
        return run(wrong)
    return suspects_from(MISTAKES, "TinyLM", call)


def tokens(batch, seq, seed, vocab=VOCAB):
    return torch.randint(0, vocab, (batch, seq), generator=seeded(seed))


def attention(dim=DIM, n_heads=HEADS, n_kv_heads=KV_HEADS, seed=0):
    """The reference MultiHeadAttention with seeded weights (cached_attention only uses its projections)."""
    attn = ref_attn.MultiHeadAttention(dim, n_heads, n_kv_heads)
    with torch.no_grad():
        for i, (_, p) in enumerate(sorted(attn.named_parameters())):
            p.copy_(randn(*p.shape, seed=seed + i, scale=p.shape[1] ** -0.5))
    return attn


def stepwise(run_chunk, x, cuts):
    """Run x in chunks [0:cuts[0]], [cuts[0]:cuts[1]], ... through run_chunk(chunk, start); concat."""
    outs, start = [], 0
    for end in list(cuts) + [x.shape[1]]:
        outs.append(run_chunk(x[:, start:end], start))
        start = end
    return torch.cat(outs, dim=1)


# ---------------------------------------------------------------- KVCache

@exercise("KVCache")
def test_KVCache_worked_example_appends_along_the_sequence():
    # Batch 2, 5 prompt positions, 1 KV head of size 4; then one new position.
    k, v = randn(2, 5, 1, 4, seed=1), randn(2, 5, 1, 4, seed=2)
    k1, v1 = randn(2, 1, 1, 4, seed=3), randn(2, 1, 1, 4, seed=4)
    cache = impl.KVCache()
    assert_equal(cache.length, 0, what="length of an empty cache")
    k_all, v_all = cache.update(0, k, v)
    assert_close(k_all, k, what="keys returned by the first update", against="the keys given")
    assert_equal(cache.length, 5, what="length after caching 5 positions (batch 2)",
                 hint="length counts positions, the seq dim (dim 1), not the batch or the layers")
    k_all, v_all = cache.update(0, k1, v1)
    assert_close(k_all, torch.cat([k, k1], dim=1), what="keys after a second update",
                 against="the first keys followed by the new ones along dim 1",
                 hint="append along the sequence dim: torch.cat([old, new], dim=1)")
    assert_close(v_all, torch.cat([v, v1], dim=1), what="values after a second update",
                 against="the first values followed by the new ones along dim 1")
    assert_equal(cache.length, 6, what="length after 5 + 1 positions")


@exercise("KVCache")
def test_KVCache_keeps_each_layer_apart():
    # A forward pass updates layer 0, then layer 1: each layer gets back its own keys only.
    k0, v0, k1, v1 = (randn(3, 4, 2, 8, seed=s) for s in (5, 6, 7, 8))
    n0, m0, n1, m1 = (randn(3, 1, 2, 8, seed=s) for s in (9, 10, 11, 12))
    cache = impl.KVCache()
    cache.update(0, k0, v0)
    cache.update(1, k1, v1)
    assert_equal(cache.length, 4, what="length after a 4-token pass through 2 layers",
                 hint="every layer holds the same positions: length is the positions of one layer")
    cache.update(0, n0, m0)
    k_all, v_all = cache.update(1, n1, m1)
    assert_close(k_all, torch.cat([k1, n1], dim=1), what="layer 1's keys after two passes",
                 against="layer 1's own keys, old then new",
                 hint="keep one entry per layer index (a dict or a list): layers never share keys")
    assert_close(v_all, torch.cat([v1, m1], dim=1), what="layer 1's values after two passes",
                 against="layer 1's own values, old then new")


# ---------------------------------------------------------------- cached_attention

def cached_suspects(*args):
    return suspects_from(MISTAKES, "cached_attention", lambda f: f(*args))


@exercise("cached_attention")
def test_cached_attention_without_cache_equals_MultiHeadAttention():
    attn = attention(seed=1)
    x = randn(2, 6, DIM, seed=2)
    cos, sin = rope.rope_cos_sin(DIM // HEADS, 6, base=1e4)
    out = impl.cached_attention(attn, x, cos, sin)
    with torch.no_grad():
        expected = attn(x, cos, sin, causal=True)
    assert_close(out, expected, against="attn(x, cos, sin, causal=True)", rtol=1e-5, atol=1e-5,
                 suspects=cached_suspects(attn, x, cos, sin),
                 hint="project with attn.q_proj/k_proj/v_proj, split heads, RoPE on q and k, repeat_kv, "
                      "causal attention, merge heads, attn.o_proj")


@exercise("cached_attention")
def test_cached_attention_prefill_then_one_token_at_a_time_equals_the_full_sequence():
    # 4 query heads sharing 2 KV heads. Prefill 4 tokens, then 3 single tokens: each new token sits
    # at position 4, 5, 6 and sees every cached key. The outputs must equal one pass over all 7.
    attn = attention(seed=3)
    x = randn(2, 7, DIM, seed=4)
    cos, sin = rope.rope_cos_sin(DIM // HEADS, 7, base=1e4)
    cache = ref.KVCache()

    def chunk(part, start):
        s = part.shape[1]
        return impl.cached_attention(attn, part, cos[start:start + s], sin[start:start + s], cache, 0)

    with torch.no_grad():
        got = stepwise(chunk, x, [4, 5, 6])
        expected = attn(x, cos, sin, causal=True)

    def run_wrong(f):
        c = ref.KVCache()
        return stepwise(lambda p, st: f(attn, p, cos[st:st + p.shape[1]], sin[st:st + p.shape[1]], c, 0), x, [4, 5, 6])

    assert_close(got, expected, what="outputs of the prefill (tokens 0..3) and the 3 single steps",
                 against="one pass over all 7 tokens", **CACHE_TOL,
                 suspects=suspects_from(MISTAKES, "cached_attention", run_wrong),
                 hint="cache.update after RoPE; the mask lets query i see key j <= Lk - Lq + i, "
                      "also during the prefill")


@exercise("cached_attention")
def test_cached_attention_in_layer_1_after_layer_0_cached_the_same_positions():
    # Inside TinyLM, layer 0 appends this pass's positions before layer 1 runs, so cache.length
    # already counts them when layer 1 is called. Layer 1's mask must still come from its own keys:
    # Lk - Lq. Here layer 0 is filled by hand (prefill 4, then a chunk of 2), as TinyLM would.
    attn = attention(seed=5)
    x = randn(2, 6, DIM, seed=6)
    hd = DIM // HEADS
    cos, sin = rope.rope_cos_sin(hd, 6, base=1e4)

    def run(f, cache):
        def chunk(part, start):
            s = part.shape[1]
            cache.update(0, randn(2, s, KV_HEADS, hd, seed=7 + start), randn(2, s, KV_HEADS, hd, seed=8 + start))
            return f(attn, part, cos[start:start + s], sin[start:start + s], cache, 1)
        return stepwise(chunk, x, [4])

    with torch.no_grad():
        got = run(impl.cached_attention, ref.KVCache())
        expected = attn(x, cos, sin, causal=True)
    assert_close(got, expected, what="layer 1's outputs (prefill of 4, then a chunk of 2)",
                 against="one pass over all 6 tokens", **CACHE_TOL,
                 suspects=suspects_from(MISTAKES, "cached_attention", lambda f: run(f, ref.KVCache())),
                 hint="build the mask from the shapes after cache.update: query i sees key j <= Lk - Lq + i; "
                      "cache.length belongs to layer 0, which has already appended this pass")


# ---------------------------------------------------------------- sample_next_token

# Frequencies over N identical rows: each count is Binomial(N, p), so its frequency has standard
# deviation sqrt(p (1 - p) / N); 5 of those (plus a rounding guard) fail a correct sampler with
# probability below 1e-6 per value, and any sampler that draws from the same distribution
# (inverse CDF, Gumbel-max, ...) passes. The wrong distributions below are off by 20 or more.
N_DRAWS = 20000


def assert_frequencies(draws, probs, what):
    if not isinstance(draws, torch.Tensor) or draws.shape != (N_DRAWS,):
        fail(f"{what}: expected a ({N_DRAWS},) tensor of token ids, got "
             f"{tuple(draws.shape) if isinstance(draws, torch.Tensor) else type(draws).__name__}")
    freq = torch.bincount(draws, minlength=len(probs)).double() / N_DRAWS
    sigma = (probs * (1 - probs) / N_DRAWS).sqrt()
    bad = (freq - probs).abs() > 5 * sigma + 1e-4
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        fail(f"{what}: token {i} was drawn with frequency {float(freq[i]):.4f}, expected {float(probs[i]):.4f} "
             f"(+- {5 * float(sigma[i]):.4f})",
             f"frequencies {[round(f, 4) for f in freq.tolist()]}\nexpected    {[round(p, 4) for p in probs.tolist()]}")


@exercise("sample_next_token")
def test_sample_next_token_temperature_0_is_the_argmax():
    logits = randn(6, 10, seed=20, scale=2.0)
    got = impl.sample_next_token(logits, temperature=0.0)
    assert_equal(got, logits.argmax(-1), what="sample_next_token(logits, temperature=0)",
                 hint="temperature 0 means greedy: return logits.argmax(-1) before dividing by anything")


@exercise("sample_next_token")
def test_sample_next_token_top_k_1_is_the_argmax():
    logits = randn(200, 10, seed=21)
    got = impl.sample_next_token(logits, temperature=1.0, top_k=1, generator=seeded(22))
    assert_equal(got, logits.argmax(-1), what="sample_next_token(logits, top_k=1)",
                 hint="keep only the k largest logits of each row; the rest become -inf")


@exercise("sample_next_token")
def test_sample_next_token_never_draws_outside_the_top_k():
    # top_k=3 keeps tokens 1, 3, 5 (logits 3.0, 2.5, 2.0); the others must never come out.
    row = torch.tensor([1.0, 3.0, 0.5, 2.5, 0.0, 2.0, -1.0])
    draws = impl.sample_next_token(row.expand(N_DRAWS, -1).clone(), temperature=1.0, top_k=3, generator=seeded(23))
    kept = torch.softmax(row.masked_fill(row < 2.0, float("-inf")), -1).double()
    if isinstance(draws, torch.Tensor) and draws.dim() == 1:
        outside = sorted(set(draws.tolist()) - {1, 3, 5})
        if outside:
            fail(f"top_k=3 drew tokens {outside}, which are not among the 3 largest logits",
                 "set the logits below the k-th largest to -inf (not 0) before the softmax, and keep k, "
                 "not k + 1")
    assert_frequencies(draws, kept, "top_k=3 at temperature 1")


@exercise("sample_next_token")
def test_sample_next_token_frequencies_match_softmax_of_logits_over_temperature():
    row = torch.tensor([2.0, 1.0, 0.0, -0.5, 1.5])
    for t in (0.5, 2.0):
        draws = impl.sample_next_token(row.expand(N_DRAWS, -1).clone(), temperature=t, generator=seeded(24))
        assert_frequencies(draws, torch.softmax(row.double() / t, -1), f"temperature {t}")


@exercise("sample_next_token")
def test_sample_next_token_seeded_generator_is_reproducible():
    logits = randn(500, 7, seed=25)
    a = impl.sample_next_token(logits, temperature=1.0, generator=seeded(26))
    b = impl.sample_next_token(logits, temperature=1.0, generator=seeded(26))
    assert_equal(b, a, what="a second draw with a generator seeded the same way",
                 hint="pass generator=generator to torch.multinomial (or whatever draws your random numbers)")
    c = impl.sample_next_token(logits, temperature=1.0, generator=seeded(27))
    if torch.equal(a, c):
        fail("draws with generators seeded 26 and 27 are identical: the sampler is not random")


# ---------------------------------------------------------------- TinyLM

@exercise("TinyLM")
def test_TinyLM_has_the_contract_parts_and_a_tied_head():
    # The embedding is counted once: lm_head shares it, so it adds no parameters of its own.
    mine = impl.TinyLM(*CONFIG, max_len=MAX_LEN)
    children = dict(mine.named_children())
    missing = [n for n in ("embed", "layers", "norm", "lm_head") if n not in children]
    if missing:
        fail(f"TinyLM has no submodule {', '.join(missing)} (it has {sorted(children)})",
             "the names are part of the contract: state dicts are loaded by name")
    if mine.lm_head.weight is not mine.embed.weight:
        fail("lm_head.weight is not embed.weight: the output head must be tied to the embedding",
             "assign the Parameter itself (self.lm_head.weight = self.embed.weight), not a copy of it")
    theirs = ref.TinyLM(*CONFIG, max_len=MAX_LEN)
    assert_equal(sum(p.numel() for p in mine.parameters()), sum(p.numel() for p in theirs.parameters()),
                 what="parameter count of TinyLM(11, 32, 2, 4, 2)")
    load_into(mine, theirs)


@exercise("TinyLM")
def test_TinyLM_initial_loss_is_close_to_ln_vocab():
    # A fresh model should not prefer any token: loss ~ ln(77) = 4.344. The final norm gives unit
    # features, so the logits' spread is the embedding's std * sqrt(dim): 0.02 * 8 = 0.16 -> loss
    # ~4.36. An N(0, 1) embedding gives a spread of 8 and a loss above 10.
    torch.manual_seed(0)
    model = impl.TinyLM(77, 64, 2, 4, 2, max_len=64)
    x, y = tokens(4, 32, seed=30, vocab=77), tokens(4, 32, seed=31, vocab=77)
    with torch.no_grad():
        loss = float(torch.nn.functional.cross_entropy(model(x).reshape(-1, 77), y.reshape(-1)))
    std = float(model.embed.weight.detach().std())
    # The std of 77 * 64 draws of N(0, 0.02) is within 0.0005 of 0.02; nn.Linear's default init
    # (kept when the tie is made from the head's side) has std 1/sqrt(3 * 64) = 0.072.
    if not 0.015 < std < 0.025:
        fail(f"a fresh TinyLM's embedding (the tied head) has std {std:.3g}, expected about 0.02",
             "initialise the shared weight with N(0, 0.02) and tie from the embedding's side "
             "(self.lm_head.weight = self.embed.weight): the other way round keeps nn.Linear's init")
    if not abs(loss - math.log(77)) < 0.15:
        fail(f"the initial loss is {loss:.3f}, expected close to ln(77) = 4.344 (embedding std {std:.3g})",
             "initialise the tied embedding with N(0, 0.02): nn.init.normal_(embed.weight, std=0.02)")


@exercise("TinyLM")
def test_TinyLM_logits_match_reference_with_loaded_weights():
    mine, theirs = lm_pair(*CONFIG, seed=1, max_len=MAX_LEN)
    x = tokens(3, 9, seed=2)
    with torch.no_grad():
        got, expected = mine(x), theirs(x)
    assert_close(got, expected, what="logits", **LM_TOL,
                 suspects=lm_suspects(theirs, CONFIG, dict(max_len=MAX_LEN), lambda m: m(x)),
                 hint="embed -> every block with cos[:seq], sin[:seq] -> norm -> lm_head")


@exercise("TinyLM")
def test_TinyLM_is_causal():
    # Changing tokens 6.. must leave the logits of tokens 0..5 untouched.
    model = randomize(impl.TinyLM(*CONFIG, max_len=MAX_LEN), seed=3)
    x = tokens(2, 9, seed=4)
    changed = x.clone()
    changed[:, 6:] = (x[:, 6:] + 1) % VOCAB
    with torch.no_grad():
        a, b = model(x), model(changed)
    assert_close(b[:, :6], a[:, :6], what="logits of tokens 0..5 after changing tokens 6..8", **LM_TOL,
                 against="their logits before the change", hint="every block's attention must be causal")


@exercise("TinyLM")
def test_TinyLM_cached_logits_equal_full_sequence_logits():
    # Prefill 5 tokens, then 4 single tokens at positions 5..8: RoPE must continue from cache.length.
    mine, theirs = lm_pair(*CONFIG, seed=5, max_len=MAX_LEN)
    x = tokens(3, 9, seed=6)
    cache = impl.KVCache()
    with torch.no_grad():
        got = stepwise(lambda part, start: mine(part, cache), x, [5, 6, 7, 8])
        expected = theirs(x)

    def run_wrong(model):
        c = ref.KVCache()
        return stepwise(lambda part, start: model(part, c), x, [5, 6, 7, 8])

    assert_close(got, expected, what="logits of the prefill and the 4 cached steps", **CACHE_TOL,
                 against="one pass over all 9 tokens without a cache",
                 suspects=lm_suspects(theirs, CONFIG, dict(max_len=MAX_LEN), run_wrong),
                 hint="read start = cache.length once, before the first layer; slice cos[start:start + seq]; "
                      "each layer i uses cached_attention(..., cache, i)")


@exercise("TinyLM")
def test_TinyLM_cached_chunks_of_several_tokens_equal_full_sequence_logits():
    # Prefill 3, a chunk of 3 at positions 3..5, one token at 6, a chunk of 2 at 7..8: a chunk after
    # the prefill needs as many RoPE rows as it has tokens, not one.
    mine, theirs = lm_pair(*CONFIG, seed=9, max_len=MAX_LEN)
    x = tokens(2, 9, seed=10)
    cache = impl.KVCache()
    with torch.no_grad():
        got = stepwise(lambda part, start: mine(part, cache), x, [3, 6, 7])
        expected = theirs(x)

    def run_wrong(model):
        c = ref.KVCache()
        return stepwise(lambda part, start: model(part, c), x, [3, 6, 7])

    assert_close(got, expected, what="logits of the chunks [0:3], [3:6], [6:7], [7:9] through one cache",
                 **CACHE_TOL, against="one pass over all 9 tokens without a cache",
                 suspects=lm_suspects(theirs, CONFIG, dict(max_len=MAX_LEN), run_wrong),
                 hint="slice cos[start:start + seq] and sin[start:start + seq]: seq is the chunk's length, "
                      "which is not always 1")


@exercise("TinyLM")
def test_TinyLM_greedy_generate_with_cache_equals_without_and_the_reference():
    # float64 so that no near-tie between two logits can flip a greedy choice.
    mine, theirs = lm_pair(*CONFIG, seed=7, dtype=torch.float64, max_len=MAX_LEN)
    prompt = tokens(3, 5, seed=8)
    with torch.no_grad():
        expected = theirs.generate(prompt, 14, temperature=0.0)
    cached = mine.generate(prompt, 14, temperature=0.0)
    assert_equal(cached, expected, what="greedy generate with the cache (14 new tokens)",
                 hint="prefill the prompt once, then feed only the newest token; every token must be cached once")
    plain = mine.generate(prompt, 14, temperature=0.0, use_cache=False)
    assert_equal(plain, expected, what="greedy generate without the cache (use_cache=False)")


@exercise("TinyLM")
def test_TinyLM_generate_refuses_to_go_past_max_len():
    model = impl.TinyLM(*CONFIG, max_len=12)
    prompt = tokens(2, 5, seed=9)
    out = model.generate(prompt, 7, temperature=0.0)  # exactly 12 positions: allowed
    assert_equal(tuple(out.shape), (2, 12), what="shape of generate(5 tokens, 7 new) with max_len=12")
    try:
        model.generate(prompt, 8, temperature=0.0)
    except ValueError:
        return
    fail("generate(5 tokens, 8 new) with max_len=12 did not raise ValueError",
         "check seq + max_new_tokens > max_len before generating: the RoPE tables have max_len rows")


def soft_model(seed, config=CONFIG):
    """Your TinyLM with the reference's weights and the tied embedding scaled by 0.3: the next-token
    distributions are spread out (with std 1, one token takes nearly all the mass), so sampling varies."""
    mine, _ = lm_pair(*config, seed=seed, max_len=MAX_LEN)
    with torch.no_grad():
        mine.embed.weight.mul_(0.3)
    return mine


@exercise("TinyLM")
def test_TinyLM_generate_with_a_seeded_generator_is_reproducible():
    # 3 prompts, 6 sampled tokens each at temperature 1: two generators seeded alike give the same 18
    # tokens; seeds 1 and 2 agree on all 18 with probability below 1e-12.
    model = soft_model(seed=11)
    prompt = tokens(3, 4, seed=12)
    a = model.generate(prompt, 6, temperature=1.0, generator=seeded(1))
    b = model.generate(prompt, 6, temperature=1.0, generator=seeded(1))
    assert_equal(b, a, what="a second generate(..., temperature=1.0) with a generator seeded the same way",
                 hint="pass generator on to sample_next_token at every step")
    c = model.generate(prompt, 6, temperature=1.0, generator=seeded(2))
    if torch.equal(a, c):
        fail("generate with generators seeded 1 and 2 gave the same 18 sampled tokens: the tokens are not "
             "drawn at random (is the temperature passed on, and is the generator used for the draws?)")


@exercise("TinyLM")
def test_TinyLM_generate_samples_from_softmax_of_logits_over_temperature():
    # One prompt token repeated in 20000 rows, one new token at temperature 2: its frequencies must
    # be softmax(last logits / 2). Applying the temperature twice gives / 4; ignoring it gives / 1.
    # One layer with 2 heads sharing 1 KV head keeps 20000 rows fast.
    model = soft_model(seed=13, config=(VOCAB, DIM, 1, 2, 1))
    prompt = tokens(1, 1, seed=14)
    with torch.no_grad():
        probs = torch.softmax(model(prompt)[0, -1].double() / 2.0, -1)
    out = model.generate(prompt.expand(N_DRAWS, -1), 1, temperature=2.0, generator=seeded(15))
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (N_DRAWS, 2):
        fail(f"generate(a (20000, 1) prompt, 1 new token) returned "
             f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}, expected (20000, 2)")
    assert_frequencies(out[:, -1], probs, "new tokens of generate(..., temperature=2.0)")


@exercise("TinyLM")
def test_TinyLM_forward_refuses_more_than_max_len_positions():
    # The RoPE tables have max_len rows: a longer input (or one that runs past them after a cache)
    # must raise ValueError, not be cropped to what fits.
    model = impl.TinyLM(*CONFIG, max_len=12)
    x = tokens(2, 13, seed=16)
    with torch.no_grad():
        full = model(x[:, :12])
        assert_equal(tuple(full.shape), (2, 12, VOCAB), what="logits shape of exactly max_len=12 tokens")
        for what, run in (("forward of 13 tokens", lambda: model(x)),
                          ("forward of 5 tokens after a cache of 8", lambda: model(x[:, 8:], cached(model, x[:, :8])))):
            try:
                out = run()
            except ValueError:
                continue
            except (RuntimeError, IndexError):  # a shape error from the RoPE tables also refuses
                continue
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            fail(f"{what} with max_len=12 returned {shape} instead of raising ValueError",
                 "check start + seq > max_len in forward and raise ValueError: never crop the input")


def cached(model, prefix):
    """A KVCache that already holds prefix."""
    cache = impl.KVCache()
    model(prefix, cache)
    return cache
