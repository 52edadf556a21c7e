"""Ablation: the FFN transforms each token, attention moves information between tokens

One small block is trained on two tasks, three times each: with both sublayers, without the FFN,
and without attention. Positions are added to the embeddings (sinusoidal), so every token knows
where it is without looking at the others.

    per-token table   the target at position t is table[token, t], a random value: needs only the
                      token itself, but a nonlinear memory (experiments/feedforward/_tools.py)
    look back         the target at position t is the token at t - 1: needs nothing but moving
                      the previous token's identity to position t (kata.lab.tasks.LookBack)

What to look for: each task suffers when one sublayer is removed, and a different one each time.
Without attention the look-back task stays at chance for good: no amount of per-token processing
can see another token. Without the FFN the per-token table is learnt far more slowly: attention
can only fake a per-token memory out of its softmax (run it ten times longer and it gets there;
the FFN needs a few dozen steps). The FFN (SwiGLU) comes from the implementation under study
(IMPL, default reference); everything else from the reference."""
import math

import torch

from kata.lab.models import Parts, TinyDecoder
from kata.lab.tasks import LookBack, accuracy
from kata.lab.train import smooth, tail_mean, train

from ._tools import TokenTable

VARIANTS = [("both", "attention + FFN", {}, "tab:green"),
            ("no_ffn", "attention only (no FFN)", {"ffn": None}, "tab:orange"),
            ("no_attn", "FFN only (no attention)", {"attention": False}, "tab:purple")]
SEED = 0


def run(ctx):
    import matplotlib.pyplot as plt

    dim, lr, n_symbols, length = 32, 1e-2, 16, 12
    steps = ctx.pick(300, 60)
    lr = ctx.pick(lr, 2e-2)
    tasks = {"per-token table": TokenTable(n_symbols=n_symbols, length=length, batch_size=32, table_seed=SEED),
             "look back": LookBack(k=1, length=length, n_symbols=n_symbols, batch_size=32)}
    parts = Parts(ctx.impl_name, only=("feedforward",))
    chance = math.log(n_symbols)
    ctx.log(f"{n_symbols} symbols, {length} positions, 1 block of width {dim}, {steps} steps at lr {lr:g}; "
            f"chance loss ln {n_symbols} = {chance:.2f}")

    results = {}
    for tname, task in tasks.items():
        for key, label, kw, _ in VARIANTS:
            torch.manual_seed(SEED)
            model = TinyDecoder(task.vocab, dim=dim, n_layers=1, n_heads=4, max_len=length, parts=parts,
                                pos="sinusoidal", **kw)
            hist = train(model, task, steps, lr, seed=SEED)
            results[tname, key] = dict(loss=hist["loss"], final=tail_mean(hist["loss"], 10),
                                       acc=accuracy(model, task, n_batches=2))
            r = results[tname, key]
            ctx.log(f"{tname:16s} {label:26s} final loss {r['final']:.3f}, accuracy {r['acc']:.0%}")

    table = {k: results["per-token table", k] for k, *_ in VARIANTS}
    look = {k: results["look back", k] for k, *_ in VARIANTS}
    ctx.claim(table["no_ffn"]["final"] > 5 * max(table["both"]["final"], table["no_attn"]["final"]),
              "the per-token table is the FFN's job: without it the loss after the same steps is over 5x "
              "higher, while without attention nothing is lost",
              f"no FFN {table['no_ffn']['final']:.3f} vs both {table['both']['final']:.3f} and "
              f"no attention {table['no_attn']['final']:.3f}")
    ctx.claim(look["no_attn"]["final"] > 0.95 * chance and look["no_attn"]["acc"] < 0.15,
              "looking back needs attention: without it the loss stays at chance, whatever the FFN does",
              f"no attention: loss {look['no_attn']['final']:.3f} (chance {chance:.2f}), "
              f"accuracy {look['no_attn']['acc']:.0%} (chance {1 / n_symbols:.0%})")
    ctx.claim(max(look["both"]["final"], look["no_ffn"]["final"]) < 0.5 * chance,
              "and attention alone is enough to look back: the FFN is not needed for it",
              f"both {look['both']['final']:.3f}, no FFN {look['no_ffn']['final']:.3f}")

    # ---------------------------------------------------------------- plots
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), gridspec_kw={"width_ratios": [2, 2, 1.4]})
    for ax, tname in zip(axes[:2], tasks):
        for key, label, _, color in VARIANTS:
            loss = results[tname, key]["loss"]
            ax.plot(range(1, len(loss) + 1), smooth(loss, 10), color=color, label=label)
        ax.axhline(chance, color="black", ls=":", lw=1, label=f"chance: ln {n_symbols}")
        ax.set_title(tname)
        ax.set_xlabel("training step")
        ax.set_ylabel("training loss (smoothed over 10 steps)")
        ax.set_ylim(0, chance * 1.15)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes[2]
    width = 0.27
    for i, (key, label, _, color) in enumerate(VARIANTS):
        finals = [results[t, key]["final"] for t in tasks]
        xs = [j + (i - 1) * width for j in range(len(tasks))]
        ax.bar(xs, finals, width, color=color, label=label)
        for x, f in zip(xs, finals):
            ax.text(x, f + 0.04, f"{f:.2f}", ha="center", fontsize=7)
    ax.axhline(chance, color="black", ls=":", lw=1)
    ax.set_xticks(range(len(tasks)), list(tasks))
    ax.set_ylabel("final loss (mean of the last 10 steps)")
    ax.set_ylim(0, chance * 1.15)
    ax.set_title("Who is needed for what")
    ctx.save(fig, "ablation.png")
