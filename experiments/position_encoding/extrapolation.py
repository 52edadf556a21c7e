"""Length extrapolation: train on 16 tokens, test on 32 and 64, sinusoidal vs RoPE

The one-layer LookBack model of the order experiment (predict the token 3 steps back) is trained
on sequences of length L = 16 only, then run on sequences of length 2L and 4L. The task itself does
not change with length: the answer is always 3 tokens back. What changes is what the model sees:

- sinusoidal: absolute positions 16 .. 63 were never added to any training input;
- RoPE: every query/key pair is rotated by its distance, and distances above 15 never occurred.

Neither scheme extrapolates by itself, and they fail differently. Sinusoidal breaks right after
L. RoPE stays right for a few more positions (unseen distances alone do no harm), then breaks at the
first position where a key sits at an alias of distance 3: a distance the fastest pair cannot tell
from 3 (22 = 3 + 19 and 28 = 3 + 25, with 19 and 25 radians just about 3 and 4 full turns). Inside
the training length the other pairs ruled such keys out; these distances never came up in
training, so nothing taught the model to ignore them, and its attention goes there instead: the
aliasing of the frequencies experiment, in a trained model. Long-context models train on long
sequences, or stretch the frequencies (position interpolation, NTK-aware scaling, YaRN) and fine-tune.

The position encodings come from the implementation under study (IMPL, default reference)."""
import math

import torch

from kata.lab.models import Parts, TinyDecoder
from kata.lab.tasks import LookBack
from kata.lab.train import train

from .order_task import one_thread

L, K = 16, 3
SCHEMES = {"sinusoidal": "sinusoidal", "RoPE": "rope"}
COLORS = {"sinusoidal": "tab:orange", "RoPE": "tab:blue"}
ALIAS = 0.95  # cos(d - 3) above this: the fastest pair sees distance d almost as distance 3
REGIONS = {"trained (< L)": (K, L), "L .. 2L": (L, 2 * L), "2L .. 4L": (2 * L, 4 * L)}


@torch.no_grad()
def first_layer_attention(model, tokens, P):
    """Attention weights (batch, n_heads, seq, seq) of the model's (only) layer, recomputed from its
    parameters the way the reference MultiHeadAttention uses them."""
    block, (b, t) = model.blocks[0], tokens.shape
    h = model.embed(tokens)
    if model.pos == "sinusoidal":
        h = h + model.pe[:t]
    h = block.norm1(h)
    attn = block.attn
    q = attn.q_proj(h).view(b, t, attn.n_heads, attn.head_dim)  # (B, T, nh, hd)
    k = attn.k_proj(h).view(b, t, attn.n_kv_heads, attn.head_dim)
    if model.pos == "rope":
        q, k = P.apply_rope(q, model.cos[:t], model.sin[:t]), P.apply_rope(k, model.cos[:t], model.sin[:t])
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(attn.head_dim)  # (B, nh, T, T)
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    return scores.masked_fill(~causal, float("-inf")).softmax(-1)


def run(ctx):
    import matplotlib.pyplot as plt

    P = ctx.impl("position_encoding")
    steps, seeds = ctx.pick((200, (0, 1, 2)), (100, (0,)))
    parts = Parts(ctx.impl_name, only=("position_encoding",))
    x, y = LookBack(k=K, length=4 * L, n_symbols=16).sample(torch.Generator().manual_seed(5), 256)
    late = torch.arange(3 * L, 4 * L)  # queries far out, for the attention diagnosis
    acc_pos = {name: torch.zeros(4 * L) for name in SCHEMES}  # accuracy per position, mean over seeds
    by_dist = {name: torch.zeros(4 * L) for name in SCHEMES}  # attention per key distance, late queries
    with one_thread():
        for name, pos in SCHEMES.items():
            for seed in seeds:
                torch.manual_seed(seed)
                model = TinyDecoder(16, dim=32, n_layers=1, n_heads=2, max_len=4 * L, parts=parts, pos=pos, ffn=None)
                train(model, LookBack(k=K, length=L, n_symbols=16), steps, lr=1e-2, seed=seed)
                model.eval()
                with torch.no_grad():
                    acc_pos[name] += (model(x).argmax(-1) == y).float().mean(0) / len(seeds)
                w = first_layer_attention(model, x, P).mean((0, 1))  # (T, T), mean over batch and heads
                for t in late:
                    by_dist[name][: t + 1] += w[t, : t + 1].flip(0) / (len(late) * len(seeds))

    acc = {name: {r: acc_pos[name][a:b].mean().item() for r, (a, b) in REGIONS.items()} for name in SCHEMES}
    for name in SCHEMES:
        ctx.log(f"{name:10s} accuracy " + ", ".join(f"{r}: {v:.2f}" for r, v in acc[name].items()) +
                f"   ({steps} steps, mean of {len(seeds)} seed{'s' * (len(seeds) > 1)})")
    trained, _, far = REGIONS
    sinus, rope = SCHEMES
    ctx.claim(min(acc[s][trained] for s in SCHEMES) >= 0.95, "both learn the task at the training length",
              ", ".join(f"{s} {acc[s][trained]:.2f}" for s in SCHEMES))
    ctx.claim(max(acc[s][far] for s in SCHEMES) <= 0.4,
              "neither extrapolates: at positions 2L .. 4L both lose most of their accuracy",
              ", ".join(f"{s} {acc[s][far]:.2f}" for s in SCHEMES))
    just_past = {name: acc_pos[name][L:L + 6].mean().item() for name in SCHEMES}
    drop = next((t for t in range(L, 4 * L) if acc_pos[rope][t] < 0.9), None)
    ctx.claim(just_past[rope] >= 0.9 and just_past[sinus] < just_past[rope] - 0.3,
              f"just past the training length (t = {L}..{L + 5}) RoPE is still right and sinusoidal is not: "
              "unseen distances alone do RoPE no harm",
              f"RoPE {just_past[rope]:.2f}, sinusoidal {just_past[sinus]:.2f}")
    ctx.claim(drop is not None and math.cos(drop - K) > ALIAS,
              f"RoPE breaks at the first position with a key at an alias of distance {K}: a distance where "
              "the fastest pair (1 radian per position) comes round to almost the same angle",
              f"first t >= {L} with accuracy < 0.9: {drop}; cos({drop} - {K}) = {math.cos((drop or K) - K):.3f}")
    ctx.claim(acc[rope][far] <= 0.2, "far out (2L .. 4L) RoPE collapses to little better than a blind guess",
              f"RoPE {acc[rope][far]:.2f} (blind guess 0.06; sinusoidal {acc[sinus][far]:.2f})")
    unseen = by_dist[rope][L:].sum().item()
    thief = int(by_dist[rope].argmax())
    ctx.log(f"RoPE, queries at {3 * L} .. {4 * L - 1}: attention on distance {K} (the answer) "
            f"{by_dist[rope][K]:.2f}, on distances >= {L} (never seen) {unseen:.2f}, most on distance {thief}")
    ctx.claim(unseen >= 0.5 and math.cos(thief - K) > ALIAS,
              f"RoPE's attention goes to distances never seen in training, above all to one where the fastest "
              f"pair (1 radian per position) has come round to almost the angle of distance {K}",
              f"{unseen:.2f} of the attention on distances >= {L}; most on d = {thief}: "
              f"{thief - K} rad from d = {K}, cos = {math.cos(thief - K):.3f}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.3))
    positions = torch.arange(K, 4 * L)
    for name in SCHEMES:
        ax1.plot(positions, acc_pos[name][K:], color=COLORS[name], marker="o", ms=2.5, label=name)
    for edge, text in ((L, "L"), (2 * L, "2L")):
        ax1.axvline(edge - 0.5, color="k", lw=0.8, ls="--")
        ax1.text(edge, 1.01, text, fontsize=8)
    ax1.axvspan(-0.5, L - 0.5, color="tab:green", alpha=0.08)
    ax1.text(1, 0.5, "trained\nlengths", fontsize=8, color="tab:green")
    aliases = [d for d in range(L, 4 * L) if math.cos(d - K) > ALIAS]  # the fastest pair's aliases of d = 3
    for i, d in enumerate(aliases):
        ax1.axvline(d, color="tab:blue", lw=0.8, ls=":", label="aliases of d = 3 (fastest pair)" if i == 0 else None)
    ax1.axhline(1 / 16, color="k", ls=":", lw=1)
    ax1.set_xlabel("position t (trained on t < 16)")
    ax1.set_ylabel("accuracy")
    ax1.set_ylim(0, 1.05)
    ax1.set_title(f"LookBack (k = {K}) on sequences 4x the training length", fontsize=10)
    ax1.legend(fontsize=8)
    dists = torch.arange(4 * L)
    for name in SCHEMES:
        ax2.plot(dists, by_dist[name], color=COLORS[name], marker="o", ms=2.5, label=name)
    ax2.axvline(K, color="tab:green", lw=1)
    ax2.text(K + 0.5, ax2.get_ylim()[1] * 0.9, f"answer (d = {K})", fontsize=8, color="tab:green")
    ax2.axvspan(L - 0.5, 4 * L, color="k", alpha=0.05)
    ax2.text(L + 0.5, ax2.get_ylim()[1] * 0.8, "distances never seen in training", fontsize=8)
    ax2.annotate(f"d = {thief}: {thief - K} rad ≈ {(thief - K) / (2 * math.pi):.2f} turns\nof the fastest pair "
                 f"past d = {K}", (thief, by_dist[rope][thief].item()), textcoords="offset points",
                 xytext=(15, -10), fontsize=8)
    ax2.set_xlabel("distance d from the query to the key")
    ax2.set_ylabel("attention weight (mean)")
    ax2.set_title(f"Where queries at positions {3 * L}..{4 * L - 1} look", fontsize=10)
    ax2.legend(fontsize=8, loc="center right")
    ctx.save(fig, "extrapolation.png")
