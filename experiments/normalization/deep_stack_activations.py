"""Activations through a deep stack: collapse, blow-up, and what a norm does about it

Part 1, a plain stack: x <- relu(W x), with W random of standard deviation s / sqrt(dim). Each
layer multiplies the mean square of x by about s**2 / 2, so after L layers the RMS has been scaled
by (s / sqrt(2))**L: s = 1 shrinks it, s = 2 inflates it, and only s = sqrt(2) (He init) keeps it.
The same stack with an RMSNorm after every layer stays at RMS 1 whatever s is.

Part 2, a residual stack with sublayer f(x) = W relu(x), arranged three ways: no norm
(x + f(x)), Pre-LN (x + f(norm(x))) and Post-LN (norm(x + f(x))). It shows what each placement
does to the residual stream itself.

The norms come from the implementation under study (IMPL, default reference)."""
import math

import torch

INITS = {"s = 1 (too small)": 1.0, "s = √2 (He init)": math.sqrt(2.0), "s = 2 (too large)": 2.0}


def rms(t: torch.Tensor) -> float:
    return t.double().pow(2).mean().sqrt().item()


def run(ctx):
    import matplotlib.pyplot as plt

    norm = ctx.impl("normalization")
    dim, batch, depth = ctx.pick((256, 256, 32), (128, 64, 16))
    gen = torch.Generator().manual_seed(0)
    # One set of random directions, rescaled for each init: the runs differ only in weight scale.
    base = [torch.randn(dim, dim, generator=gen) / math.sqrt(dim) for _ in range(depth)]
    x0 = torch.randn(batch, dim, generator=gen)
    ones = torch.ones(dim)
    ctx.log(f"{depth} layers of width {dim}, a batch of {batch} vectors with RMS {rms(x0):.3f}")

    # ---------------------------------------------------------------- part 1: a plain stack
    plain, normed, last = {}, {}, {}
    for label, s in INITS.items():
        a, b = x0, x0
        plain[label], normed[label] = [rms(a)], [rms(b)]
        for w in base:
            a = torch.relu(a @ (s * w).T)
            b = norm.rms_norm(torch.relu(b @ (s * w).T), ones)
            plain[label].append(rms(a))
            normed[label].append(rms(b))
        last[label] = b
        ctx.log(f"{label:18s} RMS after {depth} layers: no norm {plain[label][-1]:.3g}, "
                f"RMSNorm after each layer {normed[label][-1]:.4f}   (predicted without norm: "
                f"{rms(x0) * (s / math.sqrt(2)) ** depth:.3g})")

    small, he, large = INITS
    ctx.claim(plain[small][-1] < 1e-2 * plain[small][0],
              f"without a norm, s = 1 makes the activations collapse: RMS falls more than 100x in {depth} layers",
              f"RMS {plain[small][0]:.3f} -> {plain[small][-1]:.2e}")
    ctx.claim(plain[large][-1] > 100 * plain[large][0],
              f"without a norm, s = 2 makes them blow up: RMS grows more than 100x in {depth} layers",
              f"RMS {plain[large][0]:.3f} -> {plain[large][-1]:.2e}")
    ratio = plain[he][-1] / plain[he][0]
    ctx.claim(0.1 < ratio < 10, "only the He init s = √2 keeps the plain stack within 10x of where it started",
              f"RMS ratio after {depth} layers: {ratio:.2f}")
    worst = max(abs(v - 1.0) for runs in normed.values() for v in runs[1:])
    ctx.claim(worst < 1e-3, "with RMSNorm after every layer, every layer's RMS is 1 for all three inits",
              f"largest |RMS - 1| over all layers and inits: {worst:.1e}")
    spread = max((last[small] - last[large]).abs().max().item(), (last[he] - last[large]).abs().max().item())
    ctx.claim(spread < 1e-3,
              "with the norm, the weight scale no longer matters at all: the last layer's activations are "
              "the same for s = 1, √2 and 2",
              f"largest difference between inits: {spread:.1e}")

    # ---------------------------------------------------------------- part 2: residual streams
    s = 2.0
    f = [lambda t, w=w: torch.relu(t) @ (s * w).T for w in base]  # zero-mean output, like an FFN
    rmsnorm = lambda t: norm.rms_norm(t, ones)  # noqa: E731 - a callable for the residual steps
    streams = {"no norm: x + f(x)": [rms(x0)], "Pre-LN: x + f(norm(x))": [rms(x0)],
               "Post-LN: norm(x + f(x))": [rms(x0)]}
    a = b = c = x0
    for sub in f:
        a = a + sub(a)
        b = norm.pre_norm_residual(b, sub, rmsnorm)
        c = norm.post_norm_residual(c, sub, rmsnorm)
        for key, t in zip(streams, (a, b, c)):
            streams[key].append(rms(t))
    none_, pre, post = (streams[k] for k in streams)
    half = depth // 2
    ctx.log(f"residual stream RMS after {half} and {depth} layers (s = 2): no norm {none_[half]:.3g} / "
            f"{none_[-1]:.3g}, Pre-LN {pre[half]:.3g} / {pre[-1]:.3g}, Post-LN {post[half]:.3g} / {post[-1]:.3g}")
    growth = (none_[-1] / none_[0]) ** (1 / depth)
    ctx.claim(growth > 1.5,
              "a residual connection alone does not help: without a norm the stream still grows "
              "geometrically, by a factor of about sqrt(1 + s^2 / 2) = 1.73 per layer",
              f"RMS {none_[0]:.2f} -> {none_[-1]:.2e}, {growth:.2f}x per layer")
    # Pre-LN: f sees a unit-RMS input, so each layer adds mean square s**2 / 2 to the stream.
    predicted = math.sqrt(pre[0] ** 2 + depth * s * s / 2)
    ctx.claim(0.5 * predicted < pre[-1] < 2 * predicted and pre[-1] / pre[half] < 1.6,
              "Pre-LN: each layer adds a bounded amount to the stream, so it grows only like "
              "sqrt(depth), not geometrically",
              f"RMS {pre[0]:.2f} -> {pre[half]:.2f} (layer {half}) -> {pre[-1]:.2f} (layer {depth}); "
              f"sqrt(1 + depth * s^2 / 2) = {predicted:.2f}")
    ctx.claim(max(abs(v - 1.0) for v in post[1:]) < 1e-3,
              "Post-LN: the stream itself is renormalized, RMS exactly 1 after every layer",
              f"RMS after layer {depth}: {post[-1]:.4f}")

    # ---------------------------------------------------------------- plots
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    colors = dict(zip(INITS, ("tab:blue", "tab:green", "tab:red")))
    for label in INITS:
        ax1.plot(plain[label], color=colors[label], ls="--", label=f"{label}, no norm")
        ax1.plot(normed[label], color=colors[label], lw=3, alpha=0.5, label=f"{label}, RMSNorm")
    ax1.set_yscale("log")
    ax1.annotate("with RMSNorm: RMS = 1 at every layer,\nfor all three inits (lines overlap)", xy=(depth * 0.55, 1.0),
                 xytext=(depth * 0.45, 0.05 if plain[small][-1] < 0.05 else 0.3), fontsize=8,
                 arrowprops=dict(arrowstyle="->", color="gray"))
    ax1.set_xlabel("layer")
    ax1.set_ylabel("RMS of the activations (log scale)")
    ax1.set_title(f"Plain stack x ← relu(W x), W ~ N(0, s²/dim), width {dim}")
    ax1.legend(fontsize=8)
    ax1.grid(True, which="major", alpha=0.3)
    for (label, values), color in zip(streams.items(), ("tab:red", "tab:green", "tab:purple")):
        ax2.plot(values, color=color, label=label)
    ax2.plot([math.sqrt(1 + i * s * s / 2) for i in range(depth + 1)], color="gray", ls=":",
             label="sqrt(1 + layer · s²/2)")
    ax2.set_yscale("log")
    ax2.set_xlabel("layer")
    ax2.set_ylabel("RMS of the residual stream (log scale)")
    ax2.set_title("Residual stack, sublayer f(x) = W relu(x) with s = 2")
    ax2.legend(fontsize=8)
    ax2.grid(True, which="major", alpha=0.3)
    ctx.save(fig, "deep_stack_activations.png")
