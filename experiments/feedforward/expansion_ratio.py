"""Expansion ratio: a wider FFN remembers more of a random lookup table

The task is a table of random facts (experiments/feedforward/_tools.py, PairTable): the input is
two tokens a b, the answer a random value table[a, b]. Nothing can be computed; everything must be
remembered. One block (attention brings a next to b, then the FFN) is trained four times with the
FFN's hidden width at 1x, 2x, 4x and 8x the model width, everything else equal: same seed, same
batches, same number of steps. The FFN is the classic two-matrix one, down_proj(gelu(up_proj(x))),
from the implementation under study (IMPL, default reference); the rest comes from the reference.

What to look for: each doubling of the hidden width lowers the loss reached in the same number of
steps. The FFN's hidden units act as slots of a key-value memory (up_proj rows are keys matched
against the token, down_proj columns the values written back); more slots, more facts."""
import math

import torch

from kata.lab.models import Parts, TinyDecoder
from kata.lab.train import smooth, tail_mean, train

from ._tools import PairTable, n_params

RATIOS = [1, 2, 4, 8]
COLORS = ["tab:gray", "tab:blue", "tab:green", "tab:red"]
SEED = 0


def run(ctx):
    import matplotlib.pyplot as plt

    dim, lr = 32, 1e-2
    n, steps = ctx.pick((48, 500), (28, 120))
    task = PairTable(n=n, batch_size=128, table_seed=SEED)
    parts = Parts(ctx.impl_name, only=("feedforward",))
    ctx.log(f"task: {n} x {n} = {n * n} random facts (a b -> table[a, b], {n} possible values; "
            f"chance loss ln {n} = {math.log(n):.2f}); 1 block of width {dim}; {steps} steps of 128 keys")

    results = {}
    for r in RATIOS:
        torch.manual_seed(SEED)
        model = TinyDecoder(task.vocab, dim=dim, n_layers=1, n_heads=4, max_len=task.seq_len, parts=parts,
                            ffn="gelu", hidden_mult=r)
        ffn_params = n_params(model.blocks[0].ffn)
        hist = train(model, task, steps, lr, seed=SEED)
        results[r] = dict(loss=hist["loss"], final=tail_mean(hist["loss"], 20), params=n_params(model),
                          ffn_params=ffn_params)
        ctx.log(f"{r}x: hidden {r * dim:4d}, FFN {ffn_params:6d} of {n_params(model):6d} parameters, "
                f"final loss {results[r]['final']:.3f}")

    finals = [results[r]["final"] for r in RATIOS]
    ctx.claim(all(a > b for a, b in zip(finals, finals[1:])),
              "every doubling of the FFN's width lowers the loss reached in the same number of steps",
              " > ".join(f"{r}x {f:.3f}" for r, f in zip(RATIOS, finals)))
    ctx.claim(finals[-1] < 0.8 * finals[0],
              "8x ends at least 20% below 1x: more hidden units, more facts stored in the FFN's weights",
              f"8x {finals[-1]:.3f} vs 1x {finals[0]:.3f} ({finals[-1] / finals[0]:.0%})")

    # ---------------------------------------------------------------- plots
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for r, color in zip(RATIOS, COLORS):
        loss = results[r]["loss"]
        ax1.plot(range(1, len(loss) + 1), smooth(loss, 20), color=color, label=f"hidden = {r} x dim")
    ax1.axhline(math.log(n), color="black", ls=":", lw=1, label=f"chance: ln {n}")
    ax1.set_xlabel("training step")
    ax1.set_ylabel("training loss (smoothed over 20 steps)")
    ax1.set_title(f"Remembering {n * n} random facts")
    ax1.legend(fontsize=8)
    ax1.grid(True, alpha=0.3)

    params = [results[r]["params"] for r in RATIOS]
    ax2.plot(params, finals, "o-", color="black")
    for r, p, f, color in zip(RATIOS, params, finals, COLORS):
        ax2.plot([p], [f], "o", color=color, ms=9)
        ax2.annotate(f"{r}x: FFN {results[r]['ffn_params']:,}", (p, f), textcoords="offset points",
                     xytext=(6, 6), fontsize=8)
    ax2.set_xticks(params, [f"{p / 1000:.1f}k" for p in params])
    ax2.set_xlabel("parameters in the whole model")
    ax2.set_ylabel("final loss (mean of the last 20 steps)")
    ax2.set_title("Final loss vs parameters")
    ax2.set_xlim(params[0] - 0.1 * (params[-1] - params[0]), params[-1] + 0.25 * (params[-1] - params[0]))
    ax2.grid(True, alpha=0.3)
    ctx.save(fig, "expansion_ratio.png")
