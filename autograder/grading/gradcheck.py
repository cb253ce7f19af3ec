"""The gradient-check view: the student's gradients against autograd and a numerical gradient.

Like the classic course notebooks, but automatic: for a random upstream gradient ``dout``, the
loss is ``L = sum(out * dout)`` and each gradient is compared with PyTorch autograd and with a
centred finite difference of a float64 NumPy forward pass. The relative error of a pair is
``‖a - b‖ / (‖a‖ + ‖b‖)`` (Euclidean norms over the whole array); its band is the verdict. The
norm-wise form matters: element by element, entries of dx close to zero make a correct gradient
look like a bug against the finite difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

CORRECT_BELOW = 1e-7
WRONG_FROM = 1e-2
STEP = 1e-5
CHUNK = 128
"""Perturbed copies evaluated at once by `batchnorm_numerical` (bounds its memory)."""


@dataclass(frozen=True)
class GradientRow:
    """One gradient of a backward pass, compared two ways (errors are None when the student's
    value is missing or has the wrong shape)."""

    name: str
    vs_autograd: float | None
    vs_numerical: float | None

    @property
    def verdict(self) -> str:
        """"correct", "suspicious" (probably a bug) or "wrong"."""
        errors = [e for e in (self.vs_autograd, self.vs_numerical) if e is not None]
        if len(errors) < 2:
            return "wrong"
        worst = max(errors)
        if worst < CORRECT_BELOW:
            return "correct"
        return "suspicious" if worst < WRONG_FROM else "wrong"


def relative_error(a: np.ndarray, b: np.ndarray) -> float | None:
    """``‖a - b‖ / (‖a‖ + ‖b‖)`` (0 when both are zero, inf when a has NaN); None when the
    shapes differ or a is not an array."""
    if type(a) is not np.ndarray or a.shape != np.shape(b):
        return None
    a, b = a.astype(np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(all="ignore"):
        scale = np.linalg.norm(a) + np.linalg.norm(b)
        error = 0.0 if scale == 0 else np.linalg.norm(a - b) / scale
    return float(np.nan_to_num(error, nan=np.inf))


def numerical_gradient(loss: Callable[[], float], value: np.ndarray, step: float = STEP) -> np.ndarray:
    """Centred differences of `loss()` with respect to every entry of `value` (changed in
    place and restored)."""
    gradient = np.zeros_like(value, dtype=np.float64)
    for index in np.ndindex(value.shape):
        original = value[index]
        value[index] = original + step
        plus = loss()
        value[index] = original - step
        minus = loss()
        value[index] = original
        gradient[index] = (plus - minus) / (2 * step)
    return gradient


def batchnorm_training(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """Training-mode batch normalisation in float64: x (N, D) or (N, C, H, W), gamma/beta (C,)."""
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return gamma.reshape(shape) * (x - mean) / np.sqrt(var + eps) + beta.reshape(shape)


def batchnorm_numerical(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, dout: np.ndarray,
                        eps: float) -> dict[str, np.ndarray]:
    """Numerical dx, dgamma, dbeta of ``sum(batchnorm_training(x, gamma, beta) * dout)``: the
    centred differences of `numerical_gradient`, every entry's pair of evaluations computed at
    once (a leading axis of perturbed copies, `CHUNK` at a time)."""
    x, gamma, beta, dout = (np.array(a, dtype=np.float64) for a in (x, gamma, beta, dout))
    axes = (1,) if x.ndim == 2 else (1, 3, 4)
    shape = (-1, 1, x.shape[1]) + (1,) * (x.ndim - 2)  # per copy, per channel

    def losses(xs: np.ndarray, gammas: np.ndarray, betas: np.ndarray) -> np.ndarray:
        mean = xs.mean(axis=axes, keepdims=True)
        var = xs.var(axis=axes, keepdims=True)
        out = gammas.reshape(shape) * (xs - mean) / np.sqrt(var + eps) + betas.reshape(shape)
        return (out * dout).reshape(len(out), -1).sum(axis=1)

    def gradient(value: np.ndarray, batched: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        flat = np.empty(value.size)
        for start in range(0, value.size, CHUNK):
            count = min(CHUNK, value.size - start)
            steps = np.zeros((count, value.size))
            steps[np.arange(count), start + np.arange(count)] = STEP
            steps = steps.reshape((count, *value.shape))
            flat[start:start + count] = (batched(value + steps) - batched(value - steps)) / (2 * STEP)
        return flat.reshape(value.shape)

    one = np.ones(1)
    return {"dx": gradient(x, lambda xs: losses(xs, gamma * one[:, None], beta * one[:, None])),
            "dgamma": gradient(gamma, lambda gs: losses(np.broadcast_to(x, (len(gs), *x.shape)), gs,
                                                         np.broadcast_to(beta, gs.shape))),
            "dbeta": gradient(beta, lambda bs: losses(np.broadcast_to(x, (len(bs), *x.shape)),
                                                       np.broadcast_to(gamma, bs.shape), bs))}


def gradient_rows(grads: tuple, autograd: dict[str, np.ndarray],
                  numerical: dict[str, np.ndarray]) -> list[GradientRow]:
    """The view for a batch-norm backward: the student's (dx, dgamma, dbeta) against autograd
    and the numerical gradients of the same loss (`Reference.batchnorm_numerical`)."""
    got = dict(zip(("dx", "dgamma", "dbeta"), grads))
    return compare_gradients(got, {name: autograd[name] for name in ("dx", "dgamma", "dbeta")}, numerical)


def compare_gradients(got: dict[str, object], autograd: dict[str, np.ndarray],
                      numerical: dict[str, np.ndarray]) -> list[GradientRow]:
    """One row per gradient name of `autograd`."""
    return [GradientRow(name, relative_error(got.get(name), autograd[name]),
                        relative_error(got.get(name), numerical[name]))
            for name in autograd]
