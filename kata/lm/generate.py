"""Sample text from the checkpoint `make train` saved (results/capstone/tinylm.pt).

    make generate
    make generate ARGS='--prompt "The whale" --tokens 80 --temperature 0.8 --top-k 20'

The model is rebuilt from $IMPL if set, else from the implementation that trained it."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from .data import CharTokenizer
from .train import OUT, capstone, not_written_message


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m kata.lm.generate", description=__doc__.splitlines()[0])
    p.add_argument("--prompt", default="Call me Ishmael. ", help="text the model continues (default: %(default)r)")
    p.add_argument("--tokens", type=int, default=None, help="new characters (default: up to max_len)")
    p.add_argument("--temperature", type=float, default=0.8, help="0 is greedy (default 0.8)")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--impl", default=os.environ.get("IMPL"), help="package (default: the one that trained)")
    p.add_argument("--checkpoint", type=Path, default=OUT / "tinylm.pt")
    args = p.parse_args(argv)
    if not args.checkpoint.exists():
        print(f"No checkpoint at {args.checkpoint}: run `make train` first (or `make train IMPL=reference`).")
        return 1
    ckpt = torch.load(args.checkpoint, map_location="cpu")
    impl_name = args.impl or ckpt["impl"]
    tok = CharTokenizer(chars=ckpt["chars"])
    try:
        prompt = tok.encode(args.prompt)[None]
    except ValueError as e:
        print(f"The prompt has {e}; the model knows only the characters of the training text.")
        return 1
    limit = ckpt["config"]["max_len"] - prompt.shape[1]
    args.tokens = limit if args.tokens is None else args.tokens
    if args.tokens > limit:
        print(f"--tokens {args.tokens} does not fit: this model sees {ckpt['config']['max_len']} positions, "
              f"so at most {limit} new characters after this prompt.")
        return 1
    try:
        model = capstone(impl_name).TinyLM(len(tok.chars), **ckpt["config"])
        model.load_state_dict(ckpt["state_dict"], strict=True)
        model.eval()
        start = time.perf_counter()
        out = model.generate(prompt, args.tokens, temperature=args.temperature, top_k=args.top_k,
                             generator=torch.Generator().manual_seed(args.seed))
    except NotImplementedError:
        print(not_written_message(impl_name))
        return 1
    took = time.perf_counter() - start
    text = tok.decode(out[0])
    cut = len(args.prompt)  # one token per character
    print(f"prompt: {text[:cut]!r}\nmodel:  ...{text[cut:]}")
    print(f"\n({args.tokens} characters in {took:.2f} s from {impl_name}; validation loss at training "
          f"{ckpt['val_bits']:.2f} bits/char)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
