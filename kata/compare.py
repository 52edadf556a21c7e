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
        fail(f"{what} should be a torch.Tensor, got {_describe_type(actual)}")
    if actual.shape != like.shape:
        hint = ""
        if actual.dim() == like.dim() - 1 or (actual.dim() == like.dim() and actual.shape[-1] == 1):
            hint = " (a reduction without keepdim=True, or broadcasting the wrong way?)"
        elif actual.dim() == like.dim() and actual.numel() > like.numel():
            hint = (" (two operands broadcast against each other along the wrong axis: line their axes up, "
                    "e.g. with t[:, None, :])")
        elif actual.numel() == like.numel():
            hint = " (the right values in the wrong layout: a reshape/view where a transpose was needed?)"
        fail(f"{what} has shape {tuple(actual.shape)}, expected {tuple(like.shape)}{hint}")
    if actual.dtype != like.dtype:
        if like.dtype == torch.bool:
            fail(f"{what} has dtype {actual.dtype}, expected torch.bool: build it with dtype=torch.bool "
                 f"(True = allowed), or as a comparison such as j <= i")
        if actual.dtype == torch.float64 and like.dtype == torch.float32:
            fail(f"{what} has dtype torch.float64, expected torch.float32: a float64 tensor (arange(..., "
                 f"dtype=torch.float64), torch.tensor of a numpy value, ...) reaches the result; end with "
                 f".float() (or .to(x.dtype) when there is an input x)")
        fail(f"{what} has dtype {actual.dtype}, expected {like.dtype}: the output's dtype follows the "
             f"input's; make .to(x.dtype) the very last step (an operation after it, such as multiplying "
             f"by a float32 weight, promotes the result again)")
    if actual.device.type != like.device.type:
        fail(f"{what} is on device {actual.device}, expected {like.device}: create new tensors with "
             f"device=x.device (or *_like helpers)")


def _describe_type(obj) -> str:
    """What was returned instead of a tensor, and the usual reason for it."""
    name = type(obj).__name__
    if obj is None:
        return "None: the function ends without `return` (or returns on a path that never runs)"
    if isinstance(obj, tuple):
        return (f"a tuple of {len(obj)}: return only the tensor (a trailing comma, or an extra value "
                f"returned for debugging?)")
    if isinstance(obj, list):
        return "a list: return the tensor itself (no .tolist(), no list of rows)"
    if name == "ndarray":
        return "a numpy array: return the torch tensor itself (.numpy() loses dtype, device and gradients)"
    if isinstance(obj, (int, float, bool)):
        return f"a Python {name}: return a tensor, not .item() or a Python number"
    return name


def assert_unchanged(after: torch.Tensor, before: torch.Tensor, name: str = "x") -> None:
    """An input must come back from the learner's call exactly as it went in."""
    if torch.equal(after, before):
        return
    n = int((after != before).sum()) if after.shape == before.shape else after.numel()
    fail(f"your code changed its input {name} in place ({n} of {before.numel()} values): compute into new "
         f"tensors (y = x * s, not x *= s, x += ..., x.mul_(s) or x[...] = ...)")


def load_reference_weights(mine, theirs, name: str) -> None:
    """Load the reference module's state dict into the learner's (strict), naming any mismatch."""
    if not isinstance(mine, torch.nn.Module):
        fail(f"{name}(...) should build a torch.nn.Module, got {type(mine).__name__}")
    want = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    have = {k: tuple(v.shape) for k, v in mine.state_dict().items()}
    if want == have:
        mine.load_state_dict(theirs.state_dict(), strict=True)
        return
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if extra:
        parts.append("unexpected " + ", ".join(extra))
    resized = [k for k in sorted(set(want) & set(have)) if want[k] != have[k]]
    if resized:
        parts.append("wrong shape " + ", ".join(f"{k} {have[k]} (expected {want[k]})" for k in resized))
    advice = ("use exactly the names of the docstring (state dicts load by name)" if missing or extra
              else "check the sizes the docstring gives each layer")
    if any(k.endswith(".bias") for k in extra):
        advice += "; the contract's linear layers have no bias (bias=False)"
    if missing and not have:
        advice = ("your module has no parameters: make each weight an nn.Parameter (or an nn.Linear) "
                  "assigned to self after super().__init__()")
    fail(f"{name}'s parameters do not match the contract ({'; '.join(parts)}): {advice}")


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
        fail(f"{what} contains {nonfinite}" + (f"; likely cause: {cause}" if cause else
                                              ": look for sqrt/log of a negative number, 0/0, inf - inf, "
                                              "or an overflow (exp of a large value, a square in float16)"),
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
    if actual.numel() and not bool(torch.isfinite(actual).any()):
        return None  # nothing but NaN/Inf: many different mistakes give that, so it names none
    for cause, out in (suspects or {}).items():
        if isinstance(out, torch.Tensor) and out.shape == actual.shape:
            if bool(_close_mask(actual, out, rtol, atol).all()):
                return cause
    return None


def assert_equal(actual, expected, *, what: str = "output", hint: str = "",
                 suspects: Mapping[str, torch.Tensor] | None = None) -> None:
    """Exact equality (integers, bools, or results that must be bit-identical)."""
    if isinstance(expected, torch.Tensor):
        check_tensor(actual, like=expected, what=what)
        if not torch.equal(actual, expected):
            diff = (actual != expected).nonzero()
            first = tuple(int(i) for i in diff[0]) if len(diff) else ()
            cause = next((c for c, out in (suspects or {}).items()
                          if isinstance(out, torch.Tensor) and out.shape == actual.shape
                          and out.dtype == actual.dtype and torch.equal(out, actual)), None)
            fail(f"{what} is not exactly as expected ({len(diff)} values differ, first at {first})"
                 + (f"; likely cause: {cause}" if cause else ""),
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


def _where(exc: BaseException) -> str:
    from .plugin import _learner_frame  # lazily: the plugin imports this module
    where = _learner_frame(exc)
    return f" (raised at {where})" if where else ""


NEW_TENSOR_ADVICE = ("a tensor was created on the default device (cpu) while the inputs are on another one; "
                     "pass device=x.device (or use torch.*_like / x.new_*) for every tensor you create")
MODULE_DEVICE_ADVICE = ("a tensor of the module did not move with .to(device): make weights nn.Parameter "
                        "(fixed tensors: self.register_buffer), and create per-call tensors with device=x.device")


def on_meta(call: Callable, what: str = "your code", advice: str = NEW_TENSOR_ADVICE):
    """call() on meta-device inputs; a tensor left on the cpu becomes a plain sentence."""
    try:
        return call()
    except (RuntimeError, TypeError) as e:
        text = str(e)
        if "device" not in text or not ("cpu" in text or "same device" in text):
            raise
        fail(f"{what} mixes devices: {advice}{_where(e)}", text.splitlines()[0] if text else "")


def backward_of(loss_fn: Callable, what: str = "the output"):
    """loss_fn().backward(), with a sentence when nothing in the output needs a gradient."""
    loss = loss_fn()
    try:
        loss.backward()
    except RuntimeError as e:
        if "does not require grad" in str(e):
            fail(f"{what} is not connected to any tensor that needs a gradient: weights must be nn.Parameter "
                 f"(or nn.Linear) attributes used in forward, and no step may detach the result "
                 f"(.detach(), .item(), numpy, torch.no_grad())")
        if "inplace operation" in str(e) or "in-place operation" in str(e):
            fail(f"backward fails: a tensor autograd needs was changed in place (x *= ..., .mul_(), "
                 f"x[...] = ...); write the result to a new tensor instead{_where(e)}")
        raise


def uses(*parts: tuple[str, Callable[[], bool]]):
    """Decorate a test of an exercise that calls the learner's own earlier parts. `parts` are
    (name, check) pairs, check() -> True when that part agrees with the reference on a probe. When
    the test fails and a part disagrees, the failure names the part instead of this exercise."""
    import functools

    def decorate(test):
        @functools.wraps(test)
        def wrapped(*args, **kwargs):
            from .forbid import ForbiddenCall
            from .impl import ContractError, ImplImportError
            own = (NotImplementedError, ImplImportError, ContractError, ForbiddenCall)

            try:
                return test(*args, **kwargs)
            except own:
                raise  # not started, broken, a missing name, a forbidden call: the plugin names them
            except Exception as e:  # noqa: BLE001 - any failure may come from a part
                if type(e).__name__ == "KataTimeout":  # never probe after a timeout: it could hang again
                    raise
                for name, check in parts:
                    try:
                        good = bool(check())
                    except own:
                        raise e from None
                    except Exception:  # noqa: BLE001 - a part that crashes on the probe is wrong
                        good = False
                    if not good:
                        fail(f"this exercise calls your {name}, which does not match the contract yet: "
                             f"fix {name} first (its own tests say what is wrong)")
                raise
        return wrapped
    return decorate


def agrees(a, b, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """a and b are tensors (or tuples of tensors) of one shape and dtype with close values."""
    if isinstance(b, tuple):
        return isinstance(a, tuple) and len(a) == len(b) and all(agrees(x, y, rtol, atol) for x, y in zip(a, b))
    return (isinstance(a, torch.Tensor) and a.shape == b.shape and a.dtype == b.dtype
            and bool(torch.allclose(a, b, rtol=rtol, atol=atol)))
