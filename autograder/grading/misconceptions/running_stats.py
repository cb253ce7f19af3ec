"""Running statistics (update_running_stats) and evaluation mode (batchnorm_eval).

The update's variants get the check's running_mean and running_var (None before the first
update: PyTorch starts from 0 and 1), x and momentum; the right update is
``(1 - momentum) * running + momentum * batch_stat`` with the unbiased batch variance.
"""

from __future__ import annotations

import numpy as np

from autograder.grading.misconceptions import named_by_checks, variant

EXERCISE = "bn_running_stats"
STATS = ("running_mean", "running_var")

named_by_checks(EXERCISE, "eval_updates_running_stats")  # an input changed in place
named_by_checks(EXERCISE, "eps_default_wrong")  # right once eps is passed: compare.default_explains


def start(running_mean, running_var, x) -> tuple[np.ndarray, np.ndarray]:
    d = x.shape[1]
    return (np.zeros(d) if running_mean is None else running_mean,
            np.ones(d) if running_var is None else running_var)


def update(old: dict, batch: dict, weight_new: float) -> dict:
    return {name: (1 - weight_new) * old[name] + weight_new * batch[name] for name in STATS}


def update_variant(misconception: str, outputs=STATS):
    """Register ``function(old, batch, momentum, x) -> {name: value}`` for `outputs`; old and
    batch map running_mean/running_var to the starting values and the batch's statistics."""

    def register(function):
        for output in outputs:
            def run(running_mean, running_var, x, momentum, _output=output):
                old = dict(zip(STATS, start(running_mean, running_var, x)))
                batch = {"running_mean": x.mean(axis=0), "running_var": x.var(axis=0, ddof=1)}
                return function(old, batch, momentum, x, running_var)[_output]
            variant(misconception, EXERCISE, output)(run)
        return function

    return register


# -- update_running_stats -------------------------------------------------------------------


@update_variant("momentum_swapped")
def _(old, batch, momentum, x, running_var):
    """0.9 on the new batch: momentum weighs the old value (silent at momentum 0.5)."""
    return update(old, batch, 1 - momentum)


@update_variant("momentum_hard_coded")
def _(old, batch, momentum, x, running_var):
    if momentum == 0.1:
        raise ValueError("indistinguishable at the default momentum")
    return update(old, batch, 0.1)


@update_variant("running_stats_not_updated")
def _(old, batch, momentum, x, running_var):
    return old


@update_variant("running_stats_replaced_by_batch")
def _(old, batch, momentum, x, running_var):
    return batch


@update_variant("running_var_biased", outputs=("running_var",))
def _(old, batch, momentum, x, running_var):
    return update(old, {**batch, "running_var": x.var(axis=0)}, momentum)


@update_variant("running_var_starts_at_zero", outputs=("running_var",))
def _(old, batch, momentum, x, running_var):
    if running_var is not None:
        raise ValueError("only the first update, from None, starts anywhere")
    return update({**old, "running_var": np.zeros_like(old["running_var"])}, batch, momentum)


# -- batchnorm_eval: out ----------------------------------------------------------------------


def normalise(x, gamma, beta, mean, var, eps):
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


@variant("eval_uses_batch_statistics", EXERCISE, "eval_out")
def _(x, gamma, beta, running_mean, running_var, eps):
    return normalise(x, gamma, beta, x.mean(axis=0), x.var(axis=0), eps)


@variant("eval_without_gamma_beta", EXERCISE, "eval_out")
def _(x, gamma, beta, running_mean, running_var, eps):
    return normalise(x, 1.0, 0.0, running_mean, running_var, eps)


@variant("eps_outside_sqrt", EXERCISE, "eval_out")
def _(x, gamma, beta, running_mean, running_var, eps):
    return gamma * (x - running_mean) / (np.sqrt(running_var) + eps) + beta


@variant("missing_square_root", EXERCISE, "eval_out")
def _(x, gamma, beta, running_mean, running_var, eps):
    return gamma * (x - running_mean) / (running_var + eps) + beta


@variant("eps_hard_coded", EXERCISE, "eval_out")
def _(x, gamma, beta, running_mean, running_var, eps):
    if eps == 1e-5:
        raise ValueError("indistinguishable at the default eps")
    return normalise(x, gamma, beta, running_mean, running_var, 1e-5)
