"""Residuals: a deep stack trains with the residual stream and not without it

Two decoders of the same depth and width learn to predict the token two places back
(kata.lab.tasks.LookBack), changing one thing:

    with residuals      h = x + attn(attn_norm(x)); out = h + ffn(ffn_norm(h))    your TransformerBlock
    without residuals   h = attn(attn_norm(x));     out = ffn(ffn_norm(h))        the same, minus "x +"

Same seed, same batches, AdamW with gradient clipping at 1. For each block we record the norm of
the gradient of its parameters at every step. The blocks with residuals are the contract's
TransformerBlock from the implementation under study (IMPL, default reference).

What to look for: with residuals, the loss falls and every block gets a gradient of the same size:
the identity path x + ... carries the gradient from the loss to every depth unchanged. Without
them, the gradient reaching a block has been multiplied by the Jacobian of every block above it.
At step 1 it grows tenfold and more on its way down (each RMSNorm divides by the small scale of
the sublayer output it receives); a few updates later it has swung the other way and the lowest
blocks receive almost nothing. Either way the blocks learn at wildly different rates, and the
stack never leaves the chance loss."""
import math

from kata.lab.tasks import LookBack
from kata.lab.train import smooth, tail_mean

from ._tools import decoder, mean_grads, train_recording

KINDS = [("pre-ln", "with residuals", "tab:green"), ("no-residual", "without residuals", "tab:red")]
SEED = 0
WINDOW = (11, 30)  # training steps over which the gradient norms are averaged too: learning is under way


def run(ctx):
    import matplotlib.pyplot as plt
    import torch

    n_layers, steps = ctx.pick((12, 150), (8, 30))
    lr = 1e-2
    task = LookBack(k=2, length=16, n_symbols=16, batch_size=32)
    chance = math.log(task.n_symbols)
    ctx.log(f"task: predict the token 2 back, {task.n_symbols} symbols (chance loss ln 16 = {chance:.2f}); "
            f"{n_layers} blocks of width 32; AdamW lr {lr:g}, clip 1, {steps} steps")

    results = {}
    for kind, label, _ in KINDS:
        torch.manual_seed(SEED)
        model = decoder(ctx, task.vocab, task.seq_len, n_layers, kind)
        hist = train_recording(model, task, steps, lr, seed=SEED, clip=1.0)
        init, later = hist["grads"][0], mean_grads(hist["grads"], start=WINDOW[0] - 1, stop=WINDOW[1])
        results[kind] = dict(loss=hist["loss"], final=tail_mean(hist["loss"], 10), init=init, later=later)
        ctx.log(f"{label:18s} final loss {results[kind]['final']:.3f}; gradient norm per block at step 1: "
                f"first {init[0]:.3g}, last {init[-1]:.3g} (first / last = {init[0] / init[-1]:.3g})")

    res, nores = results["pre-ln"], results["no-residual"]
    spread = lambda g: max(g) / min(g)  # noqa: E731
    ctx.claim(res["final"] < 0.5 * chance and nores["final"] > 0.9 * chance,
              f"with residuals the {n_layers}-block stack learns; without them it stays at the chance loss",
              f"with {res['final']:.3f}, without {nores['final']:.3f} (chance {chance:.2f})")
    ctx.claim(spread(res["init"]) < 2.0,
              "with residuals every block starts with a gradient of the same size (within 2x)",
              f"largest / smallest block gradient {spread(res['init']):.2f}")
    ctx.claim(spread(nores["init"]) > 5.0,
              "without them the gradient changes by more than 5x between the first and the last block",
              f"largest / smallest block gradient {spread(nores['init']):.1f}; first block "
              f"{nores['init'][0]:.3g}, last {nores['init'][-1]:.3g}")

    low, top = nores["later"][0], nores["later"][-1]
    ctx.claim(low < 0.05 * top,
              f"once training is under way (steps {WINDOW[0]}-{WINDOW[1]}), the lowest block without residuals "
              f"gets less than 5% of the top block's gradient",
              f"first block {low:.2g}, last {top:.2g}; with residuals {res['later'][0]:.2g} and {res['later'][-1]:.2g}")

    # ---------------------------------------------------------------- plots
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.4))
    blocks = range(1, n_layers + 1)
    for kind, label, color in KINDS:
        ax1.plot(blocks, results[kind]["init"], "o-", color=color, label=f"{label}, step 1")
        ax1.plot(blocks, results[kind]["later"], "o--", color=color, alpha=0.5,
                 label=f"{label}, mean over steps {WINDOW[0]}-{WINDOW[1]}")
    ax1.set_yscale("log")
    ax1.set_xlabel("block (1 = next to the embedding)")
    ax1.set_ylabel("gradient norm of the block's parameters")
    ax1.set_title("Gradient reaching each block")
    ax1.legend(fontsize=8)
    ax1.grid(True, alpha=0.3, which="both")
    for kind, label, color in KINDS:
        loss = results[kind]["loss"]
        ax2.plot(range(1, len(loss) + 1), smooth(loss, 5), color=color, label=label)
    ax2.axhline(chance, color="black", ls=":", lw=1, label="chance: ln 16")
    ax2.set_xlabel("training step")
    ax2.set_ylabel("training loss (smoothed over 5 steps)")
    ax2.set_title(f"{n_layers} blocks, look back 2")
    ax2.legend(fontsize=8)
    ax2.grid(True, alpha=0.3)
    ctx.save(fig, "residuals.png")
