"""Experiments, one package per module: experiments/<module>/<name>.py (see kata/lab)."""
