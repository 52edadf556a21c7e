"""The KV cache: the same tokens, linear instead of quadratic work, and memory set by the KV heads

Without a cache, generating token t reruns the model over all t tokens before it, so N new tokens
cost about N^2 / 2 token-passes; with a cache each step runs one token and reads the stored keys
and values, so the cost is about N. The tokens are identical (greedy decoding, the same weights).
Here: the token-positions the model actually processes (counted at the embedding), the wall time
of generate with and without the cache for growing lengths, and the cache's size after
generation for 4, 2 and 1 KV heads (grouped-query attention shrinks it in proportion).
Capstone: the implementation under study."""
import time

import torch


def run(ctx):
    import matplotlib.pyplot as plt

    P = ctx.impl("capstone")
    vocab, dim, layers, heads = 77, 64, 2, 4
    lengths = ctx.pick([32, 64, 128, 224], [32, 128])
    prompt_len = 8
    torch.manual_seed(0)
    model = P.TinyLM(vocab, dim, layers, heads, 2, max_len=prompt_len + max(lengths)).eval()
    prompt = torch.randint(0, vocab, (1, prompt_len), generator=torch.Generator().manual_seed(1))

    seen = []  # token-positions processed per forward pass
    hook = model.embed.register_forward_hook(lambda m, i, o: seen.append(i[0].numel()))
    n = max(lengths)
    a = model.generate(prompt, n, temperature=0.0, use_cache=True)
    with_cache = sum(seen)
    seen.clear()
    b = model.generate(prompt, n, temperature=0.0, use_cache=False)
    without = sum(seen)
    hook.remove()
    ctx.log(f"{n} new tokens: {with_cache} token-positions processed with the cache, {without} without")
    ctx.claim(torch.equal(a, b), "greedy generation gives exactly the same tokens with and without the cache")
    ctx.claim(without > n / 4 * with_cache, "without the cache the model processes quadratically more positions "
              f"(more than N/4 = {n / 4:g} times as many)", f"{without / with_cache:.1f}x")

    times = {True: [], False: []}
    for length in lengths:
        for use_cache in (True, False):
            best = float("inf")
            for _ in range(3):  # best of a few: a busy machine slows every run alike
                start = time.perf_counter()
                model.generate(prompt, length, temperature=0.0, use_cache=use_cache)
                best = min(best, time.perf_counter() - start)
            times[use_cache].append(best)
        ctx.log(f"{length:4d} new tokens: {length / times[True][-1]:7.0f} tok/s with the cache, "
                f"{length / times[False][-1]:7.0f} tok/s without")
    speedup = times[False][-1] / times[True][-1]
    ctx.claim(speedup > ctx.pick(1.5, 1.2), f"at {lengths[-1]} new tokens the cache makes generation faster",
              f"{speedup:.1f}x")

    kv_bytes = {}
    for kv in (4, 2, 1):
        torch.manual_seed(0)
        m = P.TinyLM(vocab, dim, layers, heads, kv, max_len=prompt_len + lengths[0]).eval()
        last = {}

        class Counting(P.KVCache):
            def update(self, layer, k, v):
                k_all, v_all = super().update(layer, k, v)
                last[layer] = (k_all.numel() + v_all.numel()) * k_all.element_size()
                return k_all, v_all

        with torch.no_grad():
            cache = Counting()
            m(prompt, cache)
        kv_bytes[kv] = sum(last.values())
        ctx.log(f"{kv} KV heads: {kv_bytes[kv]} bytes cached for {prompt_len} tokens")
    ctx.claim(kv_bytes[4] == 2 * kv_bytes[2] == 4 * kv_bytes[1],
              "the cache's size is proportional to the number of KV heads (GQA halves it, MQA quarters it here)",
              f"{kv_bytes}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(lengths, [l / t for l, t in zip(lengths, times[True])], "o-", label="with the cache")
    ax1.plot(lengths, [l / t for l, t in zip(lengths, times[False])], "o-", label="without")
    ax1.set(xlabel="new tokens", ylabel="tokens per second", title="Generation speed")
    ax1.legend()
    ax2.bar([str(k) for k in kv_bytes], list(kv_bytes.values()))
    ax2.set(xlabel="KV heads (4 query heads)", ylabel="bytes", title=f"KV cache for {prompt_len} tokens")
    ctx.save(fig, "kv_cache_speed.png")
