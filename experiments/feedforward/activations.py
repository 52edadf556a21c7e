"""Activations: ReLU vs GELU vs SwiGLU with the same number of parameters

The same one-block model learns the same table of random facts as in expansion_ratio
(experiments/feedforward/_tools.py, PairTable) three times, changing only the FFN:

    ReLU     down_proj(relu(up_proj(x)))                      hidden 4 * dim
    GELU     down_proj(gelu(up_proj(x)))                      hidden 4 * dim   (FeedForward)
    SwiGLU   down_proj(silu(gate_proj(x)) * up_proj(x))       hidden 8/3 * dim (SwiGLU)

SwiGLU has three matrices instead of two, so its hidden width is 2/3 of the others': all three
have the same parameter count (to within the rounding of 8/3 * dim). Same seed, same batches, same
steps. FeedForward and SwiGLU come from the implementation under study (IMPL, default reference).

What to look for: the gated unit learns the table fastest, by a wide margin. Each of its hidden
units outputs a product of two linear maps of the token, silu(g) * u, a second-order function of
the input, where a ReLU or GELU unit only bends one linear map. GELU ends a little below ReLU here
(its gradient is not exactly zero for negative inputs), but that gap is small next to SwiGLU's."""
import math

import torch

from kata.lab.models import Parts, TinyDecoder
from kata.lab.train import smooth, tail_mean, train

from ._tools import PairTable, n_params

VARIANTS = [("relu", "ReLU", "tab:gray"), ("gelu", "GELU", "tab:blue"), ("swiglu", "SwiGLU", "tab:green")]
SEED = 0


def run(ctx):
    import matplotlib.pyplot as plt

    dim, mult = 32, 4
    n, steps, lr = ctx.pick((48, 500, 1e-2), (20, 60, 2e-2))
    task = PairTable(n=n, batch_size=128, table_seed=SEED)
    parts = Parts(ctx.impl_name, only=("feedforward",))
    ctx.log(f"task: {n * n} random facts, 1 block of width {dim}, FFN sized like a {mult}x two-matrix MLP, "
            f"{steps} steps at lr {lr:g}")

    results = {}
    for kind, label, _ in VARIANTS:
        torch.manual_seed(SEED)
        model = TinyDecoder(task.vocab, dim=dim, n_layers=1, n_heads=4, max_len=task.seq_len, parts=parts,
                            ffn=kind, hidden_mult=mult)
        ffn = model.blocks[0].ffn
        hist = train(model, task, steps, lr, seed=SEED)
        results[kind] = dict(loss=hist["loss"], final=tail_mean(hist["loss"], 20), params=n_params(ffn),
                             hidden=ffn.down_proj.weight.shape[1])
        ctx.log(f"{label:7s} hidden {results[kind]['hidden']:4d}, FFN parameters {results[kind]['params']:6d}, "
                f"final loss {results[kind]['final']:.3f}")

    counts = [results[k]["params"] for k, _, _ in VARIANTS]
    ctx.claim(max(counts) / min(counts) < 1.01, "the three FFNs have the same number of parameters (within 1%)",
              ", ".join(f"{label} {results[k]['params']}" for k, label, _ in VARIANTS))
    relu, gelu, swiglu = (results[k]["final"] for k in ("relu", "gelu", "swiglu"))
    ctx.claim(swiglu < 0.8 * min(relu, gelu),
              "SwiGLU ends with the lowest loss, at least 20% below both single-matrix activations",
              f"SwiGLU {swiglu:.3f}, GELU {gelu:.3f}, ReLU {relu:.3f}")
    ctx.log(f"GELU vs ReLU: {gelu:.3f} vs {relu:.3f} (a small gap next to SwiGLU's; not claimed)")

    # ---------------------------------------------------------------- plots
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    F = ctx.impl("feedforward")
    xs = torch.linspace(-4, 3, 200)
    ax0.plot(xs, torch.relu(xs), color="tab:gray", label="relu(x)")
    ax0.plot(xs, torch.nn.functional.gelu(xs), color="tab:blue", label="gelu(x)")
    ax0.plot(xs, F.silu(xs), color="tab:green", label="silu(x) (the gate)")
    ax0.axhline(0, color="black", lw=0.5)
    ax0.set_title("The three nonlinearities")
    ax0.legend(fontsize=8)
    ax0.grid(True, alpha=0.3)
    for kind, label, color in VARIANTS:
        loss = results[kind]["loss"]
        ax1.plot(range(1, len(loss) + 1), smooth(loss, 20), color=color,
                 label=f"{label} (hidden {results[kind]['hidden']}, {results[kind]['params']:,} parameters)")
    ax1.axhline(math.log(n), color="black", ls=":", lw=1, label=f"chance: ln {n}")
    ax1.set_xlabel("training step")
    ax1.set_ylabel("training loss (smoothed over 20 steps)")
    ax1.set_title(f"Same parameters, different FFN: {n * n} random facts")
    ax1.legend(fontsize=8)
    ax1.grid(True, alpha=0.3)
    ctx.save(fig, "activations.png")
