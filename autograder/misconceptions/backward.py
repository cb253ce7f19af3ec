"""Batch normalisation's gradients: dx, dgamma, dbeta = backward(dout, cache), recomputed
here from the check's x, gamma, beta, dout and eps.

Written once for (N, D) (bn_backward) and (N, C, H, W) (spatial_bn): with m values per
feature (N, or N·H·W), the right dx is
``inv_std * (dx_hat - sum(dx_hat) / m - x_hat * sum(dx_hat * x_hat) / m)``, dx_hat = dout * gamma;
the second term is the path through the mean, the third the path through the variance.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from autograder.misconceptions import variant
from autograder.misconceptions.forward import axes, per_channel, statistics

BATCHNORMS = ("bn_backward", "spatial_bn")


def both(misconception: str, *outputs: str):
    """Register a variant for the (N, D) and the (N, C, H, W) backward pass."""

    def register(function):
        for exercise in BATCHNORMS:
            variant(misconception, exercise, *outputs)(function)
        return function

    return register


def parts(x, gamma, dout, eps):
    """(axes, m, inv_std, x_hat, dx_hat) of the forward pass, as the right backward uses them."""
    over = axes(x)
    mean, var = statistics(x)
    inv_std = 1.0 / np.sqrt(var + eps)
    return over, x.size // x.shape[1], inv_std, (x - mean) * inv_std, dout * per_channel(gamma, x)


def dx_from(inv_std, x_hat, dx_hat, over, *, mean_count, var_count):
    """dx with the mean path divided by `mean_count` and the variance path by `var_count`
    (None leaves that path out)."""
    dx = dx_hat.copy()
    if mean_count is not None:
        dx -= dx_hat.sum(axis=over, keepdims=True) / mean_count
    if var_count is not None:
        dx -= x_hat * (dx_hat * x_hat).sum(axis=over, keepdims=True) / var_count
    return inv_std * dx


# -- dx ---------------------------------------------------------------------------------------


@both("dx_statistics_constant", "dx")
def _(x, gamma, beta, dout, eps):
    over, _, inv_std, x_hat, dx_hat = parts(x, gamma, dout, eps)
    return dx_from(inv_std, x_hat, dx_hat, over, mean_count=None, var_count=None)


@both("dx_missing_variance_path", "dx")
def _(x, gamma, beta, dout, eps):
    over, m, inv_std, x_hat, dx_hat = parts(x, gamma, dout, eps)
    return dx_from(inv_std, x_hat, dx_hat, over, mean_count=m, var_count=None)


@both("dx_missing_mean_path", "dx")
def _(x, gamma, beta, dout, eps):
    over, m, inv_std, x_hat, dx_hat = parts(x, gamma, dout, eps)
    return dx_from(inv_std, x_hat, dx_hat, over, mean_count=None, var_count=m)


@both("dx_missing_gamma", "dx")
def _(x, gamma, beta, dout, eps):
    over, m, inv_std, x_hat, _ = parts(x, gamma, dout, eps)
    return dx_from(inv_std, x_hat, dout, over, mean_count=m, var_count=m)


@both("gradient_n_minus_1", "dx")
def _(x, gamma, beta, dout, eps):
    """The derivative of an unbiased variance, sum((x - mean)²) / (m - 1), in the backward
    pass only (the staged graph's ``dsq = dvar / (N - 1)``)."""
    over, m, inv_std, x_hat, dx_hat = parts(x, gamma, dout, eps)
    return dx_from(inv_std, x_hat, dx_hat, over, mean_count=m, var_count=m - 1)


@variant("spatial_count_n_only", "spatial_bn", "dx")
def _(x, gamma, beta, dout, eps):
    """m = N instead of N·H·W values per channel (with H = W = 1 this is right: silent)."""
    over, _, inv_std, x_hat, dx_hat = parts(x, gamma, dout, eps)
    return dx_from(inv_std, x_hat, dx_hat, over, mean_count=x.shape[0], var_count=x.shape[0])


# -- dgamma and dbeta: sums over the batch of dout * x_hat and of dout -------------------------


def parameter_variant(misconception: str, wrong, exercises=BATCHNORMS, outputs=("dgamma", "dbeta")) -> None:
    """Register ``wrong(terms, output, over)`` for `outputs`, where ``terms`` holds the
    per-value terms whose sums over ``over`` are the right dgamma and dbeta."""
    for output in outputs:
        for exercise in exercises:
            variant(misconception, exercise, output)(partial(_parameter_gradient, wrong, output))


def _parameter_gradient(wrong, output, x, gamma, beta, dout, eps):
    over, _, _, x_hat, _ = parts(x, gamma, dout, eps)
    return wrong({"dgamma": dout * x_hat, "dbeta": dout, "x": x}, output, over)


OTHER = {"dgamma": "dbeta", "dbeta": "dgamma"}

parameter_variant("parameter_gradient_not_summed", lambda terms, output, over: terms[output],
                  exercises=("bn_backward",))
parameter_variant("parameter_gradient_keepdims",
                  lambda terms, output, over: terms[output].sum(axis=over, keepdims=True))
parameter_variant("parameter_gradient_averaged", lambda terms, output, over: terms[output].mean(axis=over))
parameter_variant("parameter_gradients_swapped", lambda terms, output, over: terms[OTHER[output]].sum(axis=over))
parameter_variant("dgamma_uses_x", lambda terms, output, over: (terms["dbeta"] * terms["x"]).sum(axis=over),
                  outputs=("dgamma",))
