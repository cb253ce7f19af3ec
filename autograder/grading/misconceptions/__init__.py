"""Named misconceptions: known wrong ways to compute a result, recognised in a wrong answer.

Most entries are *variants*: the reference computation with one idea wrong, written in NumPy
(float64), for one output of one exercise. When a check finds a wrong value, `diagnosis` runs
every variant registered for that output on the check's own inputs. A misconception is named
only when exactly one variant reproduces the student's answer (within the check's tolerance)
while giving a different answer from the right one on these inputs; otherwise nothing is
named and the report falls back to the numbers. Titles and explanations live in the message
catalogs under ``misconceptions.<id>.title`` and ``misconceptions.<id>.explanation``; an id
means the same idea wherever it is used, so one id may have variants in several exercises.

Some mistakes cannot be replayed exactly: the value depends on a constant the student chose
(a default eps other than 1e-5) or on the order in which their code sums (E[x²] − E[x]², whose
rounding is the whole effect). Those are *recognisers*: a test on the student's answer itself,
with a tolerance band of its own, registered like a variant (`recogniser`); a recogniser
counts as one more variant that reproduces the answer.

Variants and recognisers receive, by name, the inputs their signature asks for (and a
recogniser also ``got``, ``expected`` and ``tol``), so a check may pass more inputs than any
one of them needs.

Misconceptions that show as a property rather than a value (an input modified in place, a
dropout mask statistic) are named directly by the check that sees them, with a rule on the
student's own output (`named_by_checks`, `NAMED_BY_CHECKS`).

The catalogue, one module per kind of computation:

- `forward`: batch normalisation of (N, D) and (N, C, H, W) batches (bn_forward, spatial_bn);
- `backward`: its gradients (bn_backward, spatial_bn);
- `running_stats`: running statistics and evaluation mode (bn_running_stats);
- `sgd`: the SGD step (bn_sgd_step);
- `dropout`: inverted dropout, mostly rules on the random output (dropout);
- `torch_model`: the notebook's network in PyTorch, evaluate and freeze_bn, mostly rules on
  what the model was seen doing (torch_model).
"""

from __future__ import annotations

import functools
import inspect
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from autograder.course import Tolerance
from autograder.grading.compare import Diagnose, outside_tolerance

Variant = Callable[..., np.ndarray]
VARIANTS: dict[tuple[str, str], list[tuple[str, Variant]]] = defaultdict(list)
Recogniser = Callable[..., bool]
RECOGNISERS: dict[tuple[str, str], list[tuple[str, Recogniser]]] = defaultdict(list)

# Misconceptions a check names itself (a rule, not a value variant): (id, exercise) pairs.
NAMED_BY_CHECKS: set[tuple[str, str]] = set()


def variant(misconception: str, exercises: str | tuple[str, ...], *outputs: str) -> Callable[[Variant], Variant]:
    """Register `function(**inputs) -> wrong value` as how `misconception` shows in `outputs`
    of one exercise or several (the (N, D) and (N, C, H, W) batch norms share most). A variant
    raises (anything) when the mistake cannot show on the inputs it is given."""
    return _registrar(VARIANTS, misconception, exercises, outputs)


def recogniser(misconception: str, exercises: str | tuple[str, ...], *outputs: str
               ) -> Callable[[Recogniser], Recogniser]:
    """Register `function(got, **inputs) -> bool`, whether a wrong `got` shows `misconception`
    in `outputs` of one exercise or several; it may also ask for ``expected`` and ``tol``."""
    return _registrar(RECOGNISERS, misconception, exercises, outputs)


def _registrar(table: dict, misconception: str, exercises: str | tuple[str, ...], outputs: tuple[str, ...]):
    def register(function: Callable) -> Callable:
        for exercise in (exercises,) if isinstance(exercises, str) else exercises:
            for output in outputs:
                table[(exercise, output)].append((misconception, function))
        return function

    return register


def named_by_checks(exercises: str | tuple[str, ...], *misconceptions: str) -> None:
    """Declare misconceptions that the checks of one exercise or several name themselves."""
    for exercise in (exercises,) if isinstance(exercises, str) else exercises:
        NAMED_BY_CHECKS.update((misconception, exercise) for misconception in misconceptions)


def ids(exercise: str | None = None) -> set[str]:
    """Every misconception id (of one exercise)."""
    found = {(m, e) for table in (VARIANTS, RECOGNISERS) for (e, _), entries in table.items() for m, _ in entries}
    found |= NAMED_BY_CHECKS
    return {m for m, e in found if exercise in (None, e)}


def exercises() -> set[str]:
    """Every exercise with a misconception."""
    return {e for table in (VARIANTS, RECOGNISERS) for e, _ in table} | {e for _, e in NAMED_BY_CHECKS}


def diagnosis(exercise: str, output: str, **inputs) -> Diagnose:
    """A diagnose function for `compare.expect_array`, bound to a check's inputs."""

    def diagnose(got: np.ndarray, expected: np.ndarray, tol: Tolerance) -> str | None:
        return match(exercise, output, got, expected, tol, inputs)

    return diagnose


def match(exercise: str, output: str, got: np.ndarray, expected: np.ndarray, tol: Tolerance,
          inputs: dict) -> str | None:
    """The one misconception whose variant reproduces `got` and not `expected`, or whose
    recogniser accepts `got`, else None."""
    found = set()
    for misconception, function in VARIANTS.get((exercise, output), []):
        try:
            with np.errstate(all="ignore"):
                wrong = np.asarray(_call(function, inputs))
        except Exception:  # noqa: BLE001, S112 - a variant that does not apply to these inputs
            continue
        if same(got, wrong, tol) and not same(np.asarray(expected), wrong, tol):
            found.add(misconception)
    answer = {"got": got, "expected": np.asarray(expected), "tol": tol}
    for misconception, function in RECOGNISERS.get((exercise, output), []):
        try:
            with np.errstate(all="ignore"):
                if _call(function, {**inputs, **answer}):
                    found.add(misconception)
        except Exception:  # noqa: BLE001, S112 - a recogniser that does not apply to these inputs
            continue
    return found.pop() if len(found) == 1 else None


def _call(function: Callable, inputs: dict):
    """`function` called with the inputs its signature names (float64 copies of arrays)."""
    wanted = _parameters(function)
    return function(**{k: _copy(v) for k, v in inputs.items() if wanted is None or k in wanted})


@functools.cache
def _parameters(function: Callable) -> set[str] | None:
    """The names `function` accepts (None when it takes ``**kwargs``)."""
    parameters = inspect.signature(function).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def _copy(value):
    return value.astype(np.float64) if isinstance(value, np.ndarray) else value


def same(a: np.ndarray, b: np.ndarray, tol: Tolerance) -> bool:
    """Equal shapes, NaN/Inf in the same places, and the finite values within tolerance
    (arrays of other than numbers are never the same as anything)."""
    if a.shape != b.shape or a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
        return False
    a, b = a.astype(np.float64), b.astype(np.float64)
    finite_a, finite_b = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(finite_a, finite_b) or not np.array_equal(a[~finite_a], b[~finite_b], equal_nan=True):
        return False
    if not finite_a.any():
        return True
    outside, relative = outside_tolerance(a[finite_a], b[finite_b], tol)
    return not outside.any() and relative <= tol.rtol


# The catalogue registers itself on import (after the mechanism above exists).
from autograder.grading.misconceptions import backward, dropout, forward, running_stats, sgd, torch_model  # noqa: F401
