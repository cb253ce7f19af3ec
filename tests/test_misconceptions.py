"""Every named misconception is recognised in a buggy implementation that makes it, and only
there: right answers, different-but-correct code and unknown bugs are never given a name, and
neither is a wrong answer that the check's inputs cannot tell apart from the right one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import test_checks_bn_backward as backward_checks
import test_checks_bn_running_stats as running_checks
import test_checks_bn_sgd_step as sgd_checks
import test_checks_dropout as dropout_checks
import test_checks_spatial_bn as spatial_checks
import test_checks_torch_model as torch_checks
from support import mutate

from autograder.course import Tolerance
from autograder.grading import misconceptions
from autograder.grading.cases import batch_inputs
from autograder.grading.misconceptions import dropout as dropout_rules
from autograder.grading.misconceptions import match
from autograder.grading.misconceptions.forward import cancellation_probe, naive_variance_shows
from autograder.grading.misconceptions.sgd import lr_in_velocity
from autograder.i18n import Translator, catalog


@dataclass(frozen=True)
class Named:
    """A wrong implementation and the misconception it shows: `changes` are (old, new)
    replacements in the solution `file`, or `whole` is the file's entire source."""

    misconception: str
    exercise: str
    file: str
    changes: tuple[tuple[str, str], ...] = ()
    whole: str | None = None
    note: str = ""

    def source(self) -> str:
        if self.whole is not None:
            return self.whole
        source = mutate(self.file, *self.changes[0])
        for old, new in self.changes[1:]:
            assert source.count(old) == 1, old
            source = source.replace(old, new)
        return source

    def __str__(self) -> str:
        return f"{self.exercise}-{self.misconception}" + (f"-{self.note}" if self.note else "")


def edit(misconception: str, exercise: str, file: str, *changes: tuple[str, str], note: str = "") -> Named:
    return Named(misconception, exercise, file, tuple(changes), note=note)


def rewrite(misconception: str, exercise: str, file: str, source: str, note: str = "") -> Named:
    return Named(misconception, exercise, file, whole=source, note=note)


BN, SPATIAL, OPTIM, DROPOUT = "batchnorm.py", "spatial_batchnorm.py", "optim.py", "dropout.py"

# -- bn_forward ---------------------------------------------------------------------------------

FORWARD_STATS = "mean = x.mean(axis=0)\n    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)"
FORWARD_CASES = [
    edit("unbiased_variance", "bn_forward", BN, ("x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps")),
    edit("eps_outside_sqrt", "bn_forward", BN, ("np.sqrt(x.var(axis=0) + eps)", "(np.sqrt(x.var(axis=0)) + eps)")),
    edit("no_eps", "bn_forward", BN, ("np.sqrt(x.var(axis=0) + eps)", "np.sqrt(x.var(axis=0))")),
    edit("statistics_over_features", "bn_forward", BN,
         (FORWARD_STATS,
          "mean = x.mean(axis=1, keepdims=True)\n    inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + eps)")),
    edit("gamma_beta_swapped", "bn_forward", BN, ("out = gamma * x_hat + beta", "out = beta * x_hat + gamma")),
    edit("gamma_beta_missing", "bn_forward", BN, ("out = gamma * x_hat + beta", "out = x_hat")),
    edit("std_instead_of_variance", "bn_forward", BN,
         ("np.sqrt(x.var(axis=0) + eps)", "np.sqrt(x.std(axis=0) + eps)")),
    edit("missing_square_root", "bn_forward", BN,
         ("1.0 / np.sqrt(x.var(axis=0) + eps)", "1.0 / (x.var(axis=0) + eps)")),
    edit("eps_hard_coded", "bn_forward", BN, ("np.sqrt(x.var(axis=0) + eps)", "np.sqrt(x.var(axis=0) + 1e-5)")),
    edit("eps_hard_coded", "bn_forward", BN, ("np.sqrt(x.var(axis=0) + eps)", "np.sqrt(x.var(axis=0) + 1e-3)"),
         note="1e-3"),
    edit("eps_default_wrong", "bn_forward", BN, ("x, gamma, beta, eps=1e-5):", "x, gamma, beta, eps=1e-8):"),
         note="1e-8"),
    edit("eps_default_wrong", "bn_forward", BN, ("x, gamma, beta, eps=1e-5):", "x, gamma, beta, eps=1e-3):"),
         note="1e-3"),
    edit("naive_variance", "bn_forward", BN,
         ("np.sqrt(x.var(axis=0) + eps)", "np.sqrt((x * x).mean(axis=0) - mean ** 2 + eps)")),
    edit("naive_variance", "bn_forward", BN,
         ("np.sqrt(x.var(axis=0) + eps)", "np.sqrt(np.einsum('nd,nd->d', x, x) / n - mean ** 2 + eps)"),
         note="einsum"),
    edit("naive_variance", "bn_forward", BN,
         ("mean = x.mean(axis=0)\n    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)",
          "mean = np.add.reduce(x[::-1], axis=0) / n\n"
          "    inv_std = 1.0 / np.sqrt(np.add.reduce(x[::-1] ** 2, axis=0) / n - mean ** 2 + eps)"),
         note="reversed order"),
]

# -- bn_backward --------------------------------------------------------------------------------

DGAMMA, DBETA = "dgamma = (dout * x_hat).sum(axis=0)", "dbeta = dout.sum(axis=0)"
DX = backward_checks.DX
X_IN_CACHE = (("return out, (x_hat, gamma, inv_std)", "return out, (x_hat, gamma, inv_std, x)"),
              ("x_hat, gamma, inv_std = cache", "x_hat, gamma, inv_std, x = cache"))
BACKWARD_CASES = [
    edit("parameter_gradient_not_summed", "bn_backward", BN, (DGAMMA, "dgamma = dout * x_hat")),
    edit("parameter_gradient_not_summed", "bn_backward", BN, (DBETA, "dbeta = dout * 1.0"), note="dbeta"),
    edit("parameter_gradient_keepdims", "bn_backward", BN, (DGAMMA, "dgamma = (dout * x_hat).sum(axis=0, keepdims=True)")),
    edit("parameter_gradient_averaged", "bn_backward", BN, (DBETA, "dbeta = dout.mean(axis=0)")),
    edit("parameter_gradients_swapped", "bn_backward", BN, ("return dx, dgamma, dbeta", "return dx, dbeta, dgamma")),
    edit("dgamma_uses_x", "bn_backward", BN, *X_IN_CACHE, (DGAMMA, "dgamma = (dout * x).sum(axis=0)")),
    edit("dx_statistics_constant", "bn_backward", BN, (DX, "dx = dx_hat * inv_std")),
    edit("dx_missing_variance_path", "bn_backward", BN, (DX, "dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0))")),
    edit("dx_missing_mean_path", "bn_backward", BN,
         (DX, "dx = inv_std / n * (n * dx_hat - x_hat * (dx_hat * x_hat).sum(axis=0))")),
    edit("dx_missing_gamma", "bn_backward", BN, ("dx_hat = dout * gamma", "dx_hat = dout")),
    rewrite("gradient_n_minus_1", "bn_backward", BN, backward_checks.replace_functions(
        BN, backward_checks.BOTH.split(), backward_checks.STAGED_GRAPH.replace("DIVISOR", "(n - 1)"))),
]

# -- spatial_bn ---------------------------------------------------------------------------------

SPATIAL_SQRT = "np.sqrt(x.var(axis=AXES, keepdims=True) + eps)"
SPATIAL_OUT = "out = scale * x_hat + beta.reshape(1, channels, 1, 1)"
SPATIAL_DX = ("dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=AXES, keepdims=True)\n"
              "                        - x_hat * (dx_hat * x_hat).sum(axis=AXES, keepdims=True))")
SPATIAL_DGAMMA, SPATIAL_DBETA = "dgamma = (dout * x_hat).sum(axis=AXES)", "dbeta = dout.sum(axis=AXES)"
# The E[x²] − E[x]² variance of an (N·H·W, C) view: its sums run in another order than over
# axes (0, 2, 3) of x, so a replay of the mistake could not match its rounding.
NAIVE_THROUGH_ROWS = """
import numpy as np


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    n, c, h, w = x.shape
    if n * h * w < 2:
        raise ValueError("one value per channel")
    rows = x.transpose(0, 2, 3, 1).reshape(-1, c)
    mean = rows.mean(axis=0)
    var = (rows ** 2).mean(axis=0) - mean ** 2
    x_hat = (rows - mean) / np.sqrt(var + eps)
    out = (gamma * x_hat + beta).reshape(n, h, w, c).transpose(0, 3, 1, 2)
    return out, (x_hat, gamma, 1.0 / np.sqrt(var + eps), x.shape)


def spatial_batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std, (n, c, h, w) = cache
    d = dout.transpose(0, 2, 3, 1).reshape(-1, c)
    m = d.shape[0]
    dx_hat = d * gamma
    dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))
    return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2), (d * x_hat).sum(axis=0), d.sum(axis=0)
"""

SPATIAL_CASES = [
    edit("statistics_per_position", "spatial_bn", SPATIAL, ("AXES = (0, 2, 3)", "AXES = (0,)")),
    rewrite("channels_mixed_by_reshape", "spatial_bn", SPATIAL, spatial_checks.RESHAPE_WITHOUT_TRANSPOSE),
    edit("spatial_statistics_per_sample", "spatial_bn", SPATIAL, ("AXES = (0, 2, 3)", "AXES = (1, 2, 3)")),
    edit("statistics_per_sample_and_channel", "spatial_bn", SPATIAL, ("AXES = (0, 2, 3)", "AXES = (2, 3)")),
    edit("unbiased_variance", "spatial_bn", SPATIAL,
         ("x.var(axis=AXES, keepdims=True)", "x.var(axis=AXES, keepdims=True, ddof=1)")),
    edit("eps_outside_sqrt", "spatial_bn", SPATIAL,
         (SPATIAL_SQRT, "(np.sqrt(x.var(axis=AXES, keepdims=True)) + eps)")),
    edit("no_eps", "spatial_bn", SPATIAL, (SPATIAL_SQRT, "np.sqrt(x.var(axis=AXES, keepdims=True))")),
    edit("gamma_beta_swapped", "spatial_bn", SPATIAL,
         (SPATIAL_OUT, "out = beta.reshape(1, channels, 1, 1) * x_hat + scale")),
    edit("gamma_beta_missing", "spatial_bn", SPATIAL, (SPATIAL_OUT, "out = x_hat.copy()")),
    edit("std_instead_of_variance", "spatial_bn", SPATIAL,
         (SPATIAL_SQRT, "np.sqrt(x.std(axis=AXES, keepdims=True) + eps)")),
    edit("missing_square_root", "spatial_bn", SPATIAL, (f"1.0 / {SPATIAL_SQRT}", "1.0 / (x.var(axis=AXES, keepdims=True) + eps)")),
    edit("eps_hard_coded", "spatial_bn", SPATIAL, (SPATIAL_SQRT, "np.sqrt(x.var(axis=AXES, keepdims=True) + 1e-5)")),
    edit("naive_variance", "spatial_bn", SPATIAL,
         (SPATIAL_SQRT, "np.sqrt((x * x).mean(axis=AXES, keepdims=True) - mean ** 2 + eps)")),
    rewrite("naive_variance", "spatial_bn", SPATIAL, NAIVE_THROUGH_ROWS, note="transposed rows"),
    edit("eps_hard_coded", "spatial_bn", SPATIAL,
         (SPATIAL_SQRT, "np.sqrt(x.var(axis=AXES, keepdims=True) + 1e-8)"), note="1e-8"),
    edit("eps_default_wrong", "spatial_bn", SPATIAL,
         ("x, gamma, beta, eps=1e-5):", "x, gamma, beta, eps=1e-3):")),
    edit("parameter_gradient_keepdims", "spatial_bn", SPATIAL,
         (SPATIAL_DGAMMA,
          "dgamma = (dout * x_hat).transpose(0, 2, 3, 1).reshape(-1, channels).sum(axis=0, keepdims=True)"),
         ("x_hat, scale, inv_std = cache", "x_hat, scale, inv_std = cache\n    channels = x_hat.shape[1]"),
         note="(1, C)"),
    edit("dx_statistics_constant", "spatial_bn", SPATIAL, (SPATIAL_DX, "dx = dx_hat * inv_std")),
    edit("dx_missing_variance_path", "spatial_bn", SPATIAL,
         (SPATIAL_DX, "dx = inv_std / m * (m * dx_hat - dx_hat.sum(axis=AXES, keepdims=True))")),
    edit("dx_missing_mean_path", "spatial_bn", SPATIAL,
         (SPATIAL_DX, "dx = inv_std / m * (m * dx_hat - x_hat * (dx_hat * x_hat).sum(axis=AXES, keepdims=True))")),
    edit("dx_missing_gamma", "spatial_bn", SPATIAL, ("dx_hat = dout * scale", "dx_hat = dout")),
    edit("gradient_n_minus_1", "spatial_bn", SPATIAL,
         (SPATIAL_DX, ("dx = inv_std * (dx_hat - dx_hat.sum(axis=AXES, keepdims=True) / m\n"
                       "                   - x_hat * (dx_hat * x_hat).sum(axis=AXES, keepdims=True) / (m - 1))"))),
    edit("spatial_count_n_only", "spatial_bn", SPATIAL,
         ("m = dout.shape[0] * dout.shape[2] * dout.shape[3]", "m = dout.shape[0]")),
    edit("parameter_gradient_keepdims", "spatial_bn", SPATIAL,
         (SPATIAL_DGAMMA, "dgamma = (dout * x_hat).sum(axis=AXES, keepdims=True)")),
    edit("parameter_gradient_averaged", "spatial_bn", SPATIAL, (SPATIAL_DBETA, "dbeta = dout.mean(axis=AXES)")),
    edit("parameter_gradients_swapped", "spatial_bn", SPATIAL,
         ("return dx, dgamma, dbeta", "return dx, dbeta, dgamma")),
    edit("dgamma_uses_x", "spatial_bn", SPATIAL,
         ("return out, (x_hat, scale, inv_std)", "return out, (x_hat, scale, inv_std, x)"),
         ("x_hat, scale, inv_std = cache", "x_hat, scale, inv_std, x = cache"),
         (SPATIAL_DGAMMA, "dgamma = (dout * x).sum(axis=AXES)")),
]

# -- bn_running_stats ---------------------------------------------------------------------------

UPDATE_LINES, EVAL_LINE = running_checks.UPDATE_LINES, running_checks.EVAL_LINE
RUNNING_CASES = [
    edit("momentum_swapped", "bn_running_stats", BN, (UPDATE_LINES, """    new_mean = momentum * running_mean + (1 - momentum) * x.mean(axis=0)
    new_var = momentum * running_var + (1 - momentum) * x.var(axis=0, ddof=1)
    return new_mean, new_var""")),
    edit("momentum_swapped", "bn_running_stats", BN,
         ("x, momentum=0.1):", "x, momentum=0.9):"), note="default 0.9"),
    edit("momentum_hard_coded", "bn_running_stats", BN, (UPDATE_LINES, """    new_mean = 0.9 * running_mean + 0.1 * x.mean(axis=0)
    new_var = 0.9 * running_var + 0.1 * x.var(axis=0, ddof=1)
    return new_mean, new_var""")),
    edit("running_stats_not_updated", "bn_running_stats", BN, (UPDATE_LINES, "    return running_mean, running_var")),
    edit("running_stats_replaced_by_batch", "bn_running_stats", BN,
         (UPDATE_LINES, "    return x.mean(axis=0), x.var(axis=0, ddof=1)")),
    edit("running_var_biased", "bn_running_stats", BN, ("x.var(axis=0, ddof=1)", "x.var(axis=0)")),
    edit("running_var_starts_at_zero", "bn_running_stats", BN,
         ("running_var = np.ones(features, dtype=x.dtype)", "running_var = np.zeros(features, dtype=x.dtype)")),
    edit("eval_uses_batch_statistics", "bn_running_stats", BN,
         (EVAL_LINE, "return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta")),
    edit("eval_without_gamma_beta", "bn_running_stats", BN,
         (EVAL_LINE, "return (x - running_mean) / np.sqrt(running_var + eps)")),
    edit("eps_outside_sqrt", "bn_running_stats", BN,
         (EVAL_LINE, "return gamma * (x - running_mean) / (np.sqrt(running_var) + eps) + beta")),
    edit("missing_square_root", "bn_running_stats", BN,
         (EVAL_LINE, "return gamma * (x - running_mean) / (running_var + eps) + beta")),
    edit("eps_hard_coded", "bn_running_stats", BN,
         (EVAL_LINE, "return gamma * (x - running_mean) / np.sqrt(running_var + 1e-5) + beta")),
    edit("eps_default_wrong", "bn_running_stats", BN,
         ("running_mean, running_var, eps=1e-5):", "running_mean, running_var, eps=1e-8):")),
    edit("eval_updates_running_stats", "bn_running_stats", BN, (EVAL_LINE, """out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    running_mean[:] = 0.9 * running_mean + 0.1 * x.mean(axis=0)
    return out""")),
]

# -- bn_sgd_step --------------------------------------------------------------------------------

DECAY = "step = grad + weight_decay * param if weight_decay else grad"
LR_IN_VELOCITY_PLUS = '''
def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    g = grad + weight_decay * param
    if momentum == 0:
        return param - lr * g, None
    velocity = lr * g if velocity is None else momentum * velocity + lr * g
    return param - velocity, velocity
'''
SGD_CASES = [
    edit("gradient_ascent", "bn_sgd_step", OPTIM, ("return param - lr * step", "return param + lr * step")),
    edit("weight_decay_ignored", "bn_sgd_step", OPTIM, (DECAY, "step = grad")),
    rewrite("weight_decay_after_momentum", "bn_sgd_step", OPTIM, sgd_checks.DECAY_AFTER_MOMENTUM),
    rewrite("momentum_lr_in_velocity", "bn_sgd_step", OPTIM, sgd_checks.MOMENTUM_LR_IN_BUFFER),
    rewrite("momentum_lr_in_velocity", "bn_sgd_step", OPTIM, LR_IN_VELOCITY_PLUS, note="plus form"),
    edit("momentum_dampened", "bn_sgd_step", OPTIM,
         ("momentum * velocity + step", "momentum * velocity + (1 - momentum) * step")),
    edit("momentum_not_applied", "bn_sgd_step", OPTIM, ("        step = velocity\n", "")),
]

# -- dropout ------------------------------------------------------------------------------------

KEEP = "keep = rng.random(x.shape) >= p"
DROPOUT_CASES = [
    rewrite("dropout_not_inverted", "dropout", DROPOUT, dropout_checks.NOT_INVERTED),
    rewrite("p_as_keep_probability", "dropout", DROPOUT, dropout_checks.P_AS_KEEP),
    rewrite("dropout_mixed_convention", "dropout", DROPOUT, dropout_checks.MIXED_CONVENTION),
    edit("backward_scale_missing", "dropout", DROPOUT, ("return dout * keep / (1.0 - p)", "return dout * keep")),
    rewrite("new_mask_in_backward", "dropout", DROPOUT, dropout_checks.NEW_MASK_IN_BACKWARD),
    edit("dropout_active_in_eval", "dropout", DROPOUT, ("if not train or p == 0.0:", "if p == 0.0:")),
    edit("eval_scaled_twice", "dropout", DROPOUT,
         ("if not train or p == 0.0:\n        return x.copy(), (None, p)",
          "if not train or p == 0.0:\n        return x * (1 - p), (None, p)")),
    rewrite("mask_from_output", "dropout", DROPOUT, dropout_checks.MASK_FROM_OUTPUT),
    edit("division_by_zero_at_p_one", "dropout", DROPOUT,
         ("    if p == 1.0:\n        return np.zeros_like(x), (keep, p)\n", "")),
    edit("mask_shared_across_batch", "dropout", DROPOUT, (KEEP, "keep = rng.random(x.shape[1:]) >= p")),
    edit("mask_shared_across_features", "dropout", DROPOUT, (KEEP, "keep = rng.random((x.shape[0], 1)) >= p")),
    edit("mask_per_channel", "dropout", DROPOUT, (KEEP, "keep = rng.random(x.shape[:2] + (1,) * (x.ndim - 2)) >= p")),
    edit("dropout_active_in_eval", "dropout", DROPOUT,
         ("    if not train or p == 0.0:", "    if p == 1.0:\n        return np.zeros_like(x), (np.zeros(x.shape, bool), p)\n"
                                         "    if not train or p == 0.0:"), note="p = 1 handled before train"),
    edit("mask_not_from_rng", "dropout", DROPOUT, (KEEP, "keep = np.random.random(x.shape) >= p")),
    edit("mask_not_from_rng", "dropout", DROPOUT, (KEEP, "keep = np.random.default_rng(0).random(x.shape) >= p"),
         note="fixed seed"),
]

CASES = FORWARD_CASES + BACKWARD_CASES + SPATIAL_CASES + RUNNING_CASES + SGD_CASES + DROPOUT_CASES

# Wrong implementations that no known mistake explains: (exercise, file, old, new).
UNKNOWN_BUGS = [
    ("bn_forward", BN, "out = gamma * x_hat + beta", "out = 1.001 * gamma * x_hat + beta"),
    ("bn_forward", BN, "out = gamma * x_hat + beta", "out = gamma * x_hat + beta + 0.01"),
    ("bn_forward", BN, "out = gamma * x_hat + beta", "out = gamma * x_hat[::-1] + beta"),
    ("bn_backward", BN, DBETA, "dbeta = 1.001 * dout.sum(axis=0)"),
    ("bn_backward", BN, "dx = inv_std / n *", "dx = 1.01 * inv_std / n *"),
    ("bn_backward", BN, "dx_hat = dout * gamma", "dx_hat = dout * gamma ** 2"),
    ("bn_running_stats", BN, "momentum * x.mean(axis=0)", "momentum * x.mean(axis=0) + 0.01"),
    ("bn_running_stats", BN, "(1 - momentum) * running_var", "(1 - momentum) * running_var * 1.01"),
    ("bn_running_stats", BN, EVAL_LINE, "return gamma * (x - running_mean) / np.sqrt(running_var + eps) + 2 * beta"),
    ("bn_sgd_step", OPTIM, "return param - lr * step", "return param - 0.9 * lr * step"),
    ("bn_sgd_step", OPTIM, "momentum * velocity + step", "momentum * velocity + 1.1 * step"),
    ("spatial_bn", SPATIAL, SPATIAL_OUT, SPATIAL_OUT + " + 0.01"),
    ("spatial_bn", SPATIAL, SPATIAL_DBETA, "dbeta = 1.001 * dout.sum(axis=AXES)"),
    ("spatial_bn", SPATIAL, "dx_hat = dout * scale", "dx_hat = dout * scale ** 2"),
    ("dropout", DROPOUT, "return x * keep / (1.0 - p), (keep, p)", "return 1.01 * x * keep / (1.0 - p), (keep, p)"),
    ("dropout", DROPOUT, "return dout * keep / (1.0 - p)", "return 2 * dout * keep / (1.0 - p)"),
    ("dropout", DROPOUT, "return x.copy(), (None, p)", "return x * (1 - p / 2), (None, p)"),
]



def named(report, exercise: str) -> set[str]:
    return {c.feedback.misconception for c in report.exercise(exercise).checks
            if c.feedback is not None and c.feedback.misconception}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_misconception_is_named(case, grade_files):
    report = grade_files({case.file: case.source()}, [case.exercise])
    assert named(report, case.exercise) == {case.misconception}


def test_every_misconception_has_a_buggy_implementation_in_these_tests():
    """Per exercise: an id used by several exercises is tested in each of them."""
    covered = {(case.exercise, case.misconception) for case in CASES} | torch_checks.NAMED  # graded there
    registered = {(exercise, m) for exercise in misconceptions.exercises() for m in misconceptions.ids(exercise)}
    assert registered - covered == set()
    assert covered - registered == set()


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_misconception_has_a_title_and_an_explanation(language):
    messages = catalog(language)
    for misconception in misconceptions.ids():
        assert f"misconceptions.{misconception}.title" in messages, misconception
        assert f"misconceptions.{misconception}.explanation" in messages, misconception


def test_every_text_belongs_to_a_misconception():
    keys = {key.split(".")[1] for key in catalog("en") if key.startswith("misconceptions.")}
    assert keys == misconceptions.ids()


@pytest.mark.parametrize("language, start", [("en", "Looks like "), ("es", "Parece que ")])
def test_titles_complete_the_sentence(language, start):
    """A title follows "Looks like" / "Parece que" and is followed by a full stop."""
    t = Translator(language)
    for misconception in misconceptions.ids():
        title = t(f"misconceptions.{misconception}.title")
        line = t("report.misconception", title=title)
        assert line.startswith(start) and title[0].islower() and not title.endswith("."), misconception


def test_at_least_25_misconceptions():
    assert len(misconceptions.ids()) >= 25


@pytest.mark.parametrize("exercise, file, old, new", UNKNOWN_BUGS,
                         ids=[f"{bug[0]}-{i}" for i, bug in enumerate(UNKNOWN_BUGS)])
def test_an_unknown_bug_gets_the_numbers_not_a_wrong_name(exercise, file, old, new, grade_files):
    report = grade_files({file: mutate(file, old, new)}, [exercise])
    failing = [c for c in report.exercise(exercise).checks if c.outcome == "failed"]
    assert failing
    assert named(report, exercise) == set()
    t = Translator("en")
    values = [c for c in failing if c.feedback.stage == "values"]
    assert all("No known mistake reproduces these numbers" in " ".join(t(d) for d in c.feedback.details)
               for c in values)


# Different-but-correct implementations name nothing: tests/test_mutations.py grades the corpus
# (every check passes, so no feedback at all).


def test_right_answers_name_nothing(solutions_report):
    assert all(c.feedback is None for e in solutions_report.exercises for c in e.checks)


# -- a variant that gives the right answer on the check's inputs is never named ------------------

TOL = Tolerance(rtol=1e-6, atol=1e-9)


def variant_output(exercise: str, output: str, misconception: str, **inputs) -> np.ndarray:
    (function,) = [f for m, f in misconceptions.VARIANTS[(exercise, output)] if m == misconception][:1]
    return np.asarray(function(**inputs))


def spatial_right(x, gamma, beta, eps):
    mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    return gamma.reshape(1, -1, 1, 1) * (x - mean) / np.sqrt(var + eps) + beta.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("misconception", ["channels_mixed_by_reshape", "statistics_per_position"])
def test_spatial_variants_are_silent_when_h_and_w_are_1(misconception):
    """With H = W = 1 a reshape without a transpose and per-position statistics are right."""
    rng = np.random.default_rng(1)
    inputs = {"x": rng.normal(size=(4, 3, 1, 1)), "gamma": rng.uniform(0.5, 2, 3), "beta": rng.normal(size=3),
              "eps": 1e-5}
    right = spatial_right(**inputs)
    got = variant_output("spatial_bn", "out", misconception, **inputs)
    assert np.allclose(got, right)
    assert match("spatial_bn", "out", got, right, TOL, inputs) is None
    # ... and the same mistake is named where H and W tell it apart.
    inputs["x"] = rng.normal(size=(4, 3, 2, 5))
    got = variant_output("spatial_bn", "out", misconception, **inputs)
    assert match("spatial_bn", "out", got, spatial_right(**inputs), TOL, inputs) == misconception


def running_right(running_mean, running_var, x, momentum):
    return {"running_mean": (1 - momentum) * running_mean + momentum * x.mean(axis=0),
            "running_var": (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=1)}


def test_swapped_momentum_is_silent_at_one_half():
    rng = np.random.default_rng(2)
    inputs = {"running_mean": rng.normal(size=4), "running_var": rng.uniform(0.5, 2, 4),
              "x": rng.normal(3, 2, (6, 4)), "momentum": 0.5}
    right = running_right(**inputs)["running_mean"]
    got = variant_output("bn_running_stats", "running_mean", "momentum_swapped", **inputs)
    assert np.allclose(got, right)
    assert match("bn_running_stats", "running_mean", got, right, TOL, inputs) is None


def test_two_variants_that_coincide_name_nothing():
    """At momentum 0.9, swapping the convention and hard-coding 0.1 give the same numbers."""
    rng = np.random.default_rng(3)
    inputs = {"running_mean": rng.normal(size=4), "running_var": rng.uniform(0.5, 2, 4),
              "x": rng.normal(3, 2, (6, 4)), "momentum": 0.9}
    swapped = variant_output("bn_running_stats", "running_mean", "momentum_swapped", **inputs)
    hard_coded = variant_output("bn_running_stats", "running_mean", "momentum_hard_coded", **inputs)
    assert np.allclose(swapped, hard_coded)
    right = running_right(**inputs)["running_mean"]
    assert match("bn_running_stats", "running_mean", swapped, right, TOL, inputs) is None
    inputs["momentum"] = 0.3
    swapped = variant_output("bn_running_stats", "running_mean", "momentum_swapped", **inputs)
    right = running_right(**inputs)["running_mean"]
    assert match("bn_running_stats", "running_mean", swapped, right, TOL, inputs) == "momentum_swapped"


@pytest.mark.parametrize("misconception", ["momentum_not_applied", "weight_decay_after_momentum"])
def test_momentum_variants_are_silent_where_they_equal_torch(misconception):
    """Without momentum, or at the first step (no velocity yet), these forms equal torch's."""
    rng = np.random.default_rng(4)
    param, grad = rng.uniform(0.5, 2, 5), rng.normal(size=5)
    for momentum, velocity in ((0.0, None), (0.9, None)):
        inputs = {"param": param, "grad": grad, "lr": 0.1, "velocity": velocity, "momentum": momentum,
                  "weight_decay": 0.05}
        right = param - 0.1 * (grad + 0.05 * param)
        got = variant_output("bn_sgd_step", "new_param", misconception, **inputs)
        assert np.allclose(got, right)
        assert match("bn_sgd_step", "new_param", got, right, TOL, inputs) is None


def test_lr_in_velocity_is_silent_at_lr_1():
    """At lr = 1, ``v = mu * v + lr * g`` is torch's buffer itself: a student who writes it is
    right there (and named nothing, as for any right answer); the minus form is still named."""
    rng = np.random.default_rng(5)
    grad, velocity = rng.normal(size=5), rng.normal(size=5)
    inputs = {"param": rng.uniform(0.5, 2, 5), "grad": grad, "lr": 1.0, "velocity": velocity, "momentum": 0.9,
              "weight_decay": 0.0}
    right = 0.9 * velocity + grad
    assert np.allclose(lr_in_velocity(1.0)(**inputs), right)
    assert match("bn_sgd_step", "new_velocity", lr_in_velocity(-1.0)(**inputs), right, TOL, inputs) == \
        "momentum_lr_in_velocity"


def signed(rng, shape):
    """Inputs without zeros, as the dropout checks use."""
    return rng.uniform(0.25, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def test_dropout_scale_rules_are_silent_at_one_half():
    """At p = 0.5, keeping with probability p and dividing by p is inverted dropout itself."""
    rng = np.random.default_rng(6)
    x = signed(rng, (100, 80))
    keep = rng.random(x.shape) < 0.5  # "p as keep probability", at p = 0.5
    got = x * keep / 0.5
    assert dropout_rules.survivors(x, 0.5)(got, got, TOL) is None
    assert dropout_rules.scale(2.0, float(keep.mean()), 0.5, x.size) is None
    assert dropout_rules.keep_rate(float(keep.mean()), 0.5, x.size) is None
    # ... and the same code is named at p = 0.7.
    keep = rng.random(x.shape) < 0.7
    assert dropout_rules.survivors(x, 0.7)(x * keep / 0.7, None, TOL) == "p_as_keep_probability"


def test_dropout_rules_need_a_clean_mask():
    """A dx without zeros (no mask at all) is not "a new mask drawn in backward", and a scale
    of 1 at the wrong keep rate is not "not inverted"."""
    rng = np.random.default_rng(7)
    x, dout, p = signed(rng, (60, 50)), rng.standard_normal((60, 50)), 0.3
    keep = rng.random(x.shape) >= p
    out = x * keep / (1 - p)
    assert dropout_rules.gradient(dout, out, x, p)(dout.copy(), None, TOL) is None
    other = rng.random(x.shape) >= p
    assert dropout_rules.gradient(dout, out, x, p)(dout * other / (1 - p), None, TOL) == "new_mask_in_backward"
    assert dropout_rules.gradient(dout, out, x, p)(dout * keep, None, TOL) == "backward_scale_missing"
    rare = rng.random(x.shape) >= 0.9
    assert dropout_rules.survivors(x, p)(x * rare, None, TOL) is None
    assert dropout_rules.survivors(x, p)(x * keep, None, TOL) == "dropout_not_inverted"


# -- the E[x²] − E[x]² variance, recognised on the cancellation probe whatever the order of its sums

NAIVE_VARIANCES = {
    "rows": lambda x, mean: (x * x).mean(axis=0) - mean ** 2,
    "einsum": lambda x, mean: np.einsum("nd,nd->d", x, x) / len(x) - mean ** 2,
    "transposed": lambda x, mean: np.ascontiguousarray((x * x).T).sum(axis=1) / len(x) - mean ** 2,
    "reversed": lambda x, mean: np.add.reduce(x[::-1] ** 2, axis=0) / len(x) - mean * mean,
    "sums": lambda x, mean: (np.sum(x ** 2, axis=0) - np.sum(x, axis=0) ** 2 / len(x)) / len(x),
}
RIGHT_VARIANCES = {
    "np.var": lambda x, mean: x.var(axis=0),
    "two passes": lambda x, mean: ((x - mean) ** 2).mean(axis=0),
    # Wrong in other ways, but not this way.
    "unbiased": lambda x, mean: x.var(axis=0, ddof=1),
    "scaled by 1.001²": lambda x, mean: x.var(axis=0) * 1.001 ** 2,
}


def normalised(x, gamma, beta, eps, variance):
    mean = x.mean(axis=0)
    with np.errstate(all="ignore"):
        return gamma * (x - mean) / np.sqrt(variance(x, mean) + eps) + beta


@pytest.mark.parametrize("name", list(NAIVE_VARIANCES) + list(RIGHT_VARIANCES))
def test_the_cancellation_probe_tells_the_naive_variance_in_any_order(name):
    variance = {**NAIVE_VARIANCES, **RIGHT_VARIANCES}[name]
    for seed in range(20):
        x, gamma, beta, eps = batch_inputs(np.random.default_rng(seed), 32, 4, offset=1e4, spread=1e-3)
        probe = cancellation_probe(x)
        assert naive_variance_shows(normalised(probe, gamma, beta, eps, variance), probe, gamma, beta, eps) == \
            (name in NAIVE_VARIANCES), seed
