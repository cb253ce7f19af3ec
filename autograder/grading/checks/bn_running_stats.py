"""Checks for update_running_stats and batchnorm_eval against nn.BatchNorm1d's running
statistics (training) and its evaluation mode.

Checks about a property (inputs left alone, an error raised, the dtype kept) pass momentum and
eps explicitly, so that a wrong default costs only the checks about values."""

import numpy as np
import pytest

from autograder.grading.cases import affine, eps_args, eps_given, features
from autograder.grading.compare import (
    after_property,
    expect_array,
    expect_raises,
    expect_tuple,
    expect_unchanged,
    explained,
    probed,
    raised,
    right_answer,
    rule,
    unchanged,
)
from autograder.grading.misconceptions import diagnosis
from autograder.i18n import msg

UPDATE, EVAL = "update_running_stats", "batchnorm_eval"
STATS = ("running_mean", "running_var")

# name -> (N, D, options) for one update; "from_none" starts from None (PyTorch's 0 and 1).
UPDATE_CASES = {
    "first_update_from_none": (10, 5, {"from_none": True}),
    "two_samples": (2, 4, {}),
    "custom_momentum": (12, 5, {"momentum": 0.3}),
}
# name -> (N, D, options) for evaluation; running statistics always differ from the batch's.
EVAL_CASES = {
    "stats_far_from_batch": (16, 6, {}),
    "one_sample": (1, 5, {}),
    "custom_eps": (9, 4, {"eps": 0.1}),
}
BATCH_SIZES = (8, 2, 5, 16, 3)  # five updates in a row


def running_stats(rng, d, dtype=np.float64, variances=(0.05, 3.0)) -> tuple[np.ndarray, np.ndarray]:
    """Random running mean and (positive) variance of shape (D,), far from 0 and 1."""
    return rng.normal(0.0, 2.0, d).astype(dtype), rng.uniform(*variances, d).astype(dtype)


def batch(rng, n, d, dtype=np.float64) -> np.ndarray:
    """A batch (N, D) whose statistics are far from the usual running values."""
    return features(rng, (n, d), offset=3.0, spread=2.5, dtype=dtype)


def run_update(student, mean, var, x, momentum=0.1, *, explicit: bool = False, **options):
    """Call the student's update; momentum is left to its default when it is PyTorch's 0.1,
    unless `explicit`."""
    args = (mean, var, x) if momentum == 0.1 and not explicit else (mean, var, x, momentum)
    call = student.update_running_stats.call(*args, **options)
    return expect_tuple(call.value, STATS, function=UPDATE), call


def expect_stats(got, expected, step: int, inputs: tuple, tol, dtype) -> None:
    """The student's (mean, var) (D,) against row `step` of the reference's running stats,
    naming a known mistake when one explains them; `inputs` are the update's (running_mean,
    running_var, x, momentum)."""
    named = dict(zip(("running_mean", "running_var", "x", "momentum"), inputs))
    for name, value, key in zip(STATS, got, ("mean", "var")):
        expect_array(value, expected[key][step], name=name, function=UPDATE, tol=tol, dtype=dtype,
                     diagnose=diagnosis("bn_running_stats", name, **named))


def eval_inputs(rng, n, d, *, eps=1e-5, dtype=np.float64):
    """x (N, D), gamma, beta, running_mean, running_var (D,) and eps. In float32 the running
    variances are large (see cases.FLOAT32_SPREAD: eps is judged in float64 only)."""
    gamma, beta = affine(rng, d, dtype)
    variances = (2.0, 5.0) if np.dtype(dtype) == np.float32 else (0.05, 3.0)
    return (batch(rng, n, d, dtype), gamma, beta, *running_stats(rng, d, dtype, variances), eps)


def eval_args(inputs: tuple, *, explicit: bool = False) -> tuple:
    """The arguments for batchnorm_eval (eps as `cases.eps_args` passes it)."""
    return eps_args(inputs[:-1], inputs[-1], explicit=explicit)


def expected_eval(reference, x, gamma, beta, mean, var, eps) -> np.ndarray:
    return reference.batchnorm(x, gamma, beta, eps=eps, training=False, running_mean=mean,
                               running_var=var)["out"]


def expect_eval(out, reference, inputs: tuple, tol, dtype) -> None:
    """batchnorm_eval's out (N, D) for `inputs` (see `eval_inputs`) against PyTorch's, naming
    a known mistake when one explains it."""
    named = dict(zip(("x", "gamma", "beta", "running_mean", "running_var", "eps"), inputs))
    expect_array(out, expected_eval(reference, *inputs), name="out", function=EVAL, tol=tol, dtype=dtype,
                 diagnose=diagnosis("bn_running_stats", "eval_out", **named))


# -- update_running_stats ------------------------------------------------------------------


@pytest.mark.parametrize("case", list(UPDATE_CASES))
def test_update_matches_batchnorm1d(case, student, reference, rng, tolerance):
    n, d, options = UPDATE_CASES[case]
    mean, var = (None, None) if options.get("from_none") else running_stats(rng, d)
    x, momentum = batch(rng, n, d), options.get("momentum", 0.1)
    stats, _ = run_update(student, mean, var, x, momentum)
    expected = reference.running_stats([x], momentum=momentum, running_mean=mean, running_var=var)
    expect_stats(stats, expected, 0, (mean, var, x, momentum), tolerance(x.dtype), x.dtype)


def test_update_five_batches_in_a_row(student, reference, rng, tolerance):
    """Each update starts from the student's previous result, as in a training loop."""
    d = 3
    start = running_stats(rng, d)
    batches = [batch(rng, n, d) for n in BATCH_SIZES]
    expected = reference.running_stats(batches, running_mean=start[0], running_var=start[1])
    stats = start
    for step, x in enumerate(batches):
        before = stats
        stats, _ = run_update(student, *stats, x)
        with explained(msg("checks.bn_running_stats.reasons.step", step=step + 1, steps=len(batches))):
            expect_stats(stats, expected, step, (*before, x, 0.1), tolerance(x.dtype), x.dtype)


def test_update_inputs_not_modified(student, reference, rng, tolerance):
    mean, var = running_stats(rng, 4)
    x = batch(rng, 6, 4)
    stats, call = run_update(student, mean, var, x, explicit=True, echo_args=True)
    for name, before, after in zip((*STATS, "x"), (mean, var, x), call.args_after):
        expect_unchanged(before, after, name=name, function=UPDATE)
    expected = reference.running_stats([x], running_mean=mean, running_var=var)
    with after_property(unchanged(*STATS, "x")):
        expect_stats(stats, expected, 0, (mean, var, x, 0.1), tolerance(x.dtype), x.dtype)


@pytest.mark.contract
def test_update_single_sample_raises(student, reference, rng, tolerance):
    """A batch of one sample must raise; a normal update (checked) must not."""
    mean, var = running_stats(rng, 4)
    x = batch(rng, 3, 4)
    with rule("batch_of_one_raises"):
        expect_raises(lambda: run_update(student, mean, var, x[:1], explicit=True), "ValueError",
                      function=UPDATE, reason=msg("checks.bn_running_stats.reasons.single_sample"))
    stats, _ = run_update(student, mean, var, x, explicit=True)
    with after_property(raised(UPDATE, "ValueError")):
        expect_stats(stats, reference.running_stats([x], running_mean=mean, running_var=var), 0,
                     (mean, var, x, 0.1), tolerance(x.dtype), x.dtype)


# -- batchnorm_eval ------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(EVAL_CASES))
def test_eval_matches_batchnorm1d(case, student, reference, rng, tolerance):
    n, d, options = EVAL_CASES[case]
    inputs = eval_inputs(rng, n, d, **options)
    out = student.batchnorm_eval(*eval_args(inputs))
    tol = tolerance(inputs[0].dtype)
    expected = expected_eval(reference, *inputs)
    with probed("eps_default_wrong", None if eps_given(inputs[-1]) else
                lambda: right_answer(student.batchnorm_eval(*eval_args(inputs, explicit=True)), expected, tol)):
        expect_eval(out, reference, inputs, tol, inputs[0].dtype)


def test_eval_inputs_not_modified(student, reference, rng, tolerance):
    inputs = eval_inputs(rng, 7, 4)
    call = student.batchnorm_eval.call(*eval_args(inputs, explicit=True), echo_args=True)
    names = ("x", "gamma", "beta", *STATS)
    for name, before, after in zip(names, inputs, call.args_after):
        expect_unchanged(before, after, name=name, function=EVAL,
                         misconception="eval_updates_running_stats" if name in STATS else None)
    with after_property(unchanged(*names)):
        expect_eval(call.value, reference, inputs, tolerance(np.float64), np.float64)


# -- both ------------------------------------------------------------------------------------


@pytest.mark.contract
def test_float32_stays_float32(student, reference, rng, tolerance):
    """One update and one evaluation, everything in float32."""
    mean, var = running_stats(rng, 5, np.float32)
    x = batch(rng, 8, 5, np.float32)
    stats, _ = run_update(student, mean, var, x, explicit=True)
    expected = reference.running_stats([x], running_mean=mean, running_var=var)
    inputs = eval_inputs(rng, 6, 5, dtype=np.float32)
    with rule("float32_kept", "dtype"):
        expect_stats(stats, expected, 0, (mean, var, x, 0.1), tolerance(np.float32), np.float32)
        out = student.batchnorm_eval(*eval_args(inputs, explicit=True))
        expect_eval(out, reference, inputs, tolerance(np.float32), np.float32)
