"""Checks for batchnorm_forward against nn.BatchNorm1d in training mode.

The cases compare values (math); the contract checks (`pytest.mark.contract`) test rules of
the kit's API stated in the stub's docstring. Checks about a property (inputs left alone, an
error raised) pass eps explicitly, so that a wrong default eps costs only the value cases."""

import numpy as np
import pytest

from autograder.grading import speed
from autograder.grading.cases import BATCH_CASES, FLOAT32_SPREAD, batch_inputs, eps_args
from autograder.grading.checks import probes
from autograder.grading.compare import (
    after_property,
    expect_array,
    expect_raises,
    expect_tuple,
    expect_unchanged,
    probed,
    raised,
    rule,
    unchanged,
)
from autograder.grading.misconceptions import diagnosis
from autograder.i18n import msg

FUNCTION = "batchnorm_forward"
CASES = BATCH_CASES
make_inputs = batch_inputs  # x (N, D), gamma and beta (D,), eps


def expect_out(out, expected, x, gamma, beta, eps, tol, dtype) -> None:
    """`out` (N, D) against PyTorch's, naming a known mistake when one explains it."""
    expect_array(out, expected, name="out", function=FUNCTION, tol=tol, dtype=dtype,
                 diagnose=diagnosis("bn_forward", "out", x=x, gamma=gamma, beta=beta, eps=eps))


def run_forward(student, x, gamma, beta, eps, *, explicit_eps: bool = False, **options):
    """Call the student's forward (eps as `cases.eps_args` passes it)."""
    call = student.batchnorm_forward.call(*eps_args((x, gamma, beta), eps, explicit=explicit_eps), **options)
    out, _ = expect_tuple(call.value, ("out", "cache"), function=FUNCTION)
    return out, call


@pytest.mark.parametrize("case", list(CASES))
def test_matches_batchnorm1d(case, student, reference, rng, tolerance):
    n, d, options = CASES[case]
    x, gamma, beta, eps = make_inputs(rng, n, d, **options)
    out, _ = run_forward(student, x, gamma, beta, eps)
    expected = reference.batchnorm(x, gamma, beta, eps=eps)["out"]
    tol = tolerance(x.dtype, case)
    default = probes.default_eps(run_forward, student, x, gamma, beta, eps, expected, tol)
    cancellation = probes.cancellation(run_forward, student, x, gamma, beta, eps, options)
    with probed("eps_default_wrong", default), probed("naive_variance", cancellation):
        expect_out(out, expected, x, gamma, beta, eps, tol, x.dtype)


@pytest.mark.contract
def test_float32_stays_float32(student, reference, rng, tolerance):
    x, gamma, beta, eps = make_inputs(rng, 10, 6, spread=FLOAT32_SPREAD, dtype=np.float32)
    out, _ = run_forward(student, x, gamma, beta, eps, explicit_eps=True)
    expected = reference.batchnorm(x, gamma, beta, eps=eps)["out"]
    with rule("float32_kept", "dtype"):
        expect_out(out, expected, x, gamma, beta, eps, tolerance(np.float32), np.float32)


def test_inputs_not_modified(student, reference, rng, tolerance):
    x, gamma, beta, eps = make_inputs(rng, 8, 3)
    out, call = run_forward(student, x, gamma, beta, eps, explicit_eps=True, echo_args=True)
    for name, before, after in zip(("x", "gamma", "beta"), (x, gamma, beta), call.args_after):
        expect_unchanged(before, after, name=name, function=FUNCTION)
    expected = reference.batchnorm(x, gamma, beta, eps=eps)["out"]
    with after_property(unchanged("x", "gamma", "beta")):
        expect_out(out, expected, x, gamma, beta, eps, tolerance(x.dtype), x.dtype)


@pytest.mark.contract
def test_single_sample_raises(student, reference, rng, tolerance):
    """A batch of one sample must raise; a normal batch (checked) must not."""
    x, gamma, beta, eps = make_inputs(rng, 3, 4)
    with rule("batch_of_one_raises"):
        expect_raises(lambda: run_forward(student, x[:1], gamma, beta, eps, explicit_eps=True), "ValueError",
                      function=FUNCTION, reason=msg("reasons.single_sample"))
    out, _ = run_forward(student, x, gamma, beta, eps, explicit_eps=True)
    with after_property(raised(FUNCTION, "ValueError")):
        expect_out(out, reference.batchnorm(x, gamma, beta, eps=eps)["out"], x, gamma, beta, eps,
                   tolerance(x.dtype), x.dtype)


@pytest.mark.advice
def test_vectorised(student, rng):
    """Advice only: a forward pass far slower than NumPy's suggests Python loops."""
    x, gamma, beta, _ = make_inputs(rng, *speed.SHAPE)
    call = student.batchnorm_forward.call(x, gamma, beta)
    speed.expect_vectorised(call.elapsed, speed.best_time(lambda: speed.batchnorm_forward_cost(x)),
                            function=FUNCTION)
