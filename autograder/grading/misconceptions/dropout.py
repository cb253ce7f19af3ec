"""Inverted dropout: out, cache = dropout_forward(x, p, train, rng); dx = dropout_backward(dout, cache).

A training output is random, so most mistakes are recognised by rules on the student's own
output rather than by variants: the checks' inputs have no exact zeros, so ``out != 0`` is the
keep mask, and ``out / x`` on the kept units is the scale the survivors got. The right scale is
1 / (1 - p) and the right keep rate 1 - p; a rule names a misconception only when the output
is a clean mask-and-scale with exactly one idea wrong, and never where that idea gives the
right answer (p = 0.5 makes 1/p and 1/(1 - p) equal). Keep rates are "near" a value when
inside the SIGMAS-standard-deviation binomial interval around it.
"""

from __future__ import annotations

import numpy as np

from autograder.course import Tolerance
from autograder.grading.compare import median
from autograder.grading.misconceptions import Diagnose, match, named_by_checks, same, variant

EXERCISE = "dropout"
SIGMAS = 5.0
RTOL = 1e-4  # how close two scales must be, for checks without a tolerance of their own

named_by_checks(EXERCISE, "dropout_not_inverted", "p_as_keep_probability", "dropout_mixed_convention",
                "backward_scale_missing", "new_mask_in_backward", "dropout_active_in_eval",
                "division_by_zero_at_p_one", "mask_shared_across_batch", "mask_shared_across_features",
                "mask_not_from_rng", "eval_scaled_twice", "mask_from_output", "mask_per_channel")


@variant("dropout_not_inverted", EXERCISE, "eval")
def _(x, p):
    """Classic dropout's evaluation: scaled by the keep probability (out = x * (1 - p)); at
    p = 1 that is all zeros, which says nothing about the scaling."""
    if p >= 1:
        raise ValueError("indistinguishable from dropping every unit")
    return x * (1 - p)


def near(rate: float, q: float, n: int) -> bool:
    """Is a keep rate observed on `n` units inside the interval a keep probability q gives?"""
    return abs(rate - q) <= SIGMAS * np.sqrt(q * (1 - q) / n) + 1e-12


def _close(a: float, b: float, rtol: float) -> bool:
    return abs(a - b) <= rtol * abs(b)


def _one(found: set[str]) -> str | None:
    return found.pop() if len(found) == 1 else None


def keep_rate(rate: float, p: float, n: int) -> str | None:
    """A keep rate near p (and not near 1 - p): p was used as the keep probability."""
    return "p_as_keep_probability" if near(rate, p, n) and not near(rate, 1 - p, n) else None


def scale(survivor_scale: float, rate: float, p: float, n: int, rtol: float = RTOL) -> str | None:
    """The misconception behind survivors scaled by `survivor_scale` at a keep rate `rate`
    (over n units), or None: a scale of 1 at the right rate (not inverted), or 1/p where it
    differs from 1/(1 - p), at a keep rate of p (p as keep probability) or 1 - p (mixed)."""
    right = 1.0 / (1.0 - p) if p < 1 else np.inf
    keeps_p, keeps_q = near(rate, p, n), near(rate, 1 - p, n)
    found = set()
    if _close(survivor_scale, 1.0, rtol) and not _close(1.0, right, rtol) and keeps_q:
        found.add("dropout_not_inverted")
    if p > 0 and _close(survivor_scale, 1.0 / p, rtol) and not _close(1.0 / p, right, rtol):
        if keeps_p and not keeps_q:
            found.add("p_as_keep_probability")
        if keeps_q and not keeps_p:
            found.add("dropout_mixed_convention")
    return _one(found)


def masked(got, base: np.ndarray, tol: Tolerance) -> tuple[np.ndarray, float] | None:
    """(keep mask, scale) when `got` is `base` times one scale on some units and exactly 0 on
    the others (some of each); else None."""
    if type(got) is not np.ndarray or got.shape != base.shape or got.dtype.kind != "f":
        return None
    if not np.isfinite(got).all():
        return None
    kept = got != 0
    if kept.all() or not kept.any():
        return None
    factor = median(got[kept] / base[kept])
    if not same(got, np.where(kept, base * factor, 0.0), tol):
        return None
    return kept, factor


def survivors(x: np.ndarray, p: float) -> Diagnose:
    """For a training `out`: the scale rule on the student's own mask and survivors."""

    def diagnose(got, expected, tol):
        found = masked(got, x, tol)
        if found is None:
            return None
        kept, factor = found
        return scale(factor, float(kept.mean()), p, kept.size, max(10 * tol.rtol, RTOL))

    return diagnose


def gradient(dout: np.ndarray, out, x: np.ndarray, p: float) -> Diagnose:
    """For a training `dx`, given the forward's `out` on `x`: another mask than the forward's
    (with the right scale); the forward's own wrong scale; or no scale at all in the backward
    pass while the forward scaled right."""

    def diagnose(got, expected, tol):
        forward, backward = masked(out, x, tol), masked(got, dout, tol)
        if forward is None or backward is None:
            return None
        (kept, out_scale), (dx_kept, dx_scale) = forward, backward
        rtol, right = max(10 * tol.rtol, RTOL), 1.0 / (1.0 - p)
        if not np.array_equal(kept, dx_kept):
            right_otherwise = _close(out_scale, right, rtol) and _close(dx_scale, right, rtol)
            return "new_mask_in_backward" if right_otherwise and near(float(dx_kept.mean()), 1 - p, got.size) else None
        if _close(dx_scale, out_scale, rtol):
            return scale(out_scale, float(kept.mean()), p, kept.size, rtol)
        if _close(out_scale, right, rtol) and _close(dx_scale, 1.0, rtol) and not _close(1.0, right, rtol):
            return "backward_scale_missing"
        return None

    return diagnose


def evaluation(base: np.ndarray, p: float, training_inverted: bool | None = None) -> Diagnose:
    """For out (base x) or dx (base dout) with train=False: a dropout mask applied, or the
    classic scaling by 1 - p; that scaling on top of a training pass that already divides by
    1 - p (`training_inverted`) is a mistake of its own."""

    def diagnose(got, expected, tol):
        dropped_all = p >= 1 and base.any() and got.dtype.kind == "f" and not got.any()
        found = {"dropout_active_in_eval"} if dropped_all or masked(got, base, tol) is not None else set()
        named = match(EXERCISE, "eval", got, expected, tol, {"x": base, "p": p})
        if named == "dropout_not_inverted" and training_inverted:
            named = "eval_scaled_twice"
        return _one(found | ({named} if named else set()))

    return diagnose


def shared_mask(kept: np.ndarray) -> str | None:
    """A keep mask (N, ...) that repeats along some axes: the same for every sample, one draw
    per sample, or (N, C, H, W) one draw per channel as nn.Dropout2d does."""
    if kept.ndim < 2 or kept.all() or not kept.any():
        return None
    per_sample = kept.reshape(kept.shape[0], -1)
    if (kept == kept[:1]).all():
        return "mask_shared_across_batch"
    if (per_sample == per_sample[:, :1]).all():
        return "mask_shared_across_features"
    if kept.ndim == 4 and (kept == kept[:, :, :1, :1]).all():
        return "mask_per_channel"
    return None


def independent_draws(kept: np.ndarray) -> int:
    """How many independent draws a keep mask holds: one per unit, or fewer when it is shared
    (`shared_mask`), for intervals that stay right whatever the mistake."""
    shared = shared_mask(kept)
    if shared == "mask_shared_across_batch":
        return kept[0].size
    if shared == "mask_shared_across_features":
        return kept.shape[0]
    if shared == "mask_per_channel":
        return kept.shape[0] * kept.shape[1]
    return kept.size


def mask_from_output(dout: np.ndarray, out, p: float) -> Diagnose:
    """For dx when some inputs are exactly 0: the mask rebuilt in backward as ``out != 0``."""

    def diagnose(got, expected, tol):
        if type(out) is not np.ndarray or out.shape != dout.shape or not 0 < p < 1:
            return None
        rebuilt = dout * (out != 0) / (1 - p)
        return "mask_from_output" if same(got, rebuilt, tol) and not same(expected, rebuilt, tol) else None

    return diagnose


def p_one(got, expected, tol) -> str | None:
    """For out or dx at p = 1: NaN or Inf come from dividing by 1 - p = 0."""
    return "division_by_zero_at_p_one" if got.dtype.kind == "f" and not np.isfinite(got).all() else None
