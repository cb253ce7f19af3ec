"""Staged comparisons used by the checks. Each raises `CheckFailed` at the first problem.

The order is design.md §4: type → shape → dtype → NaN/Inf → values. A value mismatch reports
the largest error, where it is, expected vs got there, the norm-wise relative error and summary
statistics; then, if a diagnosis function is given, the named misconception it matches.
Comparisons run here, in the grader: nothing the student's code does to NumPy in the worker
can change them.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

import numpy as np

from autograder.course import Tolerance
from autograder.grading.feedback import CheckFailed, Feedback
from autograder.i18n import Msg, msg
from autograder.sandbox.client import Opaque, Raised, StudentError

Diagnose = Callable[[np.ndarray, np.ndarray, Tolerance], "str | None"]
"""``diagnose(got, expected, tol)``: the id of the misconception that explains `got`, or None
(see `autograder.grading.misconceptions.diagnosis`)."""


Witness = Callable[[str, str, Any, np.ndarray], None]
"""``witness(name, function, got, expected)``, told of every array comparison."""
_witness: ContextVar[Witness | None] = ContextVar("witness", default=None)


@contextmanager
def witnessed(witness: Witness) -> Iterator[None]:
    """Tell `witness` about every `expect_array` comparison made in the block (``grade inspect``
    shows the student's array beside the expected one)."""
    token = _witness.set(witness)
    try:
        yield
    finally:
        _witness.reset(token)


def describe_type(value: Any) -> Msg | str:
    """A short, student-friendly name for the type of a returned value."""
    if isinstance(value, Opaque):
        return value.type_name
    if isinstance(value, np.ndarray):
        return msg("types.array", shape=_shape(value.shape))
    if isinstance(value, np.generic):
        return msg("types.scalar", name=type(value).__name__)
    if isinstance(value, (tuple, list)):
        return msg(f"types.{'tuple' if isinstance(value, tuple) else 'list'}", length=len(value))
    return "None" if value is None else type(value).__name__


def fail(stage: str, summary: Msg, *details: Msg, owner: str | None = None, misconception: str | None = None,
         **data: Any) -> None:
    """Fail the check at `stage`; `misconception` names a known mistake the check recognised."""
    raise CheckFailed(Feedback(stage, summary, list(details), misconception=misconception, data=data), owner=owner)


def expect_tuple(value: Any, names: tuple[str, ...], *, function: str, owner: str | None = None) -> tuple:
    """`value` must be a tuple (or list) of ``len(names)`` items; returns them."""
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        fail("type", msg("compare.tuple", function=function, names=", ".join(names), count=len(names),
                         got=describe_type(value)), owner=owner)
    return tuple(value)


def expect_none(value: Any, *, name: str, function: str, reason: Msg, owner: str | None = None) -> None:
    if value is not None:
        fail("type", msg("compare.none", name=name, function=function, got=describe_type(value)), reason,
             owner=owner)


def expect_array(got: Any, expected: np.ndarray, *, name: str, function: str, tol: Tolerance,
                 dtype: np.dtype | type | None = None, owner: str | None = None,
                 diagnose: Diagnose | None = None) -> None:
    """`got` must be an ndarray of the expected shape (and dtype), finite, and close to `expected`."""
    where = {"name": name, "function": function}
    witness = _witness.get()
    if witness is not None:
        witness(name, function, got, np.asarray(expected))
    if type(got) is not np.ndarray:
        fail("type", msg("compare.type", **where, got=describe_type(got)), owner=owner)
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        details = [_shape_hint(got.shape, expected.shape)] if _shape_hint(got.shape, expected.shape) else []
        feedback = Feedback("shape", msg("compare.shape", **where, expected=_shape(expected.shape),
                                         got=_shape(got.shape)), details,
                            data={"expected_shape": list(expected.shape), "got_shape": list(got.shape)})
        raise CheckFailed(_diagnosed(feedback, diagnose, got, expected, tol), owner=owner)
    wanted = np.dtype(dtype) if dtype is not None else None
    if got.dtype.kind != "f" or (wanted is not None and got.dtype != wanted):
        fail("dtype", msg("compare.dtype", **where, expected=str(wanted or "a floating-point dtype"),
                          got=str(got.dtype)), owner=owner, expected_dtype=str(wanted), got_dtype=str(got.dtype))
    with np.errstate(all="ignore"):
        bad = ~np.isfinite(got) & np.isfinite(expected)
    if bad.any():
        index = _index(np.argwhere(bad)[0])
        feedback = Feedback("nonfinite", msg("compare.nonfinite", **where, count=int(bad.sum()), total=got.size,
                                             index=index, value=str(got[tuple(np.argwhere(bad)[0])])),
                            data={"count": int(bad.sum())})
        raise CheckFailed(_diagnosed(feedback, diagnose, got, expected, tol), owner=owner)
    mismatch = value_mismatch(got, expected, tol)
    if mismatch is not None:
        summary, details, data = mismatch
        feedback = Feedback("values", msg(summary.pop("key"), **where, **summary), details, data=data)
        raise CheckFailed(_diagnosed(feedback, diagnose, got, expected, tol), owner=owner)


def _diagnosed(feedback: Feedback, diagnose: Diagnose | None, got: np.ndarray, expected: np.ndarray,
               tol: Tolerance) -> Feedback:
    """Name the misconception behind a wrong value, or say plainly that none matches."""
    if diagnose is not None:
        feedback.misconception = diagnose(got, expected, tol)
        if feedback.misconception is None and feedback.stage == "values":
            feedback.details.append(msg("compare.no_misconception"))
    return feedback


def median(values: np.ndarray) -> float:
    """``np.median`` of all the values (NaN when one is NaN), without its NaN check, which
    imports ``numpy.ma`` on first use: about 20 ms of a grading run."""
    ordered = np.sort(np.asarray(values), axis=None)
    if ordered.size == 0 or np.isnan(ordered[-1]):
        return float("nan")
    middle = (ordered.size - 1) // 2
    return float(np.mean(ordered[middle:middle + 2 - ordered.size % 2]))


def outside_tolerance(got: np.ndarray, expected: np.ndarray, tol: Tolerance) -> tuple[np.ndarray, float]:
    """`Tolerance`'s rule on two float64 arrays of one shape: where `got` is outside the
    element-wise band, and the norm-wise relative error (accepted: no entry outside and a
    relative error up to rtol)."""
    with np.errstate(all="ignore"):
        scale = max(float(np.max(np.abs(expected), initial=0.0)), 1.0)
        outside = np.abs(got - expected) > tol.atol * scale + tol.rtol * np.abs(expected)
        relative = float(np.linalg.norm(got - expected)) / max(float(np.linalg.norm(expected)), tol.atol)
    return outside, relative


def value_mismatch(got: np.ndarray, expected: np.ndarray, tol: Tolerance) -> tuple[dict, list[Msg], dict] | None:
    """None when `got` is within tolerance; else (summary params, detail lines, data)."""
    got64 = np.asarray(got, dtype=np.float64)
    exp64 = np.asarray(expected, dtype=np.float64)
    outside, relative = outside_tolerance(got64, exp64, tol)
    if not outside.any() and relative <= tol.rtol:
        return None
    with np.errstate(all="ignore"):
        error = np.abs(got64 - exp64)
    norm = float(np.linalg.norm(exp64))
    flat = int(np.nanargmax(np.where(np.isfinite(error), error, -1.0))) if error.size else 0
    index = np.unravel_index(flat, error.shape) if error.ndim else ()
    summary = {"key": "compare.values" if norm > 0 else "compare.values_zero",
               "relative": f"{relative:.3g}", "count": int(outside.sum()), "total": int(got64.size)}
    details = [
        msg("compare.max_error", error=f"{float(error[index]):.3g}", index=_index(index),
            expected=_number(exp64[index]), got=_number(got64[index])),
        msg("compare.stats", expected_mean=_number(exp64.mean()), expected_std=_number(exp64.std()),
            got_mean=_number(got64.mean()), got_std=_number(got64.std())),
        msg("compare.tolerance", rtol=f"{tol.rtol:g}"),
    ]
    data = {"max_abs_error": float(error[index]), "index": [int(i) for i in index],
            "relative_error": relative, "mismatched": int(outside.sum()), "size": int(got64.size)}
    return summary, details, data


def expect_raises(call: Callable[[], Any], exception: str, *, function: str, reason: Msg) -> None:
    """`call()` must raise `exception` (or a subclass) in the student's code."""
    try:
        call()
    except Raised as error:
        if exception in (error.detail.get("mro") or [error.detail.get("type")]):
            return
        if error.not_implemented:
            raise
        fail("raises", msg("compare.raised_other", function=function, expected=exception,
                           got=error.detail.get("type", "?"), message=error.detail.get("message", "")), reason)
    fail("raises", msg("compare.not_raised", function=function, expected=exception), reason)


def expect_unchanged(before: np.ndarray, after: Any, *, name: str, function: str,
                     misconception: str | None = None) -> None:
    """An input array must come back from the call exactly as it went in. `misconception`
    names what modifying this input in place means, where that is a known mistake."""
    if type(after) is np.ndarray and after.shape == before.shape and np.array_equal(after, before, equal_nan=True):
        return
    index = "?"
    if type(after) is np.ndarray and after.shape == before.shape:
        changed = np.argwhere(~((after == before) | (np.isnan(after) & np.isnan(before))))
        index = _index(changed[0]) if len(changed) else "?"
    feedback = Feedback("mutation", msg("compare.mutated", name=name, function=function, index=index),
                        misconception=misconception)
    raise CheckFailed(feedback)


ANSWER_STAGES = ("exception", "type", "shape", "dtype", "nonfinite", "values", "raises")


@contextmanager
def rule(name: str, *stages: str) -> Iterator[None]:
    """The block checks contract rule `name` (``contract.rules.<name>``): a failure
    inside it at one of `stages` (by default any stage of an answer, an exception in the
    student's code included) is a contract miss, reported with the rule and its fix instead of
    as a wrong value."""
    stages = stages or ANSWER_STAGES
    try:
        yield
    except CheckFailed as failure:
        if failure.feedback.stage in stages:
            failure.feedback.rule = name
        raise
    except Raised as error:
        if "exception" in stages and not error.not_implemented:
            error.rule = name  # read by the plugin when it explains the exception
        raise


@contextmanager
def probed(misconception: str, probe: Callable[[], bool] | None) -> Iterator[None]:
    """A wrong value inside the block is explained by `misconception` when `probe()`, another
    call of the student's function on inputs chosen to show that mistake, says so (a probe
    that fails in the student's code says no). None: no probe applies to this check."""
    try:
        yield
    except CheckFailed as failure:
        feedback = failure.feedback
        if probe is not None and feedback.stage in ("values", "nonfinite") and _says_yes(probe):
            feedback.misconception = misconception
            feedback.details = [d for d in feedback.details if d.key != "compare.no_misconception"]
        raise


def _says_yes(probe: Callable[[], bool]) -> bool:
    try:
        return bool(probe())
    except (CheckFailed, StudentError):
        return False


def right_answer(got: Any, expected: np.ndarray, tol: Tolerance) -> bool:
    """`got` is a finite float array of the expected shape, within tolerance."""
    return (type(got) is np.ndarray and got.shape == np.shape(expected) and got.dtype.kind == "f"
            and bool(np.isfinite(got).all()) and value_mismatch(got, expected, tol) is None)


@contextmanager
def explained(reason: Msg) -> Iterator[None]:
    """Append `reason` to the details of a `CheckFailed` raised inside the block."""
    try:
        yield
    except CheckFailed as failure:
        failure.feedback.details.append(reason)
        raise


@contextmanager
def after_property(held: Msg) -> Iterator[None]:
    """A check of one property (inputs left unchanged, an error raised) also compares the
    results, so that code doing nothing right cannot earn it. When the property held and only
    the results are wrong, the failure says so first."""
    try:
        yield
    except CheckFailed as failure:
        failure.feedback.summary = msg("compare.property_held", held=held, problem=failure.feedback.summary)
        raise


def unchanged(*names: str) -> Msg:
    """"x, gamma and beta are left unchanged" (what `after_property` says held)."""
    return msg("compare.held_unchanged", names=", ".join(names))


def raised(function: str, exception: str) -> Msg:
    return msg("compare.held_raised", function=function, exception=exception)


def _shape(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _index(index) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _number(value: float) -> str:
    return f"{float(value):.6g}"


def _shape_hint(got: tuple, expected: tuple) -> Msg | None:
    """Name the usual shape mistakes: kept dimensions, a transpose, a missing reduction."""
    if len(got) > len(expected) and tuple(s for s in got if s != 1) == tuple(s for s in expected if s != 1):
        return msg("compare.shape_keepdims")
    if len(got) > len(expected) and got[-len(expected):] == expected:
        return msg("compare.shape_not_reduced")
    if sorted(got) == sorted(expected):
        return msg("compare.shape_transposed")
    return None
