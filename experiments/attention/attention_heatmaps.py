"""What a trained attention layer looks at: heatmaps on a reversal task, causal vs not

A one-layer model learns to reverse a sequence: after [a b c d e f SEP] it must produce
[f e d c b a]. To write the i-th answer token, the query at that position has to find the source
token mirrored around SEP, so the attention map of a causal model that solved the task shows an
anti-diagonal: a lookup table written by training, read off the weights. The same model trained
without the causal mask also fits the training data, but part of its attention goes to tokens
after the query, i.e. to the very answers it is asked to predict (they are in its input during
training). A causal model cannot do that by construction: its weights above the diagonal are 0.

The attention is the implementation under study (IMPL, default reference); positions are the
reference's sinusoidal table (added to the input, so the layer can tell absolute positions apart,
which reversal needs)."""
import torch

from kata.lab.models import Parts, TinyDecoder
from kata.lab.tasks import Reverse, accuracy
from kata.lab.train import train

from ._tools import attention_maps


def run(ctx):
    import matplotlib.pyplot as plt

    parts = Parts(ctx.impl_name, only=("attention",))
    P_attn, P_pos = parts("attention"), parts("position_encoding")
    n, n_heads = 6, 4
    task = Reverse(n=n, n_symbols=8)
    steps = ctx.pick(300, 150)
    models, accs = {}, {}
    for causal in (True, False):
        torch.manual_seed(0)
        model = TinyDecoder(task.vocab, dim=32, n_layers=1, n_heads=n_heads, max_len=2 * n, parts=parts,
                            pos="sinusoidal", causal=causal)
        hist = train(model, task, steps, 3e-3, seed=0)
        model.eval()
        models[causal], accs[causal] = model, accuracy(model, task, n_batches=2)
        ctx.log(f"{'causal' if causal else 'no mask':8s}: {steps} steps, final loss {hist['loss'][-1]:.3f}, "
                f"teacher-forced accuracy on the answers {accs[causal]:.3f}")

    x, _ = task.sample(torch.Generator().manual_seed(7), 128)
    maps = {c: attention_maps(m, x, n_heads, P_attn, P_pos)[0] for c, m in models.items()}  # (B, H, T, T)
    answer_q = torch.arange(n, 2 * n)  # the queries that predict answer tokens (SEP .. second to last)
    mirror_k = 2 * n - 1 - answer_q  # the source token each of them must copy
    on_mirror = {c: w[:, :, answer_q, mirror_k].mean((0, 2)) for c, w in maps.items()}  # per head
    future = torch.ones(2 * n, 2 * n, dtype=torch.bool).triu(1)
    on_future = {c: float((w * future).sum(-1)[:, :, answer_q].mean()) for c, w in maps.items()}
    for c in (True, False):
        ctx.log(f"{'causal' if c else 'no mask':8s}: weight on the mirrored source token per head "
                f"{[round(float(v), 2) for v in on_mirror[c]]}; weight on later tokens {on_future[c]:.3f}")
    uniform = float((1.0 / (answer_q + 1).float()).mean())  # a causal query at t spreads over t + 1 keys

    ctx.claim(min(accs.values()) > 0.95, "both models fit the training task (teacher-forced accuracy > 95%)",
              f"causal {accs[True]:.3f}, no mask {accs[False]:.3f}")
    best = float(on_mirror[True].max())
    ctx.claim(best > 3 * uniform,
              "in the causal model, a head reads the mirrored source token: the anti-diagonal in its map",
              f"best head's mean weight on it {best:.2f}; uniform attention would give {uniform:.2f}")
    ctx.claim(on_future[True] == 0.0 and on_future[False] > 0.05,
              "the model trained without the mask sends part of its attention to later tokens, the answers "
              "themselves; the causal one sends exactly none",
              f"mean weight on later tokens: no mask {on_future[False]:.3f}, causal {on_future[True]:.3f}")

    labels = [f"s{i}" for i in range(n)] + ["SEP"] + [f"a{i}" for i in range(n - 1)]
    fig, axes = plt.subplots(2, n_heads, figsize=(3.0 * n_heads, 6.8))
    for row, causal in enumerate((True, False)):
        w = maps[causal].mean(0)  # (H, T, T) averaged over 128 sequences
        for h in range(n_heads):
            ax = axes[row, h]
            ax.imshow(w[h].numpy(), cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(2 * n), labels, fontsize=6, rotation=90)
            ax.set_yticks(range(2 * n), labels, fontsize=6)
            ax.axhline(n - 0.5, color="w", lw=0.6, ls=":")
            ax.set_title(f"{'causal' if causal else 'no mask'} · head {h} "
                         f"(mirror {float(on_mirror[causal][h]):.2f})", fontsize=8)
            if h == 0:
                ax.set_ylabel("query (row)", fontsize=8)
            if row == 1:
                ax.set_xlabel("key (column)", fontsize=8)
    fig.suptitle("Reversal: s0..s5 SEP -> s5..s0. Answer rows (below the dotted line) should read the mirrored "
                 "source key;\nwithout the mask, weight also lands right of the diagonal (the future)", fontsize=9)
    ctx.save(fig, "attention_heatmaps.png")
