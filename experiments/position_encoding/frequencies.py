"""RoPE's frequencies: fast pairs tell neighbours apart, slow pairs tell far positions apart

RoPE turns pair i of a head by pos * freq[i], with freq[i] = base ** (-2i / head_dim): pair 0 turns
by one radian per position, the last pair so slowly that it never completes a turn in the whole
context. Three views of the same tables (head_dim 64):

1. The angle of every pair at every position (a heatmap): the fast pairs wrap around 2 pi many
   times, the slow ones hardly move.
2. The score of a vector with itself d positions away, <rope(q, m + d), rope(q, m)>: for one
   fixed vector it wiggles; averaged over random vectors it is mean_i cos(d * freq[i]), which
   decays with distance, more slowly for a larger base.
3. Why many frequencies: with a single one (1 radian per position) a rotated vector comes back
   to almost where it started (710 radians is 113 turns plus 0.00006), so position 710 looks like
   position 0. With all of them together no distance comes back.

The tables and the rotation come from the implementation under study (IMPL, default reference)."""
import math

import torch


def log_smooth(y: torch.Tensor, width: float = 0.1) -> torch.Tensor:
    """Mean of y over distances within +-width * d of each d: removes the fast pairs' wiggles (for display)."""
    c = torch.cat([torch.zeros(1, dtype=y.dtype), y.cumsum(0)])
    d = torch.arange(len(y))
    lo = (d - (d * width).long()).clamp_min(0)
    hi = (d + (d * width).long() + 1).clamp_max(len(y))
    return (c[hi] - c[lo]) / (hi - lo)


def run(ctx):
    import matplotlib.pyplot as plt

    P = ctx.impl("position_encoding")
    head_dim = 64
    n_pos = ctx.pick(4096, 2048)
    show = 256  # positions in the heatmap
    bases = {"base 1e4": 1e4, "base 1e6 (default)": 1e6}
    dist = torch.arange(n_pos, dtype=torch.float64)

    # ---------------------------------------------------------------- 1. angles
    freqs = P.rope_frequencies(head_dim).double()  # default base
    angles = torch.outer(torch.arange(show, dtype=torch.float64), freqs)  # (positions, pairs)
    turns = angles[-1] / (2 * math.pi)  # turns completed by position show - 1
    n_still = int((angles[-1] < 2 * math.pi).sum())
    ctx.log(f"frequencies (base 1e6): first {freqs[0]:.3g}, last {freqs[-1]:.3g}; by position {show - 1} "
            f"pair 0 has made {turns[0]:.1f} turns, the last pair {turns[-1]:.2e}")
    ctx.claim(bool(turns[0] > 10) and n_still >= head_dim // 4,
              f"within {show} positions the fastest pair wraps around many times while many slow pairs "
              "have not completed one turn",
              f"pair 0: {turns[0]:.1f} turns; {n_still} of {head_dim // 2} pairs under one turn")

    # ---------------------------------------------------------------- 2. score vs distance
    average, fixed = {}, {}
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(head_dim, generator=gen)
    for label, base in bases.items():
        f = P.rope_frequencies(head_dim, base).double()
        average[label] = torch.cos(dist[:, None] * f).mean(-1)  # E[score(d)] / E[|q|^2]
        cos, sin = P.rope_cos_sin(head_dim, n_pos, base)
        rotated = P.apply_rope(q.expand(1, n_pos, 1, head_dim).contiguous(), cos, sin)[0, :, 0]  # (n_pos, hd)
        fixed[label] = (rotated @ rotated[0]).double() / q.norm().double() ** 2  # q at d vs q at 0
    lo, hi = n_pos // 4, n_pos
    for label in bases:
        ctx.log(f"{label:20s} average score at distance 1-4: {average[label][1:5].mean():.3f}, "
                f"at {lo}-{hi - 1}: {average[label][lo:hi].mean():.3f}")
    small, large = bases
    near, far = average[small][1:5].mean().item(), average[small][lo:hi].mean().item()
    ctx.claim(near > 0.7 and far < 0.2,
              "the average score decays with distance (base 1e4)",
              f"{near:.2f} at distances 1-4, {far:.2f} at {lo}-{hi - 1}")
    far_large = average[large][lo:hi].mean().item()
    ctx.claim(far_large > far + 0.15,
              "a larger base decays more slowly: 1e6 keeps far positions more alike than 1e4",
              f"average at {lo}-{hi - 1}: {far_large:.2f} with 1e6, {far:.2f} with 1e4")
    gap = (fixed[small] - average[small]).abs().max().item()
    ctx.claim(gap > 0.1, "a single vector pair does not follow the average: its score wiggles around it",
              f"largest gap from the average: {gap:.2f}")

    # ---------------------------------------------------------------- 3. one frequency aliases
    d = dist[1:1001]
    one = 1 - torch.cos(d * freqs[0])  # pair 0 alone: 1 - cos = how far the vector moved
    allf = 1 - torch.cos(d[:, None] * freqs).mean(-1)
    i1, ia = int(one.argmin()), int(allf.argmin())
    ctx.log(f"over distances 1..1000: one frequency comes closest to 'no move' at d = {i1 + 1} "
            f"(1 - cos = {one[i1]:.1e}); all frequencies at d = {ia + 1} (1 - mean cos = {allf[ia]:.3f})")
    ctx.claim(one[i1] < 1e-6 and allf[ia] > 1e3 * one[i1],
              "one frequency aliases: some distance up to 1000 looks like distance 0; all 32 together never do",
              f"closest return: {one[i1]:.1e} at d = {i1 + 1} with one frequency, {allf[ia]:.3f} with all")

    # ---------------------------------------------------------------- plot
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    im = axes[0].imshow(torch.remainder(angles, 2 * math.pi).T.numpy(), aspect="auto", origin="lower",
                        cmap="twilight", interpolation="nearest", extent=(0, show, -0.5, head_dim // 2 - 0.5))
    fig.colorbar(im, ax=axes[0], label="angle mod 2π (radians)")
    axes[0].set_xlabel("position")
    axes[0].set_ylabel("pair i (0 = fastest)")
    axes[0].set_title(f"Angle pos · freq[i], head_dim {head_dim}, base 1e6", fontsize=10)

    ax = axes[1]
    colors = {small: "tab:orange", large: "tab:blue"}
    for label in bases:
        ax.plot(dist[1:], fixed[label][1:], color=colors[label], alpha=0.45, lw=0.6,
                label=f"one fixed vector, {label}")
        ax.plot(dist[1:], log_smooth(average[label])[1:], color=colors[label], lw=2.5,
                label=f"average over vectors, {label}")
    ax.set_xscale("log")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("distance d between the two positions")
    ax.set_ylabel("score / |q|²")
    ax.set_title("Score of q with itself d positions away", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")

    ax = axes[2]
    ax.plot(d, one.clamp_min(1e-12), color="tab:red", lw=0.8, label="pair 0 alone (1 rad / position)")
    ax.plot(d, allf, color="tab:blue", lw=1.5, label=f"all {head_dim // 2} pairs")
    ax.scatter([i1 + 1], [one[i1].item()], color="tab:red", zorder=3)
    ax.annotate(f"d = {i1 + 1}:\nback to the start", (i1 + 1, one[i1].item()), textcoords="offset points",
                xytext=(8, -4), fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(1e-10, 10)
    ax.set_xlabel("distance d")
    ax.set_ylabel("1 - score / |q|²  (0 = indistinguishable)")
    ax.set_title("One frequency aliases, many do not", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    ctx.save(fig, "frequencies.png")
