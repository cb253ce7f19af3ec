"""The vectorisation hint: is the student's code far slower than plain NumPy?

Advice only, never points: when a forward or backward pass takes more than `SLOWER_THAN`
times as long as a vectorised NumPy version on a (2048, 512) batch, the report suggests that
Python loops are doing NumPy's work. The student's time is measured inside the worker (the
call alone, not the transfer); the NumPy version is timed here, best of a few runs.
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


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5):
    """Vectorised training forward pass (N, D) -> out (N, D) and what the backward needs."""
    mean = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)


def batchnorm_backward(dout: np.ndarray, cache: tuple):
    """Vectorised backward pass: dout (N, D) -> dx (N, D), dgamma (D,), dbeta (D,)."""
    x_hat, gamma, inv_std = cache
    n = dout.shape[0]
    dx_hat = dout * gamma
    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def dropout_forward(x: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Vectorised inverted dropout in training: x (N, D) -> out (N, D)."""
    return x * (rng.random(x.shape) >= p) / (1.0 - p)


def expect_vectorised(student_seconds: float, numpy_seconds: float, *, function: str,
                      key: str = "advice.loops") -> None:
    """Advise (fail the advisory check) when the student is more than SLOWER_THAN times slower;
    `key` is the message (the batch-norm one speaks of reductions over axis 0)."""
    ratio = student_seconds / max(numpy_seconds, 1e-6)
    if ratio > SLOWER_THAN:
        fail("advice", msg(key, function=function, ratio=f"{ratio:.0f}",
                           seconds=f"{student_seconds:.2f}", numpy=f"{numpy_seconds * 1000:.0f}",
                           shape=f"{SHAPE[0]}×{SHAPE[1]}"), ratio=ratio)
