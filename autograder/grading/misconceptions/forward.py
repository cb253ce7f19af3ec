"""Batch normalisation in training mode: out = forward(x, gamma, beta, eps).

Written once for (N, D) batches (bn_forward, statistics over axis 0) and (N, C, H, W)
batches (spatial_bn, statistics per channel over axes 0, 2, 3): a mistake that means the same
in both exercises has one id and one variant.
"""

from __future__ import annotations

import numpy as np

from autograder.grading.misconceptions import variant


def axes(x: np.ndarray) -> tuple[int, ...]:
    """The axes batch normalisation reduces over: (0,) for (N, D), (0, 2, 3) for (N, C, H, W)."""
    return (0,) if x.ndim == 2 else (0, 2, 3)


def per_channel(value, x: np.ndarray):
    """gamma or beta, shaped to broadcast against `x` (one value per feature or channel)."""
    return value if x.ndim == 2 else np.reshape(value, (1, -1, 1, 1))


def statistics(x: np.ndarray, over=None, ddof: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance over `over` (default: the right axes), with kept dimensions."""
    over = axes(x) if over is None else over
    return x.mean(axis=over, keepdims=True), x.var(axis=over, keepdims=True, ddof=ddof)


def normalise(x, mean, var, gamma, beta, eps):
    return per_channel(gamma, x) * (x - mean) / np.sqrt(var + eps) + per_channel(beta, x)


def both(misconception: str):
    """Register a variant for the (N, D) and the (N, C, H, W) forward pass."""
    return variant(misconception, ("bn_forward", "spatial_bn"), "out")


# -- both exercises ---------------------------------------------------------------------------


@both("unbiased_variance")
def _(x, gamma, beta, eps):
    return normalise(x, *statistics(x, ddof=1), gamma, beta, eps)


@both("eps_outside_sqrt")
def _(x, gamma, beta, eps):
    mean, var = statistics(x)
    return per_channel(gamma, x) * (x - mean) / (np.sqrt(var) + eps) + per_channel(beta, x)


@both("no_eps")
def _(x, gamma, beta, eps):
    return normalise(x, *statistics(x), gamma, beta, 0.0)


@both("gamma_beta_swapped")
def _(x, gamma, beta, eps):
    return normalise(x, *statistics(x), beta, gamma, eps)


@both("gamma_beta_missing")
def _(x, gamma, beta, eps):
    return normalise(x, *statistics(x), 1.0, 0.0, eps)


@both("std_instead_of_variance")
def _(x, gamma, beta, eps):
    mean, var = statistics(x)
    return normalise(x, mean, np.sqrt(var), gamma, beta, eps)


@both("missing_square_root")
def _(x, gamma, beta, eps):
    mean, var = statistics(x)
    return per_channel(gamma, x) * (x - mean) / (var + eps) + per_channel(beta, x)


@both("eps_hard_coded")
def _(x, gamma, beta, eps):
    if eps == 1e-5:
        raise ValueError("indistinguishable at the default eps")
    return normalise(x, *statistics(x), gamma, beta, 1e-5)


@both("naive_variance")
def _(x, gamma, beta, eps):
    over = axes(x)
    mean = x.mean(axis=over, keepdims=True)
    return normalise(x, mean, (x ** 2).mean(axis=over, keepdims=True) - mean ** 2, gamma, beta, eps)


# -- bn_forward: x (N, D) ---------------------------------------------------------------------


@variant("statistics_over_features", "bn_forward", "out")
def _(x, gamma, beta, eps):
    return normalise(x, *statistics(x, over=1), gamma, beta, eps)


# -- spatial_bn: x (N, C, H, W); with H = W = 1 these equal the right answer, so stay silent --


@variant("statistics_per_position", "spatial_bn", "out")
def _(x, gamma, beta, eps):
    return normalise(x, *statistics(x, over=0), gamma, beta, eps)


@variant("channels_mixed_by_reshape", "spatial_bn", "out")
def _(x, gamma, beta, eps):
    n, c, h, w = x.shape
    rows = x.reshape(-1, c)  # (N*H*W, C) without moving C last: columns are not channels
    return normalise(rows, *statistics(rows), gamma, beta, eps).reshape(n, c, h, w)


@variant("spatial_statistics_per_sample", "spatial_bn", "out")
def _(x, gamma, beta, eps):
    return normalise(x, *statistics(x, over=(1, 2, 3)), gamma, beta, eps)


@variant("statistics_per_sample_and_channel", "spatial_bn", "out")
def _(x, gamma, beta, eps):
    return normalise(x, *statistics(x, over=(2, 3)), gamma, beta, eps)
