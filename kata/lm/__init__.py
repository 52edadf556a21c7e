"""The capstone's language-model tooling: the shipped text and its character tokenizer (data.py),
training on the CPU within a fixed time (train.py), and sampling from a checkpoint (generate.py)."""
import os

# Idle OpenMP threads sleep instead of spinning: on a busy 2-core machine, spinning threads made
# 2-thread training 6x slower than 1 thread (measured); with PASSIVE, 2 threads no longer collapse.
# It must be set before torch loads OpenMP, i.e. before `import torch` in this package's modules.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
