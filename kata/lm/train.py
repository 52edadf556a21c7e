"""Train TinyLM on the shipped text for a fixed wall-clock budget, then sample from it.

    make train                      # your capstone (IMPL=exercises), 120 s
    make train IMPL=reference       # watch the reference train
    python -m kata.lm.train --seconds 30 --impl reference --out results/capstone

Prints a progress bar with the loss, evaluates the validation loss in bits per character next to
the unigram baseline, plots loss.png, saves tinylm.pt (weights, config, vocabulary) and prints a
sample."""
from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

from .data import CharTokenizer, get_batch, load_text, split, unigram_bits

OUT = Path(__file__).resolve().parents[2] / "results" / "capstone"
# Chosen by 30 s and 120 s trials on a busy 2-core machine: in a budget this short the number of
# steps matters most, and dim 128 / 3 layers, or batches of 32, reached the same loss with half the
# steps. max_len = SEQ: generating past the trained length would use positions never trained on.
CONFIG = dict(dim=96, n_layers=2, n_heads=4, n_kv_heads=2, max_len=128)
BATCH, SEQ, LR, WARMUP = 8, 128, 5e-3, 30
LN2 = math.log(2)


def capstone(impl_name: str):
    return importlib.import_module(f"{impl_name}.capstone")


def build(impl_name: str, vocab_size: int, config: dict = CONFIG, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return capstone(impl_name).TinyLM(vocab_size, **config)


def smoke_test(model: nn.Module) -> None:
    """Fail in a second, not after training: run every exercise the script relies on once."""
    tokens = torch.zeros(1, 3, dtype=torch.long)
    model(tokens).sum().backward()
    model.zero_grad(set_to_none=True)
    model.generate(tokens, 2, temperature=1.0, generator=torch.Generator().manual_seed(0))


def lr_at(step: int, elapsed_fraction: float, lr: float = LR, warmup: int = WARMUP) -> float:
    """Linear warm-up, then a cosine decay to a tenth over the time budget (not a step count: the
    number of steps that fit depends on the machine)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(elapsed_fraction, 1.0))))


def train_step(model, opt, x, y) -> float:
    logits = model(x)
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


def fit(model, train_ids, *, steps: int | None = None, seconds: float | None = None, batch: int = BATCH,
        seq: int = SEQ, lr: float = LR, warmup: int = WARMUP, seed: int = 0, on_step=None) -> list[float]:
    """AdamW for `steps` steps or `seconds` of wall time, whichever ends first. Returns the losses
    (nats per token); on_step(step, loss, elapsed) is called after each step."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    model.train()
    losses, start = [], time.perf_counter()
    while True:
        elapsed = time.perf_counter() - start
        if (steps is not None and len(losses) >= steps) or (seconds is not None and elapsed >= seconds):
            return losses
        fraction = elapsed / seconds if seconds else len(losses) / steps
        for g in opt.param_groups:
            g["lr"] = lr_at(len(losses), fraction, lr, warmup)
        losses.append(train_step(model, opt, *get_batch(train_ids, batch, seq, gen)))
        if on_step:
            on_step(len(losses), losses[-1], time.perf_counter() - start)


@torch.no_grad()
def evaluate_bits(model, ids, batches: int = 8, batch: int = BATCH, seq: int = SEQ, seed: int = 1234) -> float:
    """Mean validation loss in bits per character over fixed random windows."""
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    total = 0.0
    for _ in range(batches):
        x, y = get_batch(ids, batch, seq, gen)
        logits = model(x)
        total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item()
    model.train()
    return total / batches / LN2


def plot(losses, evals, baseline, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    bits = [v / LN2 for v in losses]
    w = 20
    smooth = [sum(bits[max(0, i - w + 1):i + 1]) / len(bits[max(0, i - w + 1):i + 1]) for i in range(len(bits))]
    ax.plot(range(1, len(bits) + 1), bits, color="tab:blue", alpha=0.25, lw=0.8)
    # A trailing mean lags the curve by half its window: plot each mean at its window's centre.
    ax.plot([i + 1 - min(i, w - 1) / 2 for i in range(len(bits))], smooth, color="tab:blue", label="train (smoothed)")
    if evals:
        ax.plot(*zip(*evals), "o-", color="tab:orange", label="validation")
    ax.axhline(baseline, color="gray", ls="--", label=f"unigram baseline {baseline:.2f}")
    ax.set(xlabel="step", ylabel="bits per character", title="TinyLM on Moby-Dick")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def not_written_message(impl_name: str) -> str:
    return (f"Your capstone is not finished yet ({impl_name}.capstone, or a block it uses, still raises "
            f"NotImplementedError): get `make test-capstone` passing first, or run `make train IMPL=reference` "
            f"to watch the reference model train.")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m kata.lm.train", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120.0, help="wall-clock training budget (default 120)")
    p.add_argument("--impl", default=os.environ.get("IMPL") or "exercises", help="package (default $IMPL or exercises)")
    p.add_argument("--out", type=Path, default=OUT, help="folder for loss.png and tinylm.pt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2; 1 is faster on a busy machine)")
    args = p.parse_args(argv)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    torch.set_num_threads(args.threads)
    console = Console()
    text = load_text()
    tok = CharTokenizer(text)
    train_ids, val_ids = split(tok.encode(text))
    baseline = unigram_bits(val_ids)
    try:
        model = build(args.impl, tok.vocab_size, seed=args.seed)
        smoke_test(model)
    except NotImplementedError:
        console.print(not_written_message(args.impl), style="bold red", highlight=False)
        return 1
    except (ImportError, SyntaxError) as e:
        console.print(f"{args.impl}.capstone does not import ({type(e).__name__}: {e}); "
                      f"`make test-capstone` shows where.", style="bold red", highlight=False, markup=False)
        return 1
    n_params = sum(p.numel() for p in model.parameters())
    console.print(f"TinyLM({tok.vocab_size}, {CONFIG}) from {args.impl}: {n_params:,} parameters; "
                  f"{len(train_ids):,} training characters; {args.seconds:g} s budget; "
                  f"unigram baseline {baseline:.2f} bits/char", highlight=False)

    evals, next_eval, every = [], 0.0, max(args.seconds / 8, 5.0)
    columns = [TextColumn("[bold]training"), BarColumn(), TextColumn("{task.fields[info]}"), TimeRemainingColumn()]
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("train", total=args.seconds, info="")

        def on_step(step, loss, elapsed):
            nonlocal next_eval
            info = f"step {step}  loss {loss / LN2:.2f} bits/char"
            if elapsed >= next_eval:  # a few validation points for the plot (cheap: 2 batches)
                evals.append((step, evaluate_bits(model, val_ids, batches=2)))
                next_eval = elapsed + every
            if evals:
                info += f"  val {evals[-1][1]:.2f}"
            bar.update(task, completed=min(elapsed, args.seconds), info=info)

        losses = fit(model, train_ids, seconds=args.seconds, seed=args.seed, on_step=on_step)
    val = evaluate_bits(model, val_ids, batches=16)
    evals.append((len(losses), val))
    console.print(f"{len(losses)} steps; validation {val:.3f} bits/char (unigram baseline {baseline:.2f})",
                  highlight=False)
    rate = len(losses) / args.seconds
    if rate < 15:  # an idle 2-core machine runs about 30 steps/s of the reference
        console.print(f"Only {rate:.0f} steps/s (about 30 on an idle 2-core machine): other programs are "
                      f"competing for the CPU, so the model saw fewer batches. Train again with the machine "
                      f"idle, or with ARGS=\"--threads 1\", for a better model in the same time.", style="yellow",
                      highlight=False)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(losses, evals, baseline, args.out / "loss.png")
    torch.save({"state_dict": model.state_dict(), "config": CONFIG, "chars": tok.chars, "impl": args.impl,
                "val_bits": val, "steps": len(losses), "seconds": args.seconds}, args.out / "tinylm.pt")
    console.print(f"saved {args.out / 'loss.png'} and {args.out / 'tinylm.pt'}", highlight=False)
    if args.impl == "exercises":  # a milestone of the path (status and the report tick it)
        from .. import progress
        progress.update(lambda d: d["experiments"].__setitem__(
            "capstone/train", f"{progress.now()}: {val:.2f} bits/char after {args.seconds:g} s"))
    prompt = "Call me Ishmael. "
    ids = tok.encode(prompt)[None]
    out = model.generate(ids, CONFIG["max_len"] - ids.shape[1], temperature=0.8,
                         generator=torch.Generator().manual_seed(args.seed))
    console.print("\n[bold]sample[/bold] (temperature 0.8):")
    console.print(tok.decode(out[0]), highlight=False, markup=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
