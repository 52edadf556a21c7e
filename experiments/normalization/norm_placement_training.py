"""Where the norm goes: no norm, Post-LN and Pre-LN trained side by side without warm-up

One small decoder (6 blocks of attention + SwiGLU, width 32) learns to reverse a sequence of 5
symbols (kata.lab.tasks.Reverse), four times, changing only the normalization:

    no norm               x + sublayer(x)
    Post-LN (LayerNorm)   layer_norm(x + sublayer(x))        the original Transformer
    Pre-LN  (LayerNorm)   x + sublayer(layer_norm(x))        GPT-2
    Pre-LN  (RMSNorm)     x + sublayer(rms_norm(x))          Llama

Same initial weights (seeded), same batches, AdamW at a fixed learning rate from the first step
(no warm-up), gradient clipping at 1. The norms and residual steps come from the implementation
under study (IMPL, default reference); attention and the FFN from the reference."""
import math

import torch

from kata.lab.models import Parts, TinyDecoder
from kata.lab.tasks import Reverse, accuracy
from kata.lab.train import smooth, tail_mean, train

VARIANTS = [  # (label, norm, placement, colour)
    ("no norm", None, "pre", "tab:gray"),
    ("Post-LN (LayerNorm)", "layer", "post", "tab:red"),
    ("Pre-LN (LayerNorm)", "layer", "pre", "tab:blue"),
    ("Pre-LN (RMSNorm)", "rms", "pre", "tab:green"),
]
SEED = 0


def run(ctx):
    # A model this small is limited by per-operation overhead, not arithmetic: one thread is as fast
    # as two on an idle machine and many times faster when another process competes for the cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _run(ctx)
    finally:
        torch.set_num_threads(threads)


def _run(ctx):
    import matplotlib.pyplot as plt

    n_layers, dim, n, lr = 6, 32, 5, 2e-2
    steps = ctx.pick(200, 120)
    task = Reverse(batch_size=32, n=n, n_symbols=10)
    chance = math.log(task.n_symbols)  # loss of guessing uniformly among the symbols
    parts = Parts(ctx.impl_name, only=("normalization",))
    ctx.log(f"task: reverse {n} symbols out of {task.n_symbols}; {n_layers} blocks of width {dim}; "
            f"AdamW lr {lr:g}, no warm-up, {steps} steps; chance loss ln({task.n_symbols}) = {chance:.3f}")

    # Quick mode (CI) trains only the two variants its headline claims compare, to stay in seconds.
    variants = [v for v in VARIANTS if not ctx.quick or v[0] in ("Post-LN (LayerNorm)", "Pre-LN (RMSNorm)")]
    results = {}
    for label, norm, placement, _ in variants:
        torch.manual_seed(SEED)  # the same initial weights for every variant
        model = TinyDecoder(task.vocab, dim=dim, n_layers=n_layers, n_heads=4, max_len=task.seq_len,
                            parts=parts, norm=norm, placement=placement)
        hist = train(model, task, steps, lr, seed=SEED)
        final = math.inf if hist["diverged"] else tail_mean(hist["loss"], 20)
        acc = accuracy(model, task, n_batches=2) if not hist["diverged"] else float("nan")
        results[label] = dict(hist=hist, final=final, acc=acc)
        status = f"diverged at step {len(hist['loss']) + 1}" if hist["diverged"] else \
            f"final loss {final:.3f}, accuracy {acc:.0%}"
        ctx.log(f"{label:20s} {status}")

    post, pre_ln, pre_rms, none_ = (results[k]["final"] if k in results else None for k in
                                   ("Post-LN (LayerNorm)", "Pre-LN (LayerNorm)", "Pre-LN (RMSNorm)", "no norm"))
    fmt = lambda v: "diverged" if math.isinf(v) else f"{v:.3f}"  # noqa: E731
    ctx.claim(pre_rms < 0.5 * post, "Pre-LN (RMSNorm) ends with less than half the loss of Post-LN",
              f"{fmt(pre_rms)} vs {fmt(post)}")
    if pre_ln is not None:
        ctx.claim(pre_ln < 0.5 * post, "Pre-LN (LayerNorm) does too: the placement matters, not the kind of norm",
                  f"{fmt(pre_ln)} vs {fmt(post)}")
    low = min(smooth(results["Post-LN (LayerNorm)"]["hist"]["loss"], 10), default=math.inf)
    ctx.claim(post > 0.8 * chance,
              f"without warm-up, Post-LN ends near the chance loss ln({task.n_symbols}) = {chance:.2f}: "
              "whatever it learned early on, it did not keep",
              f"Post-LN final loss {fmt(post)}; lowest smoothed loss on the way {low:.3f}")
    if none_ is not None:
        ctx.claim(none_ > 2 * pre_rms, "with no norm at all, the same model diverges or falls far behind",
                  f"no norm {fmt(none_)} vs Pre-LN (RMSNorm) {fmt(pre_rms)}")

    # ---------------------------------------------------------------- plots
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [2, 1]})
    for label, _, _, color in variants:
        r = results[label]
        losses = r["hist"]["loss"]
        if losses:
            ax1.plot(range(1, len(losses) + 1), smooth(losses, 10), color=color, label=label)
        if r["hist"]["diverged"]:
            x = len(losses) + 1
            ax1.plot([x], [min(losses[-1], 4.0) if losses else 4.0], "x", color=color, ms=10, mew=2)
            ax1.annotate("diverged (loss not finite)", (x, 3.9), color=color, fontsize=8)
    ax1.axhline(chance, color="black", ls=":", lw=1, label=f"chance: ln({task.n_symbols}) = {chance:.2f}")
    ax1.set_ylim(0, 4.2)
    ax1.set_xlabel("training step")
    ax1.set_ylabel("training loss (smoothed over 10 steps)")
    ax1.set_title(f"Reverse {n} tokens (of {task.n_symbols} symbols), {n_layers} blocks, lr {lr:g} from step 1 (no warm-up)")
    ax1.legend(fontsize=8, loc="lower left")
    ax1.grid(True, alpha=0.3)

    labels = [v[0] for v in variants]
    finals = [results[k]["final"] for k in labels]
    bars = ax2.bar(range(len(labels)), [min(f, 4.0) for f in finals], color=[v[3] for v in variants])
    for bar, f in zip(bars, finals):
        ax2.text(bar.get_x() + bar.get_width() / 2, min(f, 4.0) + 0.05, fmt(f), ha="center", fontsize=8)
    ax2.axhline(chance, color="black", ls=":", lw=1)
    ax2.set_xticks(range(len(labels)), [lb.replace(" (", "\n(") for lb in labels], fontsize=8)
    ax2.set_ylim(0, 4.4)
    ax2.set_ylabel("final loss (mean of the last 20 steps)")
    ax2.set_title("Final loss")
    ctx.save(fig, "norm_placement_training.png")
