"""The vectorisation hint: is the student's code far slower than plain NumPy?

Advice only, never points: when a forward or backward pass takes more than `SLOWER_THAN`
times as long as NumPy work of a vectorised pass's cost on a (2048, 512) batch (`numpy_work`: a
yardstick, not the formula), the report suggests that Python loops are doing NumPy's work. The
student's time is measured inside the worker (the call alone, not the transfer); the yardstick
is timed here, best of a few runs.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from autograder.grading.compare import fail
from autograder.i18n import msg

SHAPE = (2048, 512)
SLOWER_THAN = 20.0


def best_time(function: Callable[[], object], repeat: int = 3) -> float:
    """The shortest of `repeat` wall-clock times of `function()`."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def numpy_work(x: np.ndarray, elementwise: int, reductions: int) -> None:
    """NumPy work comparable in cost to a vectorised layer on x (N, D): `reductions` sums over
    the batch axis and `elementwise` whole-array operations. A yardstick of cost, deliberately
    not any layer's formula (the kit's files hold no solution)."""
    for _ in range(reductions):
        x.sum(axis=0)
    y = x
    for _ in range(elementwise):
        y = y * 1.0001


def batchnorm_forward_cost(x: np.ndarray) -> None:
    """About a vectorised batch-norm forward pass on x (N, D) (mean, variance, normalise, scale)."""
    numpy_work(x, elementwise=14, reductions=4)


def batchnorm_backward_cost(dout: np.ndarray) -> None:
    """About a vectorised batch-norm backward pass for dout (N, D)."""
    numpy_work(dout, elementwise=18, reductions=3)


def dropout_forward_cost(x: np.ndarray, rng: np.random.Generator) -> None:
    """About a vectorised inverted dropout on x (N, D): one uniform draw per unit, a mask, a scale."""
    rng.random(size=x.shape)
    numpy_work(x, elementwise=1, reductions=0)


def expect_vectorised(student_seconds: float, numpy_seconds: float, *, function: str,
                      key: str = "advice.loops") -> None:
    """Advise (fail the advisory check) when the student is more than SLOWER_THAN times slower;
    `key` is the message (the batch-norm one speaks of reductions over axis 0)."""
    ratio = student_seconds / max(numpy_seconds, 1e-6)
    if ratio > SLOWER_THAN:
        fail("advice", msg(key, function=function, ratio=f"{ratio:.0f}",
                           seconds=f"{student_seconds:.2f}", numpy=f"{numpy_seconds * 1000:.0f}",
                           shape=f"{SHAPE[0]}×{SHAPE[1]}"), ratio=ratio)
