"""Checks for inverted dropout (dropout_forward, dropout_backward) as nn.Dropout does it.

The mask is random, so the checks read it from the student's own output: the inputs have no
exact zeros, hence a zero in `out` is a dropped unit. Statistical checks use intervals of
5 standard deviations around what a correct implementation gives (whatever it draws from
rng), so a correct one essentially never fails, at any seed. Exact checks (survivors,
backward, float32) compare with torch autograd of ``x * mask / (1 - p)`` for that mask.
Known mistakes are named by rules on the output (`autograder.grading.misconceptions.dropout`).
"""

from contextlib import nullcontext

import numpy as np
import pytest

from autograder.course import Tolerance
from autograder.grading import speed
from autograder.grading.compare import (
    after_property,
    expect_array,
    expect_raises,
    expect_tuple,
    expect_unchanged,
    explained,
    fail,
    median,
    raised,
    rule,
    unchanged,
)
from autograder.grading.misconceptions import dropout as known
from autograder.i18n import Msg, msg
from autograder.sandbox.client import Rng

FORWARD, BACKWARD = "dropout_forward", "dropout_backward"
REASONS = "checks.dropout.reasons."
LARGE = (200, 500)  # 100,000 units: 5 sigmas of the keep rate are under 0.008
SAME = Tolerance(rtol=0.0, atol=0.0)  # for `expect_form`, whose expected values are the output's own


def signed(rng, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
    """Inputs with no exact zeros (|x| in [0.25, 2), random signs), so out == 0 means dropped."""
    magnitude = rng.uniform(0.25, 2.0, shape)
    return np.where(rng.random(shape) < 0.5, -magnitude, magnitude).astype(dtype)


def new_seed(rng) -> int:
    """A seed for the student's Generator, itself drawn from the check's seeded rng."""
    return int(rng.integers(2**31))


def run_forward(student, x: np.ndarray, p: float, train: bool, seed: int, **options) -> tuple:
    """The student's forward with ``Rng(seed)`` -> (out, cache, call)."""
    call = student.dropout_forward.call(x, p, train, Rng(seed), **options)
    out, cache = expect_tuple(call.value, ("out", "cache"), function=FORWARD)
    return out, cache, call


def expect_form(out, x: np.ndarray) -> None:
    """The forward's `out` is an array shaped like `x`, of x's dtype, finite; its values are
    not compared (the staged checks of `expect_array` against out's own finite values)."""
    ok = type(out) is np.ndarray and out.shape == x.shape and out.dtype.kind == "f"
    expected = np.where(np.isfinite(out), out, 0.0) if ok else np.zeros(x.shape)
    expect_array(out, expected, name="out", function=FORWARD, tol=SAME, dtype=x.dtype)


def kept_units(out, x: np.ndarray, p: float) -> np.ndarray:
    """The keep mask (bool, shape of x) of a training output: ``out != 0``. Fails unless
    some units were dropped and some kept, which any dropout with 0 < p < 1 does here."""
    expect_form(out, x)
    kept = out != 0
    about = {"p": p, "total": x.size, "function": FORWARD}
    if kept.all():
        fail("property", msg(REASONS + "nothing_dropped", **about, expected=round(p * x.size)))
    if not kept.any():
        fail("property", msg(REASONS + "nothing_kept", **about, expected=round((1 - p) * x.size)))
    return kept


def wrong_scale(out: np.ndarray, x: np.ndarray, kept: np.ndarray, p: float) -> Msg | None:
    """A detail naming the factor the survivors were multiplied by, unless it is 1 / (1 - p)."""
    scale, expected = median(out[kept] / x[kept]), 1.0 / (1.0 - p)
    if abs(scale - expected) <= known.RTOL * expected:
        return None
    return msg(REASONS + "scale", scale=f"{scale:.4g}", expected=f"{expected:.4g}", p=p)


def expect_identity(student, x: np.ndarray, dout: np.ndarray, p: float, train: bool, seed: int, tol,
                    reason: Msg, training_inverted: bool | None = None) -> None:
    """Forward gives x back and backward gives dout back (x and dout of the same shape); in
    evaluation, a known mistake is named when one explains the difference (whether training
    scaled its survivors right tells two of them apart)."""
    out, cache, _ = run_forward(student, x, p, train, seed)
    with explained(reason):
        expect_array(out, x, name="out", function=FORWARD, tol=tol, dtype=x.dtype,
                     diagnose=None if train else known.evaluation(x, p, training_inverted))
        dx = student.dropout_backward(dout, cache)
        expect_array(dx, dout, name="dx", function=BACKWARD, tol=tol, dtype=dout.dtype,
                     diagnose=None if train else known.evaluation(dout, p, training_inverted))


def expect_out_and_dx(out, dx, expected: dict, x, dout, p: float, tol, dtype) -> None:
    """out and dx (shape of x) against `Reference.masked_scale`'s, in the inputs' dtype."""
    expect_array(out, expected["out"], name="out", function=FORWARD, tol=tol, dtype=dtype,
                 diagnose=known.survivors(x, p))
    expect_array(dx, expected["dx"], name="dx", function=BACKWARD, tol=tol, dtype=dtype,
                 diagnose=known.gradient(dout, out, x, p))


def interval(mean: float, std: float) -> tuple[float, float]:
    """The range a correct implementation lands in: SIGMAS standard deviations around `mean`
    (the same width the rules of `known` use)."""
    return float(mean - known.SIGMAS * std), float(mean + known.SIGMAS * std)


# -- statistics ------------------------------------------------------------------------------


def test_keep_rate(student, rng):
    """p = 0.2 and p = 0.7 (p = 0.5 could not tell p from 1 - p)."""
    for p in (0.2, 0.7):
        x = signed(rng, LARGE)
        out, _, _ = run_forward(student, x, p, True, new_seed(rng))
        kept, q = kept_units(out, x, p), 1.0 - p
        n = known.independent_draws(kept)  # a shared mask draws fewer times: a wider interval
        low, high = interval(q, np.sqrt(q * p / n))
        rate = float(kept.mean())
        if not low <= rate <= high:
            fail("property", msg(REASONS + "keep_rate", function=FORWARD, kept=int(kept.sum()), total=kept.size,
                                 rate=f"{rate:.4f}", p=p, expected=f"{q:.4f}", low=f"{low:.4f}",
                                 high=f"{high:.4f}"),
                 misconception=known.shared_mask(kept) or known.keep_rate(rate, p, n),
                 rate=rate, low=low, high=high, p=p)


def test_mean_preserved(student, rng, tolerance):
    """Positive inputs, so that a wrong scale moves the mean: E[out] = x. The interval uses
    the spread of out - x itself, so it holds whatever the scheme's variance."""
    p = 0.2
    x = rng.uniform(0.5, 1.5, LARGE)
    out, _, _ = run_forward(student, x, p, True, new_seed(rng))
    kept = kept_units(out, x, p)
    expected, got = float(x.mean()), float(out.mean(dtype=np.float64))
    draws = known.independent_draws(kept)  # a shared mask draws fewer times: a wider interval
    low, high = interval(expected, float(np.std(out - x, dtype=np.float64)) / np.sqrt(draws))
    if not low <= got <= high:
        hint = wrong_scale(out, x, kept, p)
        fail("property", msg(REASONS + "mean", function=FORWARD, got=f"{got:.5g}",
                             expected=f"{expected:.5g}", ratio=f"{got / expected:.4g}", low=f"{low:.5g}",
                             high=f"{high:.5g}"),
             *([hint] if hint else []),
             misconception=known.shared_mask(kept) or known.survivors(x, p)(out, x, tolerance(x.dtype)),
             got=got, low=low, high=high)


def test_survivors_scaled(student, reference, rng, tolerance):
    """Every unit of out is either exactly 0 or exactly x / (1 - p), here with p = 0.7."""
    p = 0.7
    x = signed(rng, (100, 80))
    out, _, _ = run_forward(student, x, p, True, new_seed(rng))
    kept = kept_units(out, x, p)
    expected = reference.masked_scale(x, kept, p, np.ones_like(x))["out"]
    hint = wrong_scale(out, x, kept, p)
    with explained(hint) if hint else nullcontext():
        expect_array(out, expected, name="out", function=FORWARD, tol=tolerance(x.dtype),
                     dtype=x.dtype, diagnose=known.survivors(x, p))


# -- special values of train and p ---------------------------------------------------------------


def test_eval_is_identity(student, rng, tolerance):
    """train=False: out == x and dx == dout at p = 0.7 and at p = 1 (while train=True does drop
    units)."""
    p, x = 0.7, signed(rng, (50, 40))
    dout, seed = rng.standard_normal(x.shape), new_seed(rng)
    train_out, _, _ = run_forward(student, x, p, True, seed)
    inverted = wrong_scale(train_out, x, kept_units(train_out, x, p), p) is None
    for p_eval in (p, 1.0):
        expect_identity(student, x, dout, p_eval, False, seed, tolerance(x.dtype), msg(REASONS + "eval", p=p_eval),
                        training_inverted=inverted)


def test_p_zero_is_identity(student, rng, tolerance):
    """p = 0 in training: out == x and dx == dout (while p = 0.2 does drop units)."""
    x = signed(rng, (50, 40))
    dout, seed = rng.standard_normal(x.shape), new_seed(rng)
    expect_identity(student, x, dout, 0.0, True, seed, tolerance(x.dtype), msg(REASONS + "p_zero"))
    other_out, _, _ = run_forward(student, x, 0.2, True, seed)
    kept_units(other_out, x, 0.2)


@pytest.mark.contract
def test_p_one_gives_zeros(student, rng, tolerance):
    """p = 1 in training: out and dx are all zeros, with no NaN from dividing by 1 - p = 0."""
    x = signed(rng, (30, 20))
    zeros, tol = np.zeros_like(x), tolerance(x.dtype)
    with rule("p_one_gives_zeros", "exception", "nonfinite"), explained(msg(REASONS + "p_one")):
        out, cache, _ = run_forward(student, x, 1.0, True, new_seed(rng))
        expect_array(out, zeros, name="out", function=FORWARD, tol=tol, dtype=x.dtype, diagnose=known.p_one)
        dx = student.dropout_backward(rng.standard_normal(x.shape), cache)
        expect_array(dx, zeros, name="dx", function=BACKWARD, tol=tol, dtype=x.dtype, diagnose=known.p_one)


@pytest.mark.contract
def test_invalid_p_raises(student, rng):
    """p outside [0, 1] must raise; p = 0.5 must not (and must drop some units, not all)."""
    x = signed(rng, (4, 5))
    for p in (-0.1, 1.5):
        with rule("invalid_p_raises"):
            expect_raises(lambda: student.dropout_forward(x, p, True, Rng(new_seed(rng))), "ValueError",
                          function=FORWARD, reason=msg(REASONS + "invalid_p", p=p))
    x = signed(rng, (40, 50))
    out, _, _ = run_forward(student, x, 0.5, True, new_seed(rng))
    with after_property(raised(FORWARD, "ValueError")):
        kept_units(out, x, 0.5)


# -- the mask ----------------------------------------------------------------------------------


def test_backward_where_x_is_zero(student, reference, rng, tolerance):
    """Half the inputs exactly 0, as after a ReLU: a kept unit still passes its gradient, so the
    backward pass needs the forward's mask, not ``out != 0``. The mask is read from a first
    forward pass with the same seed on inputs without zeros."""
    p, x, seed = 0.3, signed(rng, (60, 50)), new_seed(rng)
    kept = kept_units(run_forward(student, x, p, True, seed)[0], x, p)
    relu = np.where(rng.random(x.shape) < 0.5, 0.0, x)
    out, cache, _ = run_forward(student, relu, p, True, seed)
    expect_form(out, relu)
    if not np.array_equal((out != 0)[relu != 0], kept[relu != 0]):
        fail("property", msg(REASONS + "mask_depends_on_x", function=FORWARD), misconception="mask_not_from_rng")
    dout = rng.standard_normal(x.shape)
    dx = student.dropout_backward(dout, cache)
    with explained(msg(REASONS + "zero_inputs")):
        expect_array(dx, reference.masked_scale(relu, kept, p, dout)["dx"], name="dx", function=BACKWARD,
                     tol=tolerance(x.dtype), dtype=x.dtype, diagnose=known.mask_from_output(dout, out, p))


def test_backward_uses_forward_mask(student, reference, rng, tolerance):
    """dx against torch autograd of x * mask / (1 - p), the mask read from the forward's out."""
    p = 0.7
    x = signed(rng, (64, 50))
    dout = rng.standard_normal(x.shape)
    out, cache, _ = run_forward(student, x, p, True, new_seed(rng))
    kept = kept_units(out, x, p)
    dx = student.dropout_backward(dout, cache)
    expected = reference.masked_scale(x, kept, p, dout)["dx"]
    with explained(msg(REASONS + "backward_mask")):
        expect_array(dx, expected, name="dx", function=BACKWARD, tol=tolerance(x.dtype),
                     dtype=x.dtype, diagnose=known.gradient(dout, out, x, p))


def test_mask_comes_from_rng(student, rng):
    """The same seed gives the same output; another seed gives another mask."""
    p, x, seed = 0.2, signed(rng, (40, 50)), new_seed(rng)
    first, _, _ = run_forward(student, x, p, True, seed)
    kept = kept_units(first, x, p)
    again, _, _ = run_forward(student, x, p, True, seed)
    expect_form(again, x)
    if not np.array_equal(first, again):
        fail("property", msg(REASONS + "same_seed", function=FORWARD, count=int(np.sum(first != again)),
                             total=x.size), misconception="mask_not_from_rng")
    other, _, _ = run_forward(student, x, p, True, seed + 1)
    if np.array_equal(kept, kept_units(other, x, p)):
        fail("property", msg(REASONS + "different_seeds", function=FORWARD), misconception="mask_not_from_rng")


def test_mask_not_shared(student, rng):
    """Each unit has its own draw: rows (samples) and columns (features) of the mask differ."""
    p, x = 0.2, signed(rng, (64, 100))
    out, _, _ = run_forward(student, x, p, True, new_seed(rng))
    shared = known.shared_mask(kept_units(out, x, p))
    if shared == "mask_shared_across_batch":
        fail("property", msg(REASONS + "shared_rows", function=FORWARD, rows=x.shape[0]), misconception=shared)
    if shared == "mask_shared_across_features":
        fail("property", msg(REASONS + "shared_columns", function=FORWARD, columns=x.shape[1]), misconception=shared)


# -- dtypes and inputs -----------------------------------------------------------------------------


@pytest.mark.contract
def test_float32_stays_float32(student, reference, rng, tolerance):
    """float32 x and dout give float32 out and dx, with the right values."""
    p = 0.2
    x, dout = signed(rng, (30, 40), np.float32), rng.standard_normal((30, 40)).astype(np.float32)
    out, cache, _ = run_forward(student, x, p, True, new_seed(rng))
    with rule("float32_kept", "dtype"):
        kept = kept_units(out, x, p)
        dx = student.dropout_backward(dout, cache)
        expect_out_and_dx(out, dx, reference.masked_scale(x, kept, p, dout), x, dout, p, tolerance(np.float32),
                          np.float32)


def test_conv_activations(student, reference, rng, tolerance):
    """x of shape (N, C, H, W), as after a convolution: the same element-wise inverted dropout."""
    p = 0.4
    x, dout = signed(rng, (6, 3, 5, 5)), rng.standard_normal((6, 3, 5, 5))
    out, cache, _ = run_forward(student, x, p, True, new_seed(rng))
    kept = kept_units(out, x, p)
    shared = known.shared_mask(kept)
    if shared is not None:
        fail("property", msg(REASONS + "conv_mask_shared", function=FORWARD), misconception=shared)
    dx = student.dropout_backward(dout, cache)
    expect_out_and_dx(out, dx, reference.masked_scale(x, kept, p, dout), x, dout, p, tolerance(x.dtype), x.dtype)


def test_inputs_not_modified(student, reference, rng, tolerance):
    """Forward leaves x unchanged and backward leaves dout unchanged; both values right."""
    p = 0.2
    x, dout = signed(rng, (30, 40)), rng.standard_normal((30, 40))
    out, cache, call = run_forward(student, x, p, True, new_seed(rng), echo_args=True)
    expect_unchanged(x, call.args_after[0], name="x", function=FORWARD)
    back = student.dropout_backward.call(dout, cache, echo_args=True)
    expect_unchanged(dout, back.args_after[0], name="dout", function=BACKWARD)
    with after_property(unchanged("x", "dout")):
        kept = kept_units(out, x, p)
        expect_out_and_dx(out, back.value, reference.masked_scale(x, kept, p, dout), x, dout, p,
                          tolerance(x.dtype), x.dtype)


@pytest.mark.advice
def test_vectorised(student, rng):
    """Advice only: a forward pass far slower than NumPy's suggests Python loops."""
    x, seed = signed(rng, speed.SHAPE), new_seed(rng)
    call = student.dropout_forward.call(x, 0.5, True, Rng(seed))
    numpy_rng = np.random.default_rng(seed)
    speed.expect_vectorised(call.elapsed, speed.best_time(lambda: speed.dropout_forward_cost(x, numpy_rng)),
                            function=FORWARD, key="advice.loops_elementwise")
