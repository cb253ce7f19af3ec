"""Checks for sgd_step against torch.optim.SGD, chained over several steps as in training:
each step starts from the student's previous param and velocity, and both are checked
after every step."""

from contextlib import nullcontext

import numpy as np
import pytest

from autograder.cases import affine, upstream
from autograder.compare import (close_enough, expect_array, expect_none, expect_tuple, expect_unchanged,
                                explained)
from autograder.i18n import msg

FUNCTION = "sgd_step"
REASONS = "checks.bn_sgd_step.reasons."
SCHEDULE = (0.1, 0.05, 0.2, 0.02, 0.1)  # lr before each step: a schedule, not a constant

# name -> (steps, momentum, weight_decay); the learning rates follow SCHEDULE.
CASES = {
    "plain_step": (1, 0.0, 0.0),
    "weight_decay_only": (3, 0.0, 0.1),
    "momentum_schedule": (5, 0.9, 0.0),
    "momentum_weight_decay_schedule": (5, 0.9, 0.05),
}


def make_inputs(rng, steps: int, d: int = 6, dtype=np.float64) -> tuple[np.ndarray, list[np.ndarray]]:
    """A parameter like gamma, shape (D,), away from 0, and `steps` random gradients (D,)."""
    param = rng.uniform(0.5, 2.0, d).astype(dtype)
    return param, [upstream(rng, (d,), dtype) for _ in range(steps)]


def run_step(student, param, grad, lr, velocity, momentum, weight_decay) -> tuple:
    """One call of the student's sgd_step -> (new_param, new_velocity); arguments equal to
    their defaults are left out, so the defaults are checked too."""
    kwargs = {name: value for name, value in (("momentum", momentum), ("weight_decay", weight_decay))
              if value}
    if velocity is not None:
        kwargs["velocity"] = velocity
    value = student.sgd_step(param, grad, lr, **kwargs)
    return expect_tuple(value, ("new_param", "new_velocity"), function=FUNCTION)


def expect_step(param, velocity, expected: dict, k: int, lr: float, momentum: float, tol, dtype) -> None:
    """The student's param and velocity (D,) after step k against row k of the reference's."""
    expect_array(param, expected["param"][k], name="new_param", function=FUNCTION, tol=tol, dtype=dtype)
    if not momentum:
        expect_none(velocity, name="new_velocity", function=FUNCTION, reason=msg(REASONS + "no_buffer"))
        return
    hint = lr_in_buffer(velocity, expected["velocity"][k], lr, tol)
    with explained(msg(REASONS + "lr_in_buffer")) if hint else nullcontext():
        expect_array(velocity, expected["velocity"][k], name="new_velocity", function=FUNCTION, tol=tol,
                     dtype=dtype)


def lr_in_buffer(velocity, expected: np.ndarray, lr: float, tol) -> bool:
    """Is `velocity` plus or minus lr times torch's buffer (the `v = mu*v - lr*g` form)?"""
    if type(velocity) is not np.ndarray or velocity.shape != expected.shape or velocity.dtype.kind != "f":
        return False
    return any(close_enough(velocity, sign * lr * expected, tol) for sign in (-1.0, 1.0))


def chain(student, reference, param, grads, *, momentum, weight_decay, tol) -> None:
    """Chain the student's steps over `grads` (lr from SCHEDULE), checking each step."""
    lrs = SCHEDULE[:len(grads)]
    expected = reference.sgd(param, grads, list(lrs), momentum=momentum, weight_decay=weight_decay)
    velocity = None
    for k, (grad, lr) in enumerate(zip(grads, lrs)):
        param, velocity = run_step(student, param, grad, lr, velocity, momentum, weight_decay)
        with explained(msg(REASONS + "step", step=k + 1, steps=len(grads), lr=lr)):
            expect_step(param, velocity, expected, k, lr, momentum, tol, grad.dtype)


@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch_sgd(case, student, reference, rng, tolerance):
    steps, momentum, weight_decay = CASES[case]
    param, grads = make_inputs(rng, steps)
    chain(student, reference, param, grads, momentum=momentum, weight_decay=weight_decay,
          tol=tolerance(np.float64))


def test_float32_stays_float32(student, reference, rng, tolerance):
    """Momentum and weight decay, 3 steps: param and velocity stay float32 throughout."""
    param, grads = make_inputs(rng, 3, dtype=np.float32)
    chain(student, reference, param, grads, momentum=0.9, weight_decay=0.05, tol=tolerance(np.float32))


def test_inputs_not_modified(student, reference, rng, tolerance):
    """Two steps with momentum and weight decay; the second one receives a velocity."""
    param, grads = make_inputs(rng, 2)
    expected = reference.sgd(param, grads, list(SCHEDULE[:2]), momentum=0.9, weight_decay=0.05)
    velocity = None
    for k, grad in enumerate(grads):
        inputs = {"param": param, "grad": grad, "lr": None, "velocity": velocity}
        call = student.sgd_step.call(param, grad, SCHEDULE[k], velocity, 0.9, 0.05, echo_args=True)
        for (name, before), after in zip(inputs.items(), call.args_after):
            if before is not None:
                expect_unchanged(before, after, name=name, function=FUNCTION)
        param, velocity = expect_tuple(call.value, ("new_param", "new_velocity"), function=FUNCTION)
        with explained(msg(REASONS + "step", step=k + 1, steps=len(grads), lr=SCHEDULE[k])):
            expect_step(param, velocity, expected, k, SCHEDULE[k], 0.9, tolerance(np.float64),
                        np.float64)


def test_two_parameters_alternately(student, reference, rng, tolerance):
    """gamma and beta (D,) take turns, each with its own velocity, as in a training loop."""
    steps, momentum, weight_decay = 4, 0.9, 0.01
    starts = dict(zip(("gamma", "beta"), affine(rng, 6)))
    grads = {name: [upstream(rng, p.shape) for _ in range(steps)] for name, p in starts.items()}
    lrs = list(SCHEDULE[:steps])
    expected = {name: reference.sgd(p, grads[name], lrs, momentum=momentum, weight_decay=weight_decay)
                for name, p in starts.items()}
    state = {name: (p, None) for name, p in starts.items()}
    for k in range(steps):
        for name, (param, velocity) in list(state.items()):
            param, velocity = run_step(student, param, grads[name][k], lrs[k], velocity, momentum, weight_decay)
            state[name] = (param, velocity)
            with explained(msg(REASONS + "alternating", param=name, step=k + 1, steps=steps, lr=lrs[k])):
                expect_step(param, velocity, expected[name], k, lrs[k], momentum, tolerance(np.float64),
                            np.float64)
