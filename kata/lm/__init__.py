"""The capstone's language-model tooling: the shipped text and its character tokenizer (data.py),
training on the CPU within a fixed time (train.py), and sampling from a checkpoint (generate.py).

Threads: on a quiet 2-core machine, 2 torch threads with OpenMP's default (spinning) wait policy
ran 31 steps/s, 1 thread 21 steps/s, and 2 threads with OMP_WAIT_POLICY=PASSIVE 18 steps/s; on a
machine busy with other work, spinning threads collapse instead, and `--threads 1` is faster."""
