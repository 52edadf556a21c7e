"""One head or several, at the same parameter count: a task that needs two lookups at once

Each position must output the ordered pair (token 1 back, token 4 back): two different places
read at the same time. A single head has one softmax per query: it can look at one of the two, or
split its weight between them and return a blend of two value vectors in which which-came-from-where
is blurred. Several heads split the same width into independent subspaces, each with its own
softmax, so one head can fetch the previous token while another fetches the one four back.

The number of parameters does not change with the number of heads (q_proj, k_proj, v_proj and
o_proj stay dim x dim; only how their outputs are cut up differs), so the comparison is fair.
One layer, RoPE positions; the attention is the implementation under study (IMPL)."""
import torch

from kata.lab.models import Parts, TinyDecoder
from kata.lab.tasks import accuracy
from kata.lab.train import train

from kata.lab.tasks import TwoLookups


def run(ctx):
    import matplotlib.pyplot as plt

    parts = Parts(ctx.impl_name, only=("attention",))
    task = TwoLookups(lag_a=1, lag_b=4, length=16, n_symbols=5)
    heads = ctx.pick([1, 2, 4], [1, 4])
    steps, every = ctx.pick((400, 25), (150, 50))
    dim = 32
    curves, params = {}, {}
    for h in heads:
        torch.manual_seed(0)
        model = TinyDecoder(task.vocab, dim=dim, n_layers=1, n_heads=h, max_len=task.length, parts=parts)
        params[h] = sum(p.numel() for p in model.parameters())
        hist = train(model, task, steps, 3e-3, seed=0, eval_every=every,
                     evaluate=lambda m: accuracy(m, task, n_batches=1))
        curves[h] = hist["eval"]
        ctx.log(f"{h} head{'s' if h > 1 else ' '} (head_dim {dim // h:2d}), {params[h]} parameters: accuracy "
                + " ".join(f"{a:.2f}" for _, a in hist["eval"][1::2]))
    final = {h: curves[h][-1][1] for h in heads}
    chance_one = 1 / task.n_symbols  # knowing one of the two tokens only

    ctx.claim(len(set(params.values())) == 1, "the models have exactly the same number of parameters",
              f"{params[heads[0]]} each")
    many = max(heads)
    ctx.claim(final[many] > 0.9, f"with {many} heads the model learns both lookups (accuracy > 90%)",
              f"{final[many]:.3f} after {steps} steps")
    ctx.claim(final[1] < 0.75 and final[many] - final[1] > 0.25,
              "a single head of the same size stays far behind: one softmax cannot fetch two tokens cleanly",
              f"1 head {final[1]:.3f} vs {many} heads {final[many]:.3f} (getting one token of the pair right "
              f"and guessing the other would give {chance_one:.2f})")

    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = {1: "tab:red", 2: "tab:orange", 4: "tab:blue"}
    for h in heads:
        xs, ys = zip(*curves[h])
        ax.plot(xs, ys, "o-", ms=3, color=colors.get(h), label=f"{h} head{'s' if h > 1 else ''} × {dim // h} dims")
    ax.axhline(chance_one, color="k", ls=":", lw=1)
    ax.text(steps, chance_one + 0.01, "one of the two tokens right", fontsize=8, ha="right", va="bottom")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("training step")
    ax.set_ylabel("accuracy on the ordered pair")
    ax.set_title(f"Output (x[t-1], x[t-4]): {params[heads[0]]} parameters in every model", fontsize=10)
    ax.legend(fontsize=9, loc="lower right")
    ctx.save(fig, "heads_single_vs_multi.png")
