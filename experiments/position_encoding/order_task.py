"""A task that needs order: predict the token 3 steps back, with no PE, sinusoidal and RoPE

The same one-layer attention model (width 32, 2 heads, no feed-forward) is trained three times on
LookBack: random tokens, and at every position t >= 3 the target is the token at t - 3. The answer
is a pure matter of position: the right token is somewhere in the visible context, and only its
distance says which one it is.

Without a position encoding the model can only guess among the tokens it sees. What little it gets
right comes from the causal mask, which is an order signal of its own (early positions see few
tokens). Sinusoidal encoding must learn to compare two absolute positions; RoPE hands attention the
difference directly, and learns fastest.

The position encodings come from the implementation under study (IMPL, default reference)."""
import torch

from kata.lab.models import Parts, TinyDecoder
from kata.lab.tasks import IGNORE, LookBack, accuracy
from kata.lab.train import train

SCHEMES = {"no position encoding": None, "sinusoidal": "sinusoidal", "RoPE": "rope"}
COLORS = {"no position encoding": "tab:gray", "sinusoidal": "tab:orange", "RoPE": "tab:blue"}


class one_thread:
    """Tiny models run fastest on one thread (and do not fight other processes for cores)."""

    def __enter__(self):
        self.n = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(self.n)


@torch.no_grad()
def accuracy_by_position(model, task, n=256, seed=4321):
    x, y = task.sample(torch.Generator().manual_seed(seed), n)
    right = (model(x).argmax(-1) == y).float()
    return right.mean(0), y[0] != IGNORE  # (seq,), which positions are scored


def run(ctx):
    import matplotlib.pyplot as plt

    steps, every = ctx.pick((300, 10), (80, 20))
    task = LookBack(k=3, length=16, n_symbols=16)
    parts = Parts(ctx.impl_name, only=("position_encoding",))
    curves, final, by_pos = {}, {}, {}
    with one_thread():
        for name, pos in SCHEMES.items():
            torch.manual_seed(0)
            model = TinyDecoder(task.vocab, dim=32, n_layers=1, n_heads=2, max_len=task.seq_len, parts=parts,
                                pos=pos, ffn=None)
            hist = train(model, task, steps, lr=1e-2, seed=0, eval_every=every,
                         evaluate=lambda m: accuracy(m, task, n_batches=2))
            model.eval()
            curves[name] = hist["eval"]
            final[name] = accuracy(model, task)
            by_pos[name], scored = accuracy_by_position(model, task)
            reached = next((s for s, a in curves[name] if a >= 0.9), None)
            ctx.log(f"{name:22s} accuracy after {steps} steps: {final[name]:.3f}"
                    f" (90% first reached at step {reached})")

    def first_at(name, level=0.9):
        return next((s for s, a in curves[name] if a >= level), float("inf"))

    none, sinus, rope = SCHEMES
    ctx.claim(final[rope] >= 0.95, "RoPE learns the task", f"accuracy {final[rope]:.3f}")
    ctx.claim(final[sinus] >= 0.95, "sinusoidal encoding learns it too", f"accuracy {final[sinus]:.3f}")
    ctx.claim(final[none] <= 0.4, "without a position encoding the model stays far below: the causal "
              "mask's weak order signal is all it has", f"accuracy {final[none]:.3f} (1/16 would be a blind guess)")
    ctx.claim(first_at(rope) < first_at(sinus),
              "RoPE gets there first: relative offsets are what it gives attention directly",
              f"90% reached at step {first_at(rope)} with RoPE, {first_at(sinus)} with sinusoidal")
    early, late = by_pos[none][3:6].mean().item(), by_pos[none][12:].mean().item()
    ctx.claim(early > late + 0.1,
              "without PE, the right answers it does find are mostly at early positions, where there are "
              "few tokens to choose from", f"accuracy at positions 3-5: {early:.2f}, at 12-15: {late:.2f}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in SCHEMES:
        s, a = zip(*curves[name])
        ax1.plot(s, a, marker="o", ms=3, color=COLORS[name], label=name)
    ax1.axhline(1 / task.n_symbols, color="k", ls=":", lw=1)
    ax1.text(steps * 0.6, 1 / task.n_symbols + 0.02, "blind guess (1/16)", fontsize=8)
    ax1.set_xlabel("training step")
    ax1.set_ylabel("accuracy")
    ax1.set_ylim(0, 1.05)
    ax1.set_title("LookBack (k = 3): predict the token 3 positions back", fontsize=10)
    ax1.legend(fontsize=8)
    positions = torch.arange(task.seq_len)[scored]
    for name in SCHEMES:
        style = {"ls": "--", "lw": 2.5, "zorder": 3} if name == "sinusoidal" else {}  # visible over RoPE at 1.0
        ax2.plot(positions, by_pos[name][scored], marker="o", ms=3, color=COLORS[name], label=name, **style)
    ax2.plot(positions, 1 / (positions + 1), color="k", ls=":", lw=1, label="1 / (number of visible tokens)")
    ax2.set_xlabel("position t in the sequence")
    ax2.set_ylabel(f"accuracy after {steps} steps")
    ax2.set_ylim(0, 1.05)
    ax2.set_title("Accuracy per position", fontsize=10)
    ax2.legend(fontsize=8)
    ctx.save(fig, "order_task.png")
