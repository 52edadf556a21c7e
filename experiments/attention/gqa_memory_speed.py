"""GQA and MQA: fewer key/value heads, a smaller KV cache, and here little loss of quality

With n_heads query heads and n_kv_heads key/value heads, k_proj and v_proj shrink from dim x dim
to dim x (n_kv_heads * head_dim), and so does what a generating model must keep for every past
token: its keys and values in every layer, the KV cache. Per token that is
    2 (K and V) x n_layers x n_kv_heads x head_dim x bytes per number,
so halving the KV heads halves the cache, which is what limits batch size and context length when
serving. Here: the parameter count and KV-cache bytes per token read off the modules themselves
(the trained size, and a Llama-3-8B-like size built on the meta device so it costs no memory), the
measured forward time of one attention layer, and the accuracy each variant reaches on the
two-lookup task (token 1 back and token 4 back as an ordered pair).

The forward pass at training time speeds up only a little (two of the four projections shrink,
and repeat_kv copies the shared heads back out); the big win is memory, and the bandwidth saved
when generation reads the whole cache for every new token. Attention: the implementation under study."""
import time

import torch

from kata.lab.models import Parts, TinyDecoder
from kata.lab.tasks import accuracy
from kata.lab.train import train

from kata.lab.tasks import TwoLookups

BYTES_BF16 = 2


def kv_bytes_per_token(attn, n_layers: int, bytes_per_number: int = BYTES_BF16) -> int:
    """Keys and values one token leaves behind in the cache, from the module's own projections."""
    return (attn.k_proj.out_features + attn.v_proj.out_features) * n_layers * bytes_per_number


def forward_times(P, dim, n_heads, kv_list, batch, seq, reps):
    """Best-of-`reps` forward time (ms) of one attention layer per n_kv_heads, measured in turns so
    that a busy machine slows every variant alike."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, seq, dim, generator=gen)
    torch.manual_seed(0)
    layers = {kv: P.MultiHeadAttention(dim, n_heads, kv).eval() for kv in kv_list}
    best = {kv: float("inf") for kv in kv_list}
    with torch.no_grad():
        for layer in layers.values():
            layer(x)  # warm-up
        for _ in range(reps):
            for kv, layer in layers.items():
                start = time.perf_counter()
                layer(x)
                best[kv] = min(best[kv], time.perf_counter() - start)
    return {kv: 1e3 * t for kv, t in best.items()}


def run(ctx):
    import matplotlib.pyplot as plt

    parts = Parts(ctx.impl_name, only=("attention",))
    P = parts("attention")
    n_heads, dim = 8, 64
    kv_all = [8, 4, 2, 1]

    # ---------------------------------------------------------------- sizes, read off the modules
    head_dim = dim // n_heads
    params, cache = {}, {}
    for kv in kv_all:
        attn = P.MultiHeadAttention(dim, n_heads, kv)
        params[kv] = sum(p.numel() for p in attn.parameters())
        cache[kv] = kv_bytes_per_token(attn, n_layers=1)
    expected = {kv: 2 * dim * dim + 2 * dim * kv * head_dim for kv in kv_all}
    ctx.log(f"one attention layer, dim {dim}, {n_heads} query heads of {head_dim}:")
    for kv in kv_all:
        ctx.log(f"  n_kv_heads {kv}: {params[kv]:6d} parameters, KV cache {cache[kv]:4d} bytes per token (bf16)")
    ctx.claim(params == expected,
              "attention parameters are 2 dim^2 (q_proj, o_proj) + 2 dim n_kv_heads head_dim (k_proj, v_proj)",
              ", ".join(f"{kv}: {params[kv]}" for kv in kv_all))

    big = dict(dim=4096, n_heads=32, n_layers=32)
    big_kv = [32, 8, 1]
    big_cache = {}
    with torch.device("meta"):  # shapes only: no memory is allocated
        for kv in big_kv:
            big_cache[kv] = kv_bytes_per_token(P.MultiHeadAttention(big["dim"], big["n_heads"], kv), big["n_layers"])
    ctx.log("a Llama-3-8B-like model (dim 4096, 32 layers, 32 query heads of 128), bf16 cache:")
    for kv in big_kv:
        ctx.log(f"  n_kv_heads {kv:2d}: {big_cache[kv] / 1024:5.0f} KiB per token, "
                f"{big_cache[kv] * 8192 / 2 ** 30:5.2f} GiB for an 8192-token context")
    ctx.claim(all(cache[kv] * n_heads == cache[n_heads] * kv for kv in kv_all)
              and big_cache[32] == 512 * 1024 and big_cache[8] == 128 * 1024,
              "the KV cache per token is proportional to n_kv_heads: MQA keeps 1/n_heads of it; at 8B size, "
              "GQA with 8 KV heads needs 128 KiB per token instead of 512 KiB",
              f"8B-like: {big_cache[32] // 1024} / {big_cache[8] // 1024} / {big_cache[1] // 1024} KiB "
              f"for 32 / 8 / 1 KV heads")

    # ---------------------------------------------------------------- forward time
    # Projections dominate at this size (attention's own cost, the same for every variant, grows
    # with seq_len); a few ms per call, so the best of many calls is a stable number.
    t_dim, t_seq, t_batch, reps = 256, 128, 2, ctx.pick(21, 11)
    times = forward_times(P, t_dim, n_heads, kv_all, t_batch, t_seq, reps)
    ctx.log(f"forward time of one layer (dim {t_dim}, {t_batch} x {t_seq} tokens, best of {reps}): "
            + ", ".join(f"{kv} KV heads {times[kv]:.2f} ms" for kv in kv_all))
    worst = max(times[kv] / times[n_heads] for kv in kv_all)
    if ctx.quick:
        # Wall-clock claims are not asserted in quick mode (CI, a busy laptop): timings are noise there.
        ctx.log(f"(timing claim checked in the full run only; here MQA / MHA = {times[1] / times[n_heads]:.2f})")
    else:
        ctx.claim(times[1] < times[n_heads] and worst <= 1.15,
                  "fewer KV heads make the forward pass a little faster, never slower (k_proj and v_proj "
                  "shrink; repeat_kv's copy costs less than they save); at training time the gain is modest: "
                  "the big saving is the cache",
                  f"MQA / MHA = {times[1] / times[n_heads]:.2f}; slowest variant / MHA = {worst:.2f}")

    # ---------------------------------------------------------------- quality
    task = TwoLookups(lag_a=1, lag_b=4, length=16, n_symbols=5)
    kv_trained = ctx.pick(kv_all, [8, 1])
    steps = ctx.pick(200, 100)
    acc = {}
    for kv in kv_trained:
        torch.manual_seed(0)
        model = TinyDecoder(task.vocab, dim=dim, n_layers=1, n_heads=n_heads, n_kv_heads=kv,
                            max_len=task.length, parts=parts)
        train(model, task, steps, 3e-3, seed=0)
        model.eval()
        acc[kv] = accuracy(model, task, n_batches=2)
        ctx.log(f"n_kv_heads {kv}: accuracy {acc[kv]:.3f} after {steps} steps")
    ctx.claim(min(acc.values()) > 0.9 and acc[n_heads] - acc[1] < 0.1,
              "on this task sharing keys and values costs little quality: every variant learns it, MQA within "
              "a few points of full MHA",
              ", ".join(f"{kv} KV heads {a:.3f}" for kv, a in acc.items()))

    # ---------------------------------------------------------------- plot
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.8))
    labels = [f"{kv}" for kv in kv_all]
    colors = ["tab:blue", "tab:cyan", "tab:olive", "tab:orange"]
    axes[0].bar(labels, [params[kv] for kv in kv_all], color=colors)
    axes[0].set_title(f"Attention parameters (dim {dim})", fontsize=10)
    axes[1].bar(labels, [cache[kv] for kv in kv_all], color=colors)
    for i, kv in enumerate(kv_all):
        axes[1].text(i, cache[kv], f"{cache[kv]} B", ha="center", va="bottom", fontsize=8)
    axes[1].set_title(f"KV cache per token per layer (dim {dim}, bf16)", fontsize=10)
    axes[1].set_ylabel("bytes per token")
    axes[1].text(0.97, 0.95, "8B-like model, 32 layers:\n" + "\n".join(
        f"{kv:2d} KV heads: {big_cache[kv] // 1024:3d} KiB/token" for kv in big_kv),
        transform=axes[1].transAxes, ha="right", va="top", fontsize=8, family="monospace",
        bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    axes[2].bar(labels, [times[kv] for kv in kv_all], color=colors)
    axes[2].set_title(f"Forward time, one layer (dim {t_dim}, {t_batch}x{t_seq})", fontsize=10)
    axes[2].set_ylabel("ms (best of runs)")
    axes[3].bar([str(kv) for kv in kv_trained], [acc[kv] for kv in kv_trained],
                color=[colors[kv_all.index(kv)] for kv in kv_trained])
    for i, kv in enumerate(kv_trained):
        axes[3].text(i, acc[kv], f"{acc[kv]:.3f}", ha="center", va="bottom", fontsize=8)
    axes[3].set_ylim(0, 1.1)
    axes[3].set_title(f"Accuracy on two lookups ({steps} steps)", fontsize=10)
    for ax in axes:
        ax.set_xlabel("n_kv_heads")
    fig.suptitle(f"{n_heads} query heads sharing n_kv_heads key/value heads "
                 "(8 = MHA, 4 and 2 = GQA, 1 = MQA; 8B-like: 32 query heads)", fontsize=10)
    ctx.save(fig, "gqa_memory_speed.png")
