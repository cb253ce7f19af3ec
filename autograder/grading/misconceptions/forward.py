"""Batch normalisation in training mode: out = forward(x, gamma, beta, eps).

Written once for (N, D) batches (bn_forward, statistics over axis 0) and (N, C, H, W)
batches (spatial_bn, statistics per channel over axes 0, 2, 3): a mistake that means the same
in both exercises has one id and one variant.

Some mistakes are recognised from the scale the student's output implies rather than
replayed: with x_hat = (out − beta) / gamma, an answer of the right form has, per feature,
x − mean = s · x_hat for one s, and s² is the variance the code computed plus the eps it used
(`implied_scales`). An eps other than the one passed shows as the same excess s² − var in
every feature (`eps_hard_coded`).

Two are named by the checks, which call the student's function once more (a probe) when a
value is wrong: a wrong *default* eps, when the same call with eps passed is right; and the
E[x²] − E[x]² variance, on inputs where cancellation dominates rounding (`cancellation_probe`):
values about 1e8 apart by about 1e-3, so that E[x²] ≈ 1e16, where floats are 2 apart. Whatever
the order of its sums, E[x²] − E[x]² is then a multiple of 2: 0, or at least 2, or negative
(NaN), while the variance is about 1e-6. The band `naive_variance_shows` accepts is that
(below 1 % or above 1000 times the variance, or NaN); the right formula lands within a
fraction of a percent of it.
"""

from __future__ import annotations

import numpy as np

from autograder.grading.cases import DEFAULT_EPS
from autograder.grading.compare import median
from autograder.grading.misconceptions import named_by_checks, recogniser, variant

FORM_RTOL = 1e-6
"""How closely x − mean must be a multiple of the student's x_hat, per feature, for their
output to be read as a normalisation with some scale (right answers: about 1e-9 or better)."""
SAME_EPS_RTOL = 1e-4
"""How closely the eps implied by every feature must agree to be one constant."""
OTHER_EPS = 2.0
"""The factor by which the eps used must differ from the eps meant to be named as another one."""
PROBE_OFFSET = 1e8
"""Where `cancellation_probe` moves the values: floats near E[x²] ≈ 1e16 are 2 apart."""
PROBE_FORM_RTOL = 1e-3
"""`FORM_RTOL` on the probe, whose centred values keep only about 5 digits."""
NAIVE_BAND = (1e-2, 1e3)
"""On the probe, the E[x²] − E[x]² variance divided by the right one is below the first bound
or above the second (or NaN); any formula that centres first gives about 1."""


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
    if eps == DEFAULT_EPS:
        raise ValueError("indistinguishable at the default eps")
    return normalise(x, *statistics(x), gamma, beta, DEFAULT_EPS)


# -- recognised from the scale the output implies -----------------------------------------------


def implied_scales(got: np.ndarray, x: np.ndarray, gamma, beta, rtol: float = FORM_RTOL
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s², var, E[x²]) per feature (or channel) whose values are not all equal, where the
    student's `got` is ``gamma * (x − mean) / s + beta`` within `rtol`; raises otherwise."""
    over = axes(x)
    x_hat = (got - per_channel(beta, x)) / per_channel(gamma, x)
    centred = x - x.mean(axis=over, keepdims=True)
    spread = np.sqrt((centred ** 2).sum(axis=over))
    scale = (centred * x_hat).sum(axis=over) / (x_hat ** 2).sum(axis=over)
    residual = np.sqrt(((centred - per_channel(scale, x) * x_hat) ** 2).sum(axis=over))
    varying = spread > 0
    if not varying.any() or not np.all(residual[varying] <= rtol * spread[varying]):
        raise ValueError("not a normalisation with one scale per feature")
    count = x.size // x.shape[1]
    return scale[varying] ** 2, (centred ** 2).sum(axis=over)[varying] / count, (x ** 2).mean(axis=over)[varying]


def one_eps(square_scales: np.ndarray, var: np.ndarray) -> float | None:
    """The eps every feature implies (s² − var), when there are two features or more to agree
    on it, it is clearly positive, and they agree; else None."""
    implied = square_scales - var
    value = median(implied)
    if len(implied) < 2 or not 1e-12 < value < 1.0:
        return None
    return value if np.all(np.abs(implied - value) <= SAME_EPS_RTOL * value) else None


named_by_checks(("bn_forward", "spatial_bn"), "eps_default_wrong")


@recogniser("eps_hard_coded", ("bn_forward", "spatial_bn"), "out")
def _(got, x, gamma, beta, eps):
    """The code used one constant, far from the eps it was meant to use, in every feature."""
    used = one_eps(*implied_scales(got, x, gamma, beta)[:2])
    return used is not None and not 1 / OTHER_EPS < used / eps < OTHER_EPS


named_by_checks(("bn_forward", "spatial_bn"), "naive_variance")


def cancellation_probe(x: np.ndarray) -> np.ndarray:
    """Inputs for the E[x²] − E[x]² probe: `x` (values about 1e4 apart by about 1e-3, the
    large-offset case) moved to about 1e8."""
    return x - x.mean() + PROBE_OFFSET


def naive_variance_shows(got, x: np.ndarray, gamma, beta, eps: float) -> bool:
    """Whether `got`, the student's output on `cancellation_probe` inputs `x` (eps passed),
    shows the E[x²] − E[x]² variance in every feature: NaN, or an implied variance outside
    `NAIVE_BAND` times the right one."""
    if type(got) is not np.ndarray or got.shape != x.shape or got.dtype.kind != "f":
        return False
    got = got.astype(np.float64)
    over = axes(x)
    nan = np.isnan(got).all(axis=over)
    if nan.all():
        return True
    if (~np.isfinite(got)).any(axis=over)[~nan].any():
        return False
    keep = (slice(None), ~nan) + (slice(None),) * (x.ndim - 2)
    try:
        with np.errstate(all="ignore"):
            square_scales, var, _ = implied_scales(got[keep], x[keep], np.asarray(gamma)[~nan],
                                                   np.asarray(beta)[~nan], rtol=PROBE_FORM_RTOL)
    except ValueError:  # not a normalisation at all: another mistake
        return False
    ratio = np.abs(square_scales - eps) / var
    return bool(np.all((ratio < NAIVE_BAND[0]) | (ratio > NAIVE_BAND[1])))


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
