"""Tolerances and the one comparison helper every suite uses.

A failed check raises KataFailure with two texts: `short`, one line that never contains expected
values (what hidden tests show), and the full message with the evidence a learner needs: shape,
dtype, device, NaN/Inf location, the worst element, and the likely cause when the output matches a
known mistake (see kata/mistakes/)."""
from __future__ import annotations

import warnings
from typing import Callable, Mapping

import torch

# (rtol, atol) for comparing one component against the reference. Float32 allows for a different
# but equivalent formula (rsqrt vs 1/sqrt, float64 internals, einsum): a few ulps of float32.
# Half precisions allow two roundings at the output's magnitude (the cast-back order may differ).
TOLERANCE: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-7, 1e-9),
    torch.float32: (1e-5, 1e-6),
    torch.float16: (2e-3, 2e-3),
    torch.bfloat16: (1.6e-2, 1.6e-2),
}


class KataFailure(AssertionError):
    """A check failed. `short` is safe to show for hidden tests (no expected values)."""

    def __init__(self, short: str, details: str = ""):
        self.short = short
        super().__init__(short + (("\n" + details) if details else ""))


def fail(short: str, details: str = "") -> None:
    raise KataFailure(short, details)


def tolerance(dtype: torch.dtype, scale: float = 1.0) -> tuple[float, float]:
    rtol, atol = TOLERANCE.get(dtype, TOLERANCE[torch.float32])
    return rtol * scale, atol * scale


def _fmt_index(flat: int, shape: torch.Size) -> tuple[int, ...]:
    return tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), shape))


def describe_nonfinite(t: torch.Tensor) -> str | None:
    """'2 NaN, first at (0, 3)', or None when every value is finite."""
    bad = ~torch.isfinite(t)
    if not bad.any():
        return None
    n_nan = int(torch.isnan(t).sum())
    n_inf = int(bad.sum()) - n_nan
    first = _fmt_index(int(bad.flatten().nonzero()[0]), t.shape)
    parts = [f"{n_nan} NaN" if n_nan else "", f"{n_inf} Inf" if n_inf else ""]
    return " and ".join(p for p in parts if p) + f", first at index {first}"


def _close_mask(actual: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> torch.Tensor:
    a, e = actual.detach().double(), expected.detach().double()
    return torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)


def check_tensor(actual, *, like: torch.Tensor, what: str = "output") -> None:
    """Type, shape, dtype and device of `actual` against `like` (usually the reference output)."""
    if not isinstance(actual, torch.Tensor):
        fail(f"{what} should be a torch.Tensor, got {type(actual).__name__}")
    if actual.shape != like.shape:
        hint = ""
        if actual.dim() == like.dim() - 1 or (actual.dim() == like.dim() and actual.shape[-1] == 1):
            hint = " (a reduction without keepdim=True, or broadcasting the wrong way?)"
        fail(f"{what} has shape {tuple(actual.shape)}, expected {tuple(like.shape)}{hint}")
    if actual.dtype != like.dtype:
        fail(f"{what} has dtype {actual.dtype}, expected {like.dtype}: the output's dtype follows the "
             f"input's; make .to(x.dtype) the very last step (an operation after it, such as multiplying "
             f"by a float32 weight, promotes the result again)")
    if actual.device.type != like.device.type:
        fail(f"{what} is on device {actual.device}, expected {like.device}: create new tensors with "
             f"device=x.device (or *_like helpers)")


def assert_close(actual, expected: torch.Tensor, *, what: str = "output",
                 rtol: float | None = None, atol: float | None = None,
                 suspects: Mapping[str, torch.Tensor] | None = None,
                 hint: str = "", against: str = "the reference") -> None:
    """Compare `actual` to `expected` with a dtype-aware tolerance and a diagnosis on failure.

    against: what `expected` is, for the message ("the unpermuted output", "the formula", ...).
    suspects: outputs of known mistakes on the same input, keyed by the likely cause; when the
    actual output matches one of them, the message names that cause."""
    check_tensor(actual, like=expected, what=what)
    if expected.device.type == "meta":
        return
    d_rtol, d_atol = tolerance(expected.dtype)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    nonfinite = describe_nonfinite(actual)
    if nonfinite and describe_nonfinite(expected) is None:
        cause = _match_suspect(actual, suspects, rtol, atol)
        fail(f"{what} contains {nonfinite}" + (f"; likely cause: {cause}" if cause else ""),
             hint)
    ok = _close_mask(actual, expected, rtol, atol)
    if bool(ok.all()):
        return
    a, e = actual.detach().double(), expected.detach().double()
    err = (a - e).abs().nan_to_num(nan=float("inf"))
    worst = int(err.flatten().argmax())
    idx = _fmt_index(worst, actual.shape)
    rel = float(err.flatten()[worst] / e.flatten()[worst].abs().clamp_min(1e-30))
    n_bad = int((~ok).sum())
    short = (f"{what} differs from {against} in {n_bad} of {ok.numel()} values "
             f"(max abs error {float(err.flatten()[worst]):.3g}, relative {rel:.3g})")
    cause = _match_suspect(actual, suspects, rtol, atol)
    if cause:
        short += f"; likely cause: {cause}"
    details = (f"worst at index {idx}: got {float(a.flatten()[worst]):.6g}, expected "
               f"{float(e.flatten()[worst]):.6g} (rtol={rtol:g}, atol={atol:g}, dtype {expected.dtype})")
    fail(short, details + (f"\nhint: {hint}" if hint else ""))


def _match_suspect(actual, suspects, rtol, atol) -> str | None:
    for cause, out in (suspects or {}).items():
        if isinstance(out, torch.Tensor) and out.shape == actual.shape:
            if bool(_close_mask(actual, out, rtol, atol).all()):
                return cause
    return None


def assert_equal(actual, expected, *, what: str = "output", hint: str = "") -> None:
    """Exact equality (integers, bools, or results that must be bit-identical)."""
    if isinstance(expected, torch.Tensor):
        check_tensor(actual, like=expected, what=what)
        if not torch.equal(actual, expected):
            diff = (actual != expected).nonzero()
            first = tuple(int(i) for i in diff[0]) if len(diff) else ()
            fail(f"{what} is not exactly as expected ({len(diff)} values differ, first at {first})",
                 f"got {actual[first].item() if first else actual}, expected "
                 f"{expected[first].item() if first else expected}" + (f"\nhint: {hint}" if hint else ""))
    elif actual != expected:
        fail(f"{what} is {actual!r}, expected {expected!r}", hint)


def suspects_from(mistakes, exercise: str, call: Callable) -> dict[str, torch.Tensor]:
    """Outputs of every known mistake of `exercise` on the same call, keyed by their cause.

    `call(fn)` runs one implementation of the exercise; mistakes that crash are skipped."""
    out = {}
    for m in mistakes:
        if m.exercise != exercise or exercise not in m.overrides:
            continue
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a mistake's own warnings are not the learner's
                out[m.cause] = call(_on_copies(m.overrides[exercise]))
        except Exception:  # noqa: BLE001 - a mistake that crashes on this input says nothing here
            pass
    return out


def _on_copies(fn):
    """fn, called on clones of its tensor arguments: an in-place mistake must not change the test's
    inputs (or the learner's output, when the learner returned an input)."""
    if isinstance(fn, type):  # a module class: its forward gets the inputs
        return fn

    def clone(v):
        return v.clone() if isinstance(v, torch.Tensor) else v

    def wrapped(*args, **kwargs):
        return fn(*map(clone, args), **{k: clone(v) for k, v in kwargs.items()})
    return wrapped
