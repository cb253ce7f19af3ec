"""Probes of the two batch-norm forward passes (bn_forward, spatial_bn), for
`compare.probed`: when a value is wrong, one more call of the student's function tells two
mistakes that no replay can match apart. Not a check module itself.

`run_forward(student, x, gamma, beta, eps, explicit_eps=...)` is the exercise's own, returning
the output first.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from autograder.grading.cases import eps_given
from autograder.grading.compare import right_answer
from autograder.grading.misconceptions.forward import cancellation_probe, naive_variance_shows


def default_eps(run_forward, student, x, gamma, beta, eps: float, expected: np.ndarray, tol
                ) -> Callable[[], bool] | None:
    """The same call with eps passed is right: the default eps is wrong (None when the check
    passed eps itself)."""
    if eps_given(eps):
        return None
    return lambda: right_answer(run_forward(student, x, gamma, beta, eps, explicit_eps=True)[0], expected, tol)


def cancellation(run_forward, student, x, gamma, beta, eps: float, options: dict) -> Callable[[], bool] | None:
    """On values moved to about 1e8, the output shows the E[x²] − E[x]² variance (None for
    cases without a large offset, where that mistake does not show)."""
    if not options.get("offset"):
        return None

    def probe() -> bool:
        inputs = cancellation_probe(x)
        return naive_variance_shows(run_forward(student, inputs, gamma, beta, eps, explicit_eps=True)[0],
                                    inputs, gamma, beta, eps)

    return probe
