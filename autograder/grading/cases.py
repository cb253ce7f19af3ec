"""Generated inputs for the checks. Every array comes from the check's seeded Generator, so
the same seed gives the same inputs (and the same cached reference values)."""

from __future__ import annotations

import numpy as np

# float32 checks judge the dtype and rough values (tolerance 1e-3). Their features spread wide
# (variance >= 2), so that mistakes about eps, whose effect is about eps / variance, stay far
# below that tolerance at any seed: only the float64 checks judge eps.
FLOAT32_SPREAD = 3.0


def features(rng: np.random.Generator, shape: tuple[int, ...], *, offset: float = 0.0, spread: float = 1.0,
             dtype=np.float64) -> np.ndarray:
    """Activations with a different mean and scale per feature (axis 1), so that statistics
    over the wrong axis give visibly wrong answers. Shape (N, D) or (N, C, H, W)."""
    channels = shape[1]
    per_feature = (1, channels) + (1,) * (len(shape) - 2)
    means = offset + rng.uniform(-2.0, 2.0, channels).reshape(per_feature)
    scales = spread * rng.uniform(0.5, 2.0, channels).reshape(per_feature)
    return (means + scales * rng.standard_normal(shape)).astype(dtype)


def affine(rng: np.random.Generator, channels: int, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """A random gamma (scale, away from 1) and beta (shift, away from 0), shape (channels,)."""
    gamma = rng.uniform(0.5, 2.0, channels).astype(dtype)
    beta = rng.normal(0.0, 1.0, channels).astype(dtype)
    return gamma, beta


def upstream(rng: np.random.Generator, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """A random upstream gradient (an all-ones one would make the BatchNorm dx vanish)."""
    return rng.standard_normal(shape).astype(dtype)


def with_flat_features(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Make feature 0 nearly constant (std 1e-4, far below eps) and feature 1 exactly constant."""
    x = x.copy()
    x[:, 0] = 0.3 + 1e-4 * rng.standard_normal(x.shape[0])
    if x.shape[1] > 1:
        x[:, 1] = -1.25
    return x


# The mini-batch cases of the batch-norm forward and backward checks: name -> (N, D, options).
# Every case draws a random gamma and beta (and, for the backward, a random upstream gradient).
DEFAULT_EPS = 1e-5  # PyTorch's


def eps_args(args: tuple, eps: float, *, explicit: bool = False) -> tuple:
    """`args` and then eps, which is left out when it is PyTorch's default, so that the
    default of the student's function is checked too; `explicit` for checks about something
    else (a property, the contract), so that a wrong default costs only the checks about values."""
    return (*args, eps) if eps_given(eps, explicit=explicit) else args


def eps_given(eps: float, *, explicit: bool = False) -> bool:
    """Whether `eps_args` passes eps (or leaves it to the student's default)."""
    return explicit or eps != DEFAULT_EPS


BATCH_CASES = {
    "random_batch": (16, 10, {}),
    "two_samples": (2, 6, {}),
    "odd_batch_one_feature": (7, 1, {}),
    "flat_features": (12, 5, {"flat": True}),
    "large_offset": (32, 4, {"offset": 1e4, "spread": 1e-3}),
    "custom_eps": (9, 5, {"eps": 1e-2}),
}


def batch_inputs(rng: np.random.Generator, n: int, d: int, *, offset: float = 0.0, spread: float = 1.0,
                 flat: bool = False, eps: float = 1e-5, dtype=np.float64):
    """One batch-norm case: x (N, D), gamma and beta (D,), and eps."""
    x = features(rng, (n, d), offset=offset, spread=spread, dtype=dtype)
    if flat:
        x = with_flat_features(x, rng)
    gamma, beta = affine(rng, d, dtype)
    return x, gamma, beta, eps
