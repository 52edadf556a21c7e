"""Without the causal mask, next-token training is an open-book exam: perfect in training, useless in generation

The data: a random pattern of 4 tokens repeated (a b c d a b c d ...). Trained to predict each next
token, a model that reads left to right can get everything right after the first 4 tokens (copy the
token 4 back) but nothing in the first pattern, which is random: about 1 in 10 there.

A model trained without the mask sees the whole sequence at every position, including the token it
is asked to predict (the target of position t is the input at t + 1). It learns to copy it: its
training accuracy is near 100% even on the first pattern, which no honest model can predict, and
its loss falls well below the honest floor. Then it is asked to generate: given the first 4 tokens,
write the rest one token at a time. Now there is no token t + 1 to copy, and it falls apart, while
the causal model continues the pattern perfectly.

One layer, RoPE positions; the attention is the implementation under study (IMPL)."""
import math

import torch

from kata.lab.models import Parts, TinyDecoder
from kata.lab.tasks import Periodic
from kata.lab.train import smooth, train

from ._tools import generate


@torch.no_grad()
def evaluate(model, task, n=256, seed=99):
    """(teacher-forced accuracy on the first pattern, on the rest, generation accuracy), and the
    teacher-forced cross-entropy on the first pattern's targets."""
    x, y = task.sample(torch.Generator().manual_seed(seed), n)
    p = task.period
    logits = model(x)
    pred = logits.argmax(-1)
    first = float((pred[:, : p - 1] == y[:, : p - 1]).float().mean())
    rest = float((pred[:, p - 1:] == y[:, p - 1:]).float().mean())
    written = generate(model, x[:, :p], task.length)
    gen = float((written[:, p:] == x[:, p:]).float().mean())
    ce_first = float(torch.nn.functional.cross_entropy(logits[:, : p - 1].reshape(-1, task.vocab),
                                                       y[:, : p - 1].reshape(-1)))
    return (first, rest, gen), ce_first


def run(ctx):
    import matplotlib.pyplot as plt

    parts = Parts(ctx.impl_name, only=("attention",))
    task = Periodic(period=4, length=16, n_symbols=10)
    steps = ctx.pick(400, 200)
    results, losses, ce_first = {}, {}, {}
    for causal in (True, False):
        torch.manual_seed(0)
        model = TinyDecoder(task.vocab, dim=32, n_layers=1, n_heads=2, max_len=task.length, parts=parts,
                            causal=causal)
        hist = train(model, task, steps, 5e-3, seed=0)
        model.eval()
        (results[causal], ce_first[causal]), losses[causal] = evaluate(model, task), hist["loss"]
        first, rest, gen = results[causal]
        ctx.log(f"{'causal' if causal else 'no mask':8s}: final loss {sum(hist['loss'][-20:]) / 20:.3f}; "
                f"teacher-forced accuracy: first pattern {first:.2f}, rest {rest:.2f}; generating: {gen:.2f}")
    # The best any left-to-right model can do: uniform over 10 symbols on the 3 unpredictable
    # targets of the first pattern, certainty on the 12 others.
    p, n_targets = task.period, task.length
    floor = (p - 1) * math.log(task.n_symbols) / n_targets
    chance = 1 / task.n_symbols
    c_first, c_rest, c_gen = results[True]
    n_first, n_rest, n_gen = results[False]
    loss_c, loss_n = sum(losses[True][-20:]) / 20, sum(losses[False][-20:]) / 20

    ctx.claim(c_first < 0.25 and c_rest > 0.95 and c_gen > 0.95,
              "the causal model does what is possible: chance on the random first pattern, right on the rest, "
              "and it generates the continuation correctly",
              f"first {c_first:.2f} (chance {chance:.2f}), rest {c_rest:.2f}, generation {c_gen:.2f}")
    honest = math.log(task.n_symbols)  # the best cross-entropy on a uniformly random token
    ctx.claim(n_first > 0.8 and ce_first[False] < 0.5 * honest,
              "without the mask the model 'predicts' the random first pattern in training: it reads the answer "
              "from its input (no honest model can beat chance there)",
              f"first-pattern accuracy {n_first:.2f} vs chance {chance:.2f}; its loss there {ce_first[False]:.2f} "
              f"vs ln {task.n_symbols} = {honest:.2f} for any honest model (causal: {ce_first[True]:.2f}); "
              f"whole training loss {loss_n:.3f} vs causal {loss_c:.3f}")
    ctx.claim(n_gen < c_gen - 0.4,
              "asked to generate, where there is no next token to copy, the unmasked model falls apart",
              f"generation accuracy {n_gen:.2f} vs causal {c_gen:.2f}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    for causal, color in ((True, "tab:blue"), (False, "tab:red")):
        ax1.plot(smooth(losses[causal], 20), color=color, label="causal" if causal else "no mask")
    ax1.axhline(floor, color="k", ls=":", lw=1)
    ax1.text(len(losses[True]) - 1, floor * 1.05, "best honest loss", ha="right", va="bottom", fontsize=8)
    ax1.set_yscale("log")
    ax1.set_xlabel("training step")
    ax1.set_ylabel("training loss (smoothed)")
    ax1.set_title("Training loss: the unmasked one ends below the honest floor", fontsize=10)
    ax1.legend(fontsize=9)
    groups = ["training:\nfirst pattern", "training:\nrest", "generating\nafter 4 tokens"]
    w = 0.38
    for i, (causal, color) in enumerate(((True, "tab:blue"), (False, "tab:red"))):
        vals = results[causal]
        bars = ax2.bar([j + (i - 0.5) * w for j in range(3)], vals, w, color=color,
                       label="causal" if causal else "no mask")
        for b, v in zip(bars, vals):
            ax2.text(b.get_x() + b.get_width() / 2, v + 0.01, f"{v:.2f}", ha="center", fontsize=8)
    ax2.axhline(chance, color="k", ls=":", lw=1)
    ax2.set_xlim(-0.7, 2.95)
    ax2.text(2.92, chance + 0.01, "chance", fontsize=8, ha="right")
    ax2.set_xticks(range(3), groups, fontsize=9)
    ax2.set_ylim(0, 1.1)
    ax2.set_ylabel("accuracy")
    ax2.set_title("Training (teacher forcing) vs generation", fontsize=10)
    ax2.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ctx.save(fig, "causal_mask_cheating.png")
