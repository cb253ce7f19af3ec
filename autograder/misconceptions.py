"""Named misconceptions: known wrong ways to compute a result, recognised in a wrong answer.

Each entry is a *variant*: the reference computation with one idea wrong, written in NumPy
(float64), for one output of one exercise. When a check finds a wrong value, `diagnose` runs
every variant registered for that output on the check's own inputs. A misconception is named
only when exactly one variant reproduces the student's answer (within the check's tolerance)
while giving a different answer from the right one on these inputs; otherwise nothing is
named and the report falls back to the numbers. Titles and explanations live in the message
catalogs under ``misconceptions.<id>.title`` and ``misconceptions.<id>.explanation``.

Misconceptions that show as a property rather than a value (an input modified in place, a
dropout mask statistic) are named directly by the check that sees them (`NAMED_BY_CHECKS`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

import numpy as np

from autograder.course import Tolerance

Variant = Callable[..., np.ndarray]
VARIANTS: dict[tuple[str, str], list[tuple[str, Variant]]] = defaultdict(list)

# Misconceptions a check names itself (no value variant): id -> exercise.
NAMED_BY_CHECKS: dict[str, str] = {}


def variant(misconception: str, exercise: str, *outputs: str) -> Callable[[Variant], Variant]:
    """Register `function(**inputs) -> wrong value` as how `misconception` shows in `outputs`."""

    def register(function: Variant) -> Variant:
        for output in outputs:
            VARIANTS[(exercise, output)].append((misconception, function))
        return function

    return register


def ids(exercise: str | None = None) -> set[str]:
    """Every misconception id (of one exercise)."""
    found = {(m, e) for (e, _), entries in VARIANTS.items() for m, _ in entries}
    found |= {(m, e) for m, e in NAMED_BY_CHECKS.items()}
    return {m for m, e in found if exercise in (None, e)}


def diagnosis(exercise: str, output: str, **inputs) -> Callable[[np.ndarray, np.ndarray, Tolerance], str | None]:
    """A diagnose function for `compare.expect_array`, bound to a check's inputs."""

    def diagnose(got: np.ndarray, expected: np.ndarray, tol: Tolerance) -> str | None:
        return match(exercise, output, got, expected, tol, inputs)

    return diagnose


def match(exercise: str, output: str, got: np.ndarray, expected: np.ndarray, tol: Tolerance,
          inputs: dict) -> str | None:
    """The one misconception whose variant reproduces `got` and not `expected`, else None."""
    found = set()
    for misconception, function in VARIANTS.get((exercise, output), []):
        try:
            with np.errstate(all="ignore"):
                wrong = np.asarray(function(**{k: _copy(v) for k, v in inputs.items()}))
        except Exception:  # noqa: BLE001 - a variant that does not apply to these inputs
            continue
        if _same(got, wrong, tol) and not _same(np.asarray(expected), wrong, tol):
            found.add(misconception)
    return found.pop() if len(found) == 1 else None


def _copy(value):
    return value.astype(np.float64) if isinstance(value, np.ndarray) else value


def _same(a: np.ndarray, b: np.ndarray, tol: Tolerance) -> bool:
    """Equal shapes, NaN/Inf in the same places, and the finite values within tolerance."""
    if a.shape != b.shape:
        return False
    a, b = a.astype(np.float64), b.astype(np.float64)
    finite_a, finite_b = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(finite_a, finite_b) or not np.array_equal(a[~finite_a], b[~finite_b], equal_nan=True):
        return False
    if not finite_a.any():
        return True
    x, y = a[finite_a], b[finite_b]
    scale = max(float(np.abs(y).max()), 1.0)
    with np.errstate(all="ignore"):
        close = np.abs(x - y) <= tol.atol * scale + tol.rtol * np.abs(y)
        relative = float(np.linalg.norm(x - y)) / max(float(np.linalg.norm(y)), tol.atol)
    return bool(close.all()) and relative <= tol.rtol


# -- helpers for the variants -----------------------------------------------------------------


def _normalise(x, mean, var, gamma, beta, eps):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


# -- bn_forward: out = batchnorm_forward(x, gamma, beta, eps) ---------------------------------


@variant("unbiased_variance", "bn_forward", "out")
def _(x, gamma, beta, eps):
    return _normalise(x, x.mean(0), x.var(0, ddof=1), gamma, beta, eps)


@variant("eps_outside_sqrt", "bn_forward", "out")
def _(x, gamma, beta, eps):
    return gamma * (x - x.mean(0)) / (np.sqrt(x.var(0)) + eps) + beta


@variant("no_eps", "bn_forward", "out")
def _(x, gamma, beta, eps):
    return _normalise(x, x.mean(0), x.var(0), gamma, beta, 0.0)


@variant("statistics_over_features", "bn_forward", "out")
def _(x, gamma, beta, eps):
    return _normalise(x, x.mean(1, keepdims=True), x.var(1, keepdims=True), gamma, beta, eps)


@variant("gamma_beta_swapped", "bn_forward", "out")
def _(x, gamma, beta, eps):
    return _normalise(x, x.mean(0), x.var(0), beta, gamma, eps)


@variant("gamma_beta_missing", "bn_forward", "out")
def _(x, gamma, beta, eps):
    return _normalise(x, x.mean(0), x.var(0), 1.0, 0.0, eps)


@variant("std_instead_of_variance", "bn_forward", "out")
def _(x, gamma, beta, eps):
    return _normalise(x, x.mean(0), x.std(0), gamma, beta, eps)


@variant("missing_square_root", "bn_forward", "out")
def _(x, gamma, beta, eps):
    return gamma * (x - x.mean(0)) / (x.var(0) + eps) + beta


@variant("eps_hard_coded", "bn_forward", "out")
def _(x, gamma, beta, eps):
    if eps == 1e-5:
        raise ValueError("indistinguishable at the default eps")
    return _normalise(x, x.mean(0), x.var(0), gamma, beta, 1e-5)


@variant("naive_variance", "bn_forward", "out")
def _(x, gamma, beta, eps):
    mean = x.mean(0)
    return _normalise(x, mean, (x ** 2).mean(0) - mean ** 2, gamma, beta, eps)
