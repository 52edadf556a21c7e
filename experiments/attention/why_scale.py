"""Why divide by sqrt(d): without it, wide heads make the softmax saturate

Take queries and keys with independent unit-variance entries, as at initialisation. Their dot
product is a sum of d products of variance 1, so its standard deviation is sqrt(d): at head_dim 128
the scores are spread over tens of units and the softmax puts almost all of its weight on one key.
Its entropy (how many keys it effectively mixes: exp(entropy)) collapses, and so does the
softmax's derivative diag(w) - w w^T, which is what carries a gradient back to the scores: a
saturated softmax is flat, and the head can hardly learn to look elsewhere. Dividing by sqrt(d) brings the spread
back to 1 for every d, so a head starts out mixing many keys whatever its size.

Both curves use the scaled_dot_product_attention under study (IMPL, default reference); the
unscaled one is the same call with q multiplied by sqrt(d), which cancels the 1/sqrt(d)."""
import math

import torch


def entropy(weights: torch.Tensor) -> torch.Tensor:
    return -(weights * weights.clamp_min(1e-30).log()).sum(-1)


def run(ctx):
    import matplotlib.pyplot as plt

    A = ctx.impl("attention")
    dims = ctx.pick([2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], [4, 16, 64, 256, 1024])
    n_keys, n_queries = 32, ctx.pick(256, 64)
    gen = torch.Generator().manual_seed(0)
    rows = {"scaled": [], "unscaled": []}
    spread, grads = [], {"scaled": [], "unscaled": []}  # grads: size of the softmax's derivative
    for d in dims:
        q = torch.randn(n_queries, 1, d, generator=gen)
        k = torch.randn(n_queries, n_keys, d, generator=gen)
        v = torch.randn(n_queries, n_keys, 4, generator=gen)
        spread.append(float((q @ k.transpose(1, 2)).std()))
        for name, factor in (("scaled", 1.0), ("unscaled", math.sqrt(d))):
            _, w = A.scaled_dot_product_attention(q * factor, k, v)
            w = w[:, 0]  # (queries, keys)
            rows[name].append((float(entropy(w).mean()), float(w.amax(-1).mean())))
            # d weights / d scores = diag(w) - w w^T: what carries a gradient back to the scores.
            jac = torch.diag_embed(w) - w[:, :, None] * w[:, None, :]
            grads[name].append(float(jac.flatten(1).norm(dim=-1).mean()))
    ent = {name: [e for e, _ in r] for name, r in rows.items()}
    top = {name: [m for _, m in r] for name, r in rows.items()}
    uniform = math.log(n_keys)
    ctx.log(f"{n_keys} keys; uniform attention has entropy ln {n_keys} = {uniform:.2f} nats")
    ctx.log("    d   std(q.k)  sqrt(d)   entropy scaled / unscaled   top weight scaled / unscaled")
    for i, d in enumerate(dims):
        ctx.log(f"{d:5d}   {spread[i]:7.2f}  {math.sqrt(d):7.2f}   {ent['scaled'][i]:6.2f} / {ent['unscaled'][i]:5.2f}"
                f"               {top['scaled'][i]:5.2f} / {top['unscaled'][i]:5.2f}")

    ratio = [s / math.sqrt(d) for s, d in zip(spread, dims)]
    ctx.claim(all(0.9 < r < 1.1 for r in ratio),
              "the raw dot product q.k of unit-variance vectors has standard deviation sqrt(d)",
              f"std / sqrt(d) between {min(ratio):.2f} and {max(ratio):.2f} for d = {dims[0]} .. {dims[-1]}")
    lo, hi = min(ent["scaled"]), max(ent["scaled"])
    ctx.claim(hi - lo < 0.1 * uniform,
              "with 1/sqrt(d) the attention entropy is the same for every head size",
              f"between {lo:.2f} and {hi:.2f} nats (uniform: {uniform:.2f})")
    i_big = dims.index(1024)
    ctx.claim(ent["unscaled"][i_big] < 0.1 * ent["scaled"][i_big],
              "without it the softmax saturates as d grows: at d = 1024 the entropy is under a tenth "
              "of the scaled one and one key takes nearly all the weight",
              f"entropy {ent['unscaled'][i_big]:.2f} vs {ent['scaled'][i_big]:.2f} nats; mean top weight "
              f"{top['unscaled'][i_big]:.2f} vs {top['scaled'][i_big]:.2f}")
    ctx.claim(grads["unscaled"][i_big] < 0.5 * grads["scaled"][i_big],
              "a saturated softmax passes back less gradient to the scores: the size of its derivative "
              "diag(w) - w w^T falls by more than half",
              f"|diag(w) - w w^T| at d = 1024: {grads['unscaled'][i_big]:.3f} unscaled vs "
              f"{grads['scaled'][i_big]:.3f} scaled")

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    ax = axes[0]
    ax.plot(dims, spread, "o-", color="tab:red", label="std of q.k (measured)")
    ax.plot(dims, [math.sqrt(d) for d in dims], "k:", label="sqrt(d)")
    ax.plot(dims, [s / math.sqrt(d) for s, d in zip(spread, dims)], "o-", color="tab:blue",
            label="std of q.k / sqrt(d)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("head dimension d")
    ax.set_title("Spread of the scores", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(dims, ent["scaled"], "o-", color="tab:blue", label="softmax(q.k / sqrt(d))")
    ax.plot(dims, ent["unscaled"], "o-", color="tab:red", label="softmax(q.k)")
    ax.axhline(uniform, color="k", ls=":", lw=1)
    ax.text(dims[0], uniform * 0.94, f"uniform over {n_keys} keys", fontsize=8, va="top")
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, uniform * 1.08)
    ax.set_xlabel("head dimension d")
    ax.set_ylabel("entropy of the weights (nats)")
    ax.set_title("How many keys a query mixes", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    ax = axes[2]
    ax.plot(dims, grads["scaled"], "o-", color="tab:blue", label="scaled")
    ax.plot(dims, grads["unscaled"], "o-", color="tab:red", label="unscaled")
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, None)
    ax.set_xlabel("head dimension d")
    ax.set_ylabel("|diag(w) - w w^T| (Frobenius)")
    ax.set_title("Softmax derivative: gradient to the scores", fontsize=10)
    ax.legend(fontsize=8)
    ctx.save(fig, "why_scale.png")
