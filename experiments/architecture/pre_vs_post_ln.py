"""Pre-LN vs Post-LN: at the same learning rate without warm-up, only Pre-LN trains a deep stack

The same look-back task (predict the token two places back, kata.lab.tasks.LookBack) is learnt by
four decoders: 2 blocks and a deep stack (12; 8 in the quick run), each with the norm in one of
the two places:

    Pre-LN    h = x + attn(norm(x));  out = h + ffn(norm(h))     your TransformerBlock (IMPL)
    Post-LN   h = norm(x + attn(x));  out = norm(h + ffn(h))     the original Transformer's order

One learning rate for all (AdamW, 3e-2), from the first step: no warm-up, no gradient clipping,
the two safety nets Post-LN was trained with. Every block's gradient norm is recorded each step.

What to look for: at 2 blocks both train. In the deep stack Pre-LN still trains, while Post-LN's
first updates knock it off course: its loss goes back up to chance and stays there, and the
gradient reaching its lower blocks collapses by orders of magnitude, because every Post-LN norm
sits on the residual path and rescales whatever passes through it, the gradient included. Pre-LN
keeps a clean identity path from the loss to every block, so all of them keep learning."""
import math

from kata.lab.tasks import LookBack
from kata.lab.train import smooth, tail_mean

from ._tools import decoder, mean_grads, train_recording

KINDS = [("pre-ln", "Pre-LN", "tab:green"), ("post-ln", "Post-LN", "tab:red")]
SEED = 0


def run(ctx):
    import matplotlib.pyplot as plt
    import torch

    deep, steps = ctx.pick((12, 80), (8, 30))
    depths, lr = [2, deep], 3e-2
    task = LookBack(k=2, length=16, n_symbols=16, batch_size=32)
    chance = math.log(task.n_symbols)
    ctx.log(f"task: predict the token 2 back, {task.n_symbols} symbols (chance loss {chance:.2f}); width 32; "
            f"AdamW lr {lr:g} from step 1, no clipping, {steps} steps")

    results = {}
    for depth in depths:
        for kind, label, _ in KINDS:
            torch.manual_seed(SEED)
            model = decoder(ctx, task.vocab, task.seq_len, depth, kind)
            hist = train_recording(model, task, steps, lr, seed=SEED, clip=None)
            final = math.inf if hist["diverged"] else tail_mean(hist["loss"], 10)
            later = mean_grads(hist["grads"], start=steps // 2)
            results[depth, kind] = dict(loss=hist["loss"], final=final, later=later, init=hist["grads"][0],
                                        peak=max(hist["loss"]))
            ctx.log(f"{depth:2d} blocks {label:8s} final loss {final:.3f} (highest on the way "
                    f"{max(hist['loss']):.2f}); gradient norm, 2nd half mean: first block {later[0]:.2g}, "
                    f"last {later[-1]:.2g}")

    r = results
    ctx.claim(all(r[2, k]["final"] < 0.5 * chance for k, _, _ in KINDS),
              "with 2 blocks both placements train",
              f"Pre-LN {r[2, 'pre-ln']['final']:.3f}, Post-LN {r[2, 'post-ln']['final']:.3f} (chance {chance:.2f})")
    ctx.claim(r[deep, "pre-ln"]["final"] < 0.5 * chance and r[deep, "post-ln"]["final"] > 0.9 * chance,
              f"with {deep} blocks only Pre-LN trains; Post-LN ends at the chance loss",
              f"Pre-LN {r[deep, 'pre-ln']['final']:.3f}, Post-LN {r[deep, 'post-ln']['final']:.3f} "
              f"(chance {chance:.2f})")
    post, pre = r[deep, "post-ln"]["later"], r[deep, "pre-ln"]["later"]
    ctx.claim(post[0] < 0.1 * post[-1],
              f"in the {deep}-block Post-LN stack the gradient reaching the first block collapses to "
              f"under a tenth of the last block's",
              f"first {post[0]:.2g} vs last {post[-1]:.2g} (mean over the second half of training)")
    ctx.claim(pre[0] > 0.3 * pre[-1],
              "in the Pre-LN stack the first block keeps at least a third of the last block's gradient",
              f"first {pre[0]:.2g} vs last {pre[-1]:.2g}")

    # ---------------------------------------------------------------- plots
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.4))
    for depth, style in zip(depths, (":", "-")):
        for kind, label, color in KINDS:
            loss = r[depth, kind]["loss"]
            ax1.plot(range(1, len(loss) + 1), smooth(loss, 5), style, color=color, label=f"{label}, {depth} blocks")
    ax1.axhline(chance, color="black", ls=":", lw=1, label=f"chance: ln 16 = {chance:.2f}")
    ax1.set_xlabel("training step")
    ax1.set_ylabel("training loss (smoothed over 5 steps)")
    ax1.set_title(f"Same lr {lr:g}, no warm-up, no clipping")
    ax1.legend(fontsize=8)
    ax1.grid(True, alpha=0.3)
    for kind, label, color in KINDS:
        g = r[deep, kind]
        ax2.plot(range(1, deep + 1), g["init"], "o--", color=color, alpha=0.5, label=f"{label}, step 1")
        ax2.plot(range(1, deep + 1), g["later"], "o-", color=color, label=f"{label}, mean over steps {steps // 2 + 1}-{steps}")
    ax2.set_yscale("log")
    ax2.set_xlabel("block (1 = next to the embedding)")
    ax2.set_ylabel("gradient norm of the block's parameters")
    ax2.set_title(f"Gradient reaching each of {deep} blocks")
    ax2.legend(fontsize=8)
    ax2.grid(True, alpha=0.3, which="both")
    ctx.save(fig, "pre_vs_post_ln.png")
