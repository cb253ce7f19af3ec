"""Checks for spatial_batchnorm_forward/backward against nn.BatchNorm2d (training) and autograd.

N, C, H and W differ in every case and H != W, so statistics over the wrong axes, a reshape
without a transpose or a kept dimension give visibly wrong values or shapes. The forward
cases judge the default eps; every other check passes eps explicitly, so that a wrong default
costs only those cases.

Code that builds on the student's (N, D) functions (`dependencies.builds_on`) is judged apart
from them: when a value is wrong, those functions are probed on the same data as an
(N·H·W, C) batch, and if one of them is wrong there the check is blocked by its exercise.
"""

from contextlib import contextmanager
from typing import Iterator

import numpy as np
import pytest

from autograder.grading.cases import (
    DEFAULT_EPS,
    FLOAT32_SPREAD,
    affine,
    eps_args,
    features,
    upstream,
)
from autograder.grading.checks import batchnorm_gradients, probes
from autograder.grading.checks.batchnorm_gradients import GRADIENTS, add_gradient_view
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
from autograder.grading.feedback import CheckFailed
from autograder.grading.misconceptions import diagnosis
from autograder.i18n import msg
from autograder.sandbox.client import StudentError

FORWARD = "spatial_batchnorm_forward"
BACKWARD = "spatial_batchnorm_backward"

# name -> ((N, C, H, W), options); every case uses random gamma, beta and upstream gradients.
CASES = {
    "random_batch": ((4, 3, 5, 6), {}),
    "single_sample": ((1, 3, 4, 5), {}),
    "two_samples": ((2, 5, 3, 7), {}),
    "flat_channels": ((6, 4, 3, 5), {"flat": True}),
    "large_offset": ((5, 2, 3, 4), {"offset": 1e4, "spread": 1e-3}),
    "custom_eps": ((3, 4, 5, 2), {"eps": 1e-2}),
}
FORWARD_CASES = ["random_batch", "single_sample", "flat_channels", "large_offset", "custom_eps"]
BACKWARD_CASES = ["random_batch", "two_samples", "single_sample", "custom_eps"]


def with_flat_channels(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """x (N, C, H, W) with channel 0 nearly constant (std 1e-4, below eps) and channel 1 constant."""
    x = x.copy()
    x[:, 0] = 0.3 + 1e-4 * rng.standard_normal(x[:, 0].shape)
    x[:, 1] = -1.25
    return x


def make_inputs(rng, shape, *, offset=0.0, spread=1.0, flat=False, eps=DEFAULT_EPS, dtype=np.float64):
    """x (N, C, H, W), gamma and beta (C,), dout (N, C, H, W), eps."""
    x = features(rng, shape, offset=offset, spread=spread, dtype=dtype)
    if flat:
        x = with_flat_channels(x, rng)
    gamma, beta = affine(rng, shape[1], dtype)
    return x, gamma, beta, upstream(rng, shape, dtype), eps


def run_forward(student, x, gamma, beta, eps, *, explicit_eps: bool = False, **options):
    """The student's (out, cache) and the whole call (eps as `cases.eps_args` passes it)."""
    call = student.spatial_batchnorm_forward.call(*eps_args((x, gamma, beta), eps, explicit=explicit_eps),
                                                  **options)
    out, cache = expect_tuple(call.value, ("out", "cache"), function=FORWARD)
    return out, cache, call


def run_backward(student, dout, cache, **options):
    """The student's (dx, dgamma, dbeta) and the whole call."""
    call = student.spatial_batchnorm_backward.call(dout, cache, **options)
    return expect_tuple(call.value, GRADIENTS, function=BACKWARD), call


def rows(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N·H·W, C): one row per sample and position, one column per channel."""
    return a.transpose(0, 2, 3, 1).reshape(-1, a.shape[1])


@contextmanager
def prerequisites(student, reference, uses: set[str], inputs: tuple, tol) -> Iterator[None]:
    """A wrong value inside the block, from code that builds on batchnorm_forward (and
    batchnorm_backward), makes the check blocked by the first of them that is wrong on the same
    data; `inputs` are (x, gamma, beta, dout or None, eps)."""
    try:
        yield
    except CheckFailed as failure:
        if failure.owner is None:
            failure.owner = wrong_prerequisite(student, reference, uses, inputs, tol)
        raise


def wrong_prerequisite(student, reference, uses: set[str], inputs: tuple, tol) -> str | None:
    """The exercise of the (N, D) function the student's spatial code uses that is wrong on
    its inputs as an (N·H·W, C) batch, or None."""
    x, gamma, beta, dout, eps = inputs
    if "batchnorm_forward" not in uses:
        return None
    flat = rows(x)
    backward = dout is not None and "batchnorm_backward" in uses
    expected = reference.batchnorm(flat, gamma, beta, eps=eps, dout=rows(dout) if backward else None)
    try:
        out, cache = expect_tuple(student.batchnorm_forward(flat, gamma, beta, eps), ("out", "cache"),
                                  function="batchnorm_forward")
        expect_array(out, expected["out"], name="out", function="batchnorm_forward", tol=tol, dtype=x.dtype)
    except (CheckFailed, StudentError):
        return "bn_forward"
    if not backward:
        return None
    try:
        grads = expect_tuple(student.batchnorm_backward(rows(dout), cache), GRADIENTS, function="batchnorm_backward")
        for name, got in zip(GRADIENTS, grads):
            expect_array(got, expected[name], name=name, function="batchnorm_backward", tol=tol, dtype=x.dtype)
    except (CheckFailed, StudentError):
        return "bn_backward"
    return None


def expect_out(out, expected, x, gamma, beta, eps, tol, dtype) -> None:
    """out (N, C, H, W) against nn.BatchNorm2d's, naming a known mistake when one explains it."""
    expect_array(out, expected, name="out", function=FORWARD, tol=tol, dtype=dtype,
                 diagnose=diagnosis("spatial_bn", "out", x=x, gamma=gamma, beta=beta, eps=eps))


def expect_gradients(grads, expected, inputs: tuple, tol, dtype) -> None:
    """dx (N, C, H, W), dgamma and dbeta (C,); `inputs` is (x, gamma, beta, dout, eps)."""
    batchnorm_gradients.expect_gradients(grads, expected, inputs, tol, dtype, function=BACKWARD,
                                         exercise="spatial_bn")


@pytest.mark.parametrize("case", FORWARD_CASES)
def test_forward_matches_batchnorm2d(case, student, reference, rng, tolerance, builds_on):
    shape, options = CASES[case]
    x, gamma, beta, _, eps = make_inputs(rng, shape, **options)
    tol = tolerance(x.dtype, case)
    with prerequisites(student, reference, builds_on, (x, gamma, beta, None, eps), tol):
        out, _, _ = run_forward(student, x, gamma, beta, eps)
        expected = reference.batchnorm(x, gamma, beta, eps=eps)["out"]
        default = probes.default_eps(run_forward, student, x, gamma, beta, eps, expected, tol)
        cancellation = probes.cancellation(run_forward, student, x, gamma, beta, eps, options)
        with probed("eps_default_wrong", default), probed("naive_variance", cancellation):
            expect_out(out, expected, x, gamma, beta, eps, tol, x.dtype)


@pytest.mark.parametrize("case", BACKWARD_CASES)
def test_backward_matches_autograd(case, student, reference, rng, tolerance, gradients, builds_on):
    shape, options = CASES[case]
    x, gamma, beta, dout, eps = make_inputs(rng, shape, **options)
    expected = reference.batchnorm(x, gamma, beta, eps=eps, dout=dout)
    tol = tolerance(x.dtype, case)
    with prerequisites(student, reference, builds_on, (x, gamma, beta, dout, eps), tol):
        out, cache, _ = run_forward(student, x, gamma, beta, eps, explicit_eps=True)
        expect_out(out, expected["out"], x, gamma, beta, eps, tol, x.dtype)
        grads, _ = run_backward(student, dout, cache)
        if case == "random_batch":  # the well-conditioned case shows the gradient-check view
            add_gradient_view(gradients, reference, grads, expected, (x, gamma, beta, dout, eps))
        expect_gradients(grads, expected, (x, gamma, beta, dout, eps), tol, x.dtype)


@pytest.mark.contract
def test_float32_stays_float32(student, reference, rng, tolerance, builds_on):
    x, gamma, beta, dout, eps = make_inputs(rng, (3, 2, 4, 5), spread=FLOAT32_SPREAD, dtype=np.float32)
    expected = reference.batchnorm(x, gamma, beta, eps=eps, dout=dout)
    tol = tolerance(np.float32)
    with prerequisites(student, reference, builds_on, (x, gamma, beta, dout, eps), tol), \
            rule("float32_kept", "dtype"):
        out, cache, _ = run_forward(student, x, gamma, beta, eps, explicit_eps=True)
        expect_out(out, expected["out"], x, gamma, beta, eps, tol, np.float32)
        grads, _ = run_backward(student, dout, cache)
        expect_gradients(grads, expected, (x, gamma, beta, dout, eps), tol, np.float32)


def test_inputs_not_modified(student, reference, rng, tolerance, builds_on):
    x, gamma, beta, dout, eps = make_inputs(rng, (3, 4, 2, 5))
    expected = reference.batchnorm(x, gamma, beta, eps=eps, dout=dout)
    out, cache, call = run_forward(student, x, gamma, beta, eps, explicit_eps=True, echo_args=True)
    for name, before, after in zip(("x", "gamma", "beta"), (x, gamma, beta), call.args_after):
        expect_unchanged(before, after, name=name, function=FORWARD)
    grads, call = run_backward(student, dout, cache, echo_args=True)
    expect_unchanged(dout, call.args_after[0], name="dout", function=BACKWARD)
    with after_property(unchanged("x", "gamma", "beta", "dout")), \
            prerequisites(student, reference, builds_on, (x, gamma, beta, dout, eps), tolerance(x.dtype)):
        expect_out(out, expected["out"], x, gamma, beta, eps, tolerance(x.dtype), x.dtype)
        expect_gradients(grads, expected, (x, gamma, beta, dout, eps), tolerance(x.dtype), x.dtype)


@pytest.mark.contract
def test_single_value_per_channel_raises(student, reference, rng, tolerance, builds_on):
    """One value per channel (N=1, H=W=1) must raise; two (N=2) must not (checked)."""
    x, gamma, beta, _, eps = make_inputs(rng, (2, 3, 1, 1))
    with rule("one_value_per_channel_raises"):
        expect_raises(lambda: run_forward(student, x[:1], gamma, beta, eps, explicit_eps=True), "ValueError",
                      function=FORWARD, reason=msg("checks.spatial_bn.reasons.single_value"))
    out, _, _ = run_forward(student, x, gamma, beta, eps, explicit_eps=True)
    expected = reference.batchnorm(x, gamma, beta, eps=eps)["out"]
    with after_property(raised(FORWARD, "ValueError")), \
            prerequisites(student, reference, builds_on, (x, gamma, beta, None, eps), tolerance(x.dtype)):
        expect_out(out, expected, x, gamma, beta, eps, tolerance(x.dtype), x.dtype)
