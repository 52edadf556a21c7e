"""Without positions, attention cannot tell "dog bites man" from "man bites dog"

Self-attention by itself treats its input as a set. Permute the tokens and the outputs come out
permuted in the same way, with nothing else changed (the layer is permutation-equivariant). So the
vector computed for "dog" is the same in "dog bites man" and "man bites dog": who bites whom is lost.
Adding a sinusoidal table to the input, or rotating queries and keys with RoPE, breaks the symmetry:
the same word at another position gets another output.

The attention layer is the reference MultiHeadAttention without a causal mask (a causal mask is
itself a position signal: token t sees t + 1 tokens). The position encodings come from the
implementation under study (IMPL, default reference)."""
import torch

from kata.lab.models import Parts

WORDS = ["dog", "bites", "man"]


def relative_change(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


def run(ctx):
    import matplotlib.pyplot as plt

    P = ctx.impl("position_encoding")
    attention = Parts("reference")("attention")
    dim, n_heads = 64, 4
    seq, trials = ctx.pick((32, 20), (16, 5))
    torch.manual_seed(0)
    attn = attention.MultiHeadAttention(dim, n_heads).eval()
    cos, sin = P.rope_cos_sin(dim // n_heads, seq)
    pe = P.sinusoidal_encoding(seq, dim)
    schemes = {
        "no position encoding": lambda x: attn(x, causal=False),
        "sinusoidal, added to x": lambda x: attn(x + pe[: x.shape[1]], causal=False),
        "RoPE on q and k": lambda x: attn(x, cos[: x.shape[1]], sin[: x.shape[1]], causal=False),
    }
    gen = torch.Generator().manual_seed(1)

    # ---------------------------------------------------------------- part 1: random permutations
    errors = {name: [] for name in schemes}
    with torch.no_grad():
        for _ in range(trials):
            x = torch.randn(1, seq, dim, generator=gen)
            perm = torch.randperm(seq, generator=gen)
            for name, f in schemes.items():
                # f(permuted x) against the permuted f(x): equal iff the layer ignores order.
                errors[name].append(relative_change(f(x[:, perm]), f(x)[:, perm]))
    for name, errs in errors.items():
        ctx.log(f"{name:24s} |f(Px) - P f(x)| / |f(x)| over {trials} permutations of {seq} tokens: "
                f"min {min(errs):.2e}, max {max(errs):.2e}")
    none, sinus, rope = errors
    ctx.claim(max(errors[none]) < 1e-5,
              "without position encoding, a permuted input gives exactly the permuted output "
              "(to float32 rounding)", f"largest relative difference {max(errors[none]):.1e}")
    ctx.claim(min(errors[rope]) > 1e-2,
              "with RoPE it does not: permuting the tokens changes the outputs themselves",
              f"smallest relative change {min(errors[rope]):.2f}")
    ctx.claim(min(errors[sinus]) > 1e-2,
              "with sinusoidal encoding added to the input it does not either",
              f"smallest relative change {min(errors[sinus]):.2f}")

    # ---------------------------------------------------------------- part 2: dog bites man
    embed = torch.randn(len(WORDS), dim, generator=torch.Generator().manual_seed(2))  # same in quick and full
    a = embed[[0, 1, 2]][None]  # "dog bites man"
    b = embed[[2, 1, 0]][None]  # "man bites dog"
    where_b = {0: 2, 1: 1, 2: 0}  # position of each word of sentence a in sentence b
    word_change = {}
    with torch.no_grad():
        for name, f in schemes.items():
            out_a, out_b = f(a)[0], f(b)[0]
            word_change[name] = [relative_change(out_b[where_b[i]], out_a[i]) for i in range(3)]
            ctx.log(f"{name:24s} change of each word's output between the two sentences: " +
                    ", ".join(f"{w} {c:.1e}" for w, c in zip(WORDS, word_change[name])))
    ctx.claim(max(word_change[none]) < 1e-5,
              'without positions, "dog", "bites" and "man" get the same vectors in "dog bites man" '
              'and "man bites dog"', f"largest change {max(word_change[none]):.1e}")
    ctx.claim(min(word_change[rope]) > 1e-2,
              "with RoPE every word's vector differs between the two sentences, even \"bites\", "
              "which stays in the middle", f"smallest change {min(word_change[rope]):.2f}")

    # ---------------------------------------------------------------- plot
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = list(schemes)
    colors = ["tab:gray", "tab:orange", "tab:blue"]
    floor = 1e-9  # log axis: show exact zeros at the bottom
    for i, name in enumerate(names):
        errs = [max(e, floor) for e in errors[name]]
        ax1.scatter([i] * len(errs), errs, color=colors[i], alpha=0.6)
        ax1.bar(i, max(sum(errs) / len(errs), floor), color=colors[i], alpha=0.3)
    ax1.axhline(torch.finfo(torch.float32).eps, color="k", ls=":", lw=1)
    ax1.text(-0.4, torch.finfo(torch.float32).eps * 1.5, "float32 rounding", fontsize=8)
    ax1.set_yscale("log")
    ax1.set_ylim(floor / 2, 10)
    ax1.set_xticks(range(3), names, fontsize=8)
    ax1.set_ylabel("|f(permuted x) - permuted f(x)| / |f(x)|")
    ax1.set_title(f"Permuting {seq} tokens ({trials} random permutations)", fontsize=10)
    width = 0.25
    for i, name in enumerate(names):
        ax2.bar([j + (i - 1) * width for j in range(3)], [max(c, floor) for c in word_change[name]],
                width, color=colors[i], label=name)
    ax2.set_yscale("log")
    ax2.set_ylim(floor / 2, 10)
    ax2.set_xticks(range(3), [f'"{w}"' for w in WORDS])
    ax2.set_ylabel("change of the word's output vector (relative)")
    ax2.set_title('"dog bites man" vs "man bites dog"', fontsize=10)
    ax2.legend(fontsize=8, loc="upper left")
    ctx.save(fig, "permutation.png")
