"""Checks for batchnorm_backward against torch autograd through nn.BatchNorm1d (training).

The cache comes from the student's own batchnorm_forward: when that forward is wrong, the
check reports "blocked by bn_forward" instead of a confusing gradient mismatch.
"""

import numpy as np
import pytest

from autograder.grading import speed
from autograder.grading.cases import BATCH_CASES, FLOAT32_SPREAD, batch_inputs, upstream
from autograder.grading.checks import batchnorm_gradients
from autograder.grading.checks.batchnorm_gradients import GRADIENTS, add_gradient_view
from autograder.grading.compare import (
    after_property,
    expect_array,
    expect_tuple,
    expect_unchanged,
    explained,
    rule,
    unchanged,
)
from autograder.i18n import msg

FUNCTION = "batchnorm_backward"
FORWARD, FORWARD_FUNCTION = "bn_forward", "batchnorm_forward"

CASES = BATCH_CASES  # the forward's cases, each with a random upstream gradient


def make_inputs(rng, n, d, **options):
    """x and dout (N, D), gamma and beta (D,), and eps."""
    x, gamma, beta, eps = batch_inputs(rng, n, d, **options)
    return x, gamma, beta, upstream(rng, (n, d), x.dtype), eps


def expected_for(reference, x, gamma, beta, dout, eps) -> dict:
    """PyTorch's out (N, D) and dx (N, D), dgamma, dbeta (D,)."""
    return reference.batchnorm(x, gamma, beta, eps=eps, dout=dout)


def forward_cache(student, x, gamma, beta, eps, expected, tol):
    """The student's cache, once their forward output is known to be right."""
    out, cache = expect_tuple(student.batchnorm_forward(x, gamma, beta, eps), ("out", "cache"),
                              function=FORWARD_FUNCTION, owner=FORWARD)
    expect_array(out, expected["out"], name="out", function=FORWARD_FUNCTION, tol=tol, dtype=x.dtype,
                 owner=FORWARD)
    return cache


def run_backward(student, dout, cache, **options):
    call = student.batchnorm_backward.call(dout, cache, **options)
    return expect_tuple(call.value, GRADIENTS, function=FUNCTION), call


def expect_gradients(grads, expected, inputs, tol, dtype) -> None:
    """dx (N, D), dgamma and dbeta (D,); `inputs` is (x, gamma, beta, dout, eps)."""
    batchnorm_gradients.expect_gradients(grads, expected, inputs, tol, dtype, function=FUNCTION,
                                         exercise="bn_backward")


@pytest.mark.parametrize("case", list(CASES))
def test_matches_autograd(case, student, reference, rng, tolerance, gradients):
    n, d, options = CASES[case]
    x, gamma, beta, dout, eps = make_inputs(rng, n, d, **options)
    expected = expected_for(reference, x, gamma, beta, dout, eps)
    tol = tolerance(x.dtype, case)
    cache = forward_cache(student, x, gamma, beta, eps, expected, tol)
    grads, _ = run_backward(student, dout, cache)
    if case == "random_batch":  # the well-conditioned case shows the gradient-check view
        add_gradient_view(gradients, reference, grads, expected, (x, gamma, beta, dout, eps))
    expect_gradients(grads, expected, (x, gamma, beta, dout, eps), tol, x.dtype)


@pytest.mark.contract
def test_float32_stays_float32(student, reference, rng, tolerance):
    x, gamma, beta, dout, eps = make_inputs(rng, 10, 6, spread=FLOAT32_SPREAD, dtype=np.float32)
    expected = expected_for(reference, x, gamma, beta, dout, eps)
    cache = forward_cache(student, x, gamma, beta, eps, expected, tolerance(np.float32))
    grads, _ = run_backward(student, dout, cache)
    with rule("float32_kept", "dtype"):
        expect_gradients(grads, expected, (x, gamma, beta, dout, eps), tolerance(np.float32), np.float32)


def test_dout_not_modified(student, reference, rng, tolerance):
    x, gamma, beta, dout, eps = make_inputs(rng, 8, 3)
    expected = expected_for(reference, x, gamma, beta, dout, eps)
    cache = forward_cache(student, x, gamma, beta, eps, expected, tolerance(x.dtype))
    grads, call = run_backward(student, dout, cache, echo_args=True)
    expect_unchanged(dout, call.args_after[0], name="dout", function=FUNCTION)
    with after_property(unchanged("dout")):
        expect_gradients(grads, expected, (x, gamma, beta, dout, eps), tolerance(x.dtype), x.dtype)


def test_cache_independent(student, reference, rng, tolerance):
    """Two forwards, then a backward with each cache (the first one first)."""
    batches = [make_inputs(rng, 6, 4) for _ in range(2)]
    expected = [expected_for(reference, *batch) for batch in batches]
    caches = [forward_cache(student, x, gamma, beta, eps, want, tolerance(x.dtype))
              for (x, gamma, beta, _, eps), want in zip(batches, expected)]
    for step, (batch, cache, want) in enumerate(zip(batches, caches, expected), start=1):
        grads, _ = run_backward(student, batch[3], cache)
        with explained(msg("checks.bn_backward.reasons.cache_shared", batch=step)):
            expect_gradients(grads, want, batch, tolerance(np.float64), np.float64)


@pytest.mark.advice
def test_vectorised(student, rng):
    """Advice only: a backward pass far slower than NumPy's suggests Python loops."""
    x, gamma, beta, dout, eps = make_inputs(rng, *speed.SHAPE)
    _, cache = expect_tuple(student.batchnorm_forward(x, gamma, beta), ("out", "cache"),
                            function=FORWARD_FUNCTION, owner=FORWARD)
    call = student.batchnorm_backward.call(dout, cache)
    speed.expect_vectorised(call.elapsed, speed.best_time(lambda: speed.batchnorm_backward_cost(dout)),
                            function=FUNCTION)
