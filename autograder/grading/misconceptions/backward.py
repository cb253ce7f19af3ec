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

from autograder.grading.misconceptions import variant
from autograder.grading.misconceptions.forward import axes, per_channel, statistics

BATCHNORMS = ("bn_backward", "spatial_bn")


def parts(x, gamma, dout, eps):
    """(axes, inv_std, x_hat, dx_hat) of the forward pass, as the right backward uses them."""
    over = axes(x)
    mean, var = statistics(x)
    inv_std = 1.0 / np.sqrt(var + eps)
    return over, inv_std, (x - mean) * inv_std, dout * per_channel(gamma, x)


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


def dx_variant(misconception: str, *, mean, var, with_gamma: bool = True, exercises=BATCHNORMS) -> None:
    """Register a dx whose mean path is divided by ``mean(x)`` and variance path by ``var(x)``
    (None leaves that path out), and that leaves gamma out unless `with_gamma`."""

    def wrong_dx(x, gamma, beta, dout, eps):
        over, inv_std, x_hat, dx_hat = parts(x, gamma, dout, eps)
        return dx_from(inv_std, x_hat, dx_hat if with_gamma else dout, over,
                       mean_count=mean and mean(x), var_count=var and var(x))

    variant(misconception, exercises, "dx")(wrong_dx)


def per_feature(x) -> int:
    """m: the values each mean and variance is taken over (N, or N·H·W)."""
    return x.size // x.shape[1]


dx_variant("dx_statistics_constant", mean=None, var=None)
dx_variant("dx_missing_variance_path", mean=per_feature, var=None)
dx_variant("dx_missing_mean_path", mean=None, var=per_feature)
dx_variant("dx_missing_gamma", mean=per_feature, var=per_feature, with_gamma=False)
# The derivative of an unbiased variance, sum((x - mean)²) / (m - 1), in the backward pass only
# (the staged graph's ``dsq = dvar / (N - 1)``).
dx_variant("gradient_n_minus_1", mean=per_feature, var=lambda x: per_feature(x) - 1)
# m = N instead of N·H·W values per channel (with H = W = 1 this is right: silent).
dx_variant("spatial_count_n_only", mean=lambda x: x.shape[0], var=lambda x: x.shape[0], exercises=("spatial_bn",))


# -- dgamma and dbeta: sums over the batch of dout * x_hat and of dout -------------------------


def parameter_variant(misconception: str, wrong, exercises=BATCHNORMS, outputs=("dgamma", "dbeta")) -> None:
    """Register ``wrong(terms, output, over)`` for `outputs`, where ``terms`` holds the
    per-value terms whose sums over ``over`` are the right dgamma and dbeta."""
    for output in outputs:
        variant(misconception, exercises, output)(partial(_parameter_gradient, wrong, output))


def _parameter_gradient(wrong, output, x, gamma, beta, dout, eps):
    over, _, x_hat, _ = parts(x, gamma, dout, eps)
    return wrong({"dgamma": dout * x_hat, "dbeta": dout, "x": x}, output, over)


OTHER = {"dgamma": "dbeta", "dbeta": "dgamma"}


def _one_row(terms: np.ndarray, over) -> np.ndarray:
    if terms.shape[0] == 1:
        raise ValueError("a (1, C) sum per sample looks the same")
    return terms.sum(axis=over)[np.newaxis]

parameter_variant("parameter_gradient_not_summed", lambda terms, output, over: terms[output],
                  exercises=("bn_backward",))
parameter_variant("parameter_gradient_keepdims",
                  lambda terms, output, over: terms[output].sum(axis=over, keepdims=True))
# The same sum over an (N·H·W, C) view of the channels, kept as (1, C) (with N = 1 a sum per
# sample has that shape and those values too: silent there).
parameter_variant("parameter_gradient_keepdims", lambda terms, output, over: _one_row(terms[output], over),
                  exercises=("spatial_bn",))
parameter_variant("parameter_gradient_averaged", lambda terms, output, over: terms[output].mean(axis=over))
parameter_variant("parameter_gradients_swapped", lambda terms, output, over: terms[OTHER[output]].sum(axis=over))
parameter_variant("dgamma_uses_x", lambda terms, output, over: (terms["dbeta"] * terms["x"]).sum(axis=over),
                  outputs=("dgamma",))
