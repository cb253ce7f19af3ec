"""Checks for sgd_step against torch.optim.SGD, chained over several steps as in training:
each step starts from the student's previous param and velocity, and both are checked
after every step."""

import numpy as np
import pytest

from autograder.grading.cases import affine, upstream
from autograder.grading.compare import (
    after_property,
    expect_array,
    expect_none,
    expect_tuple,
    expect_unchanged,
    explained,
    rule,
    unchanged,
)
from autograder.grading.misconceptions import diagnosis
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


def expect_step(new_param, new_velocity, expected: dict, k: int, inputs: dict, tol, dtype) -> None:
    """The student's param and velocity (D,) after step k against row k of the reference's,
    naming a known mistake when one explains them. `inputs` are the step's arguments by name
    (param, grad, lr, velocity, momentum, weight_decay)."""
    for name, got in (("new_param", new_param), ("new_velocity", new_velocity)):
        if name == "new_velocity" and not inputs["momentum"]:
            expect_none(got, name=name, function=FUNCTION, reason=msg(REASONS + "no_buffer"))
            return
        expect_array(got, expected[name.removeprefix("new_")][k], name=name, function=FUNCTION, tol=tol,
                     dtype=dtype, diagnose=diagnosis("bn_sgd_step", name, **inputs))


def step_inputs(param, grad, lr, velocity, momentum, weight_decay) -> dict:
    """sgd_step's arguments by name, in the order of its signature."""
    return {"param": param, "grad": grad, "lr": lr, "velocity": velocity, "momentum": momentum,
            "weight_decay": weight_decay}


def chain(student, reference, param, grads, *, momentum, weight_decay, tol) -> None:
    """Chain the student's steps over `grads` (lr from SCHEDULE), checking each step."""
    lrs = SCHEDULE[:len(grads)]
    expected = reference.sgd(param, grads, list(lrs), momentum=momentum, weight_decay=weight_decay)
    velocity = None
    for k, (grad, lr) in enumerate(zip(grads, lrs)):
        inputs = step_inputs(param, grad, lr, velocity, momentum, weight_decay)
        param, velocity = run_step(student, param, grad, lr, velocity, momentum, weight_decay)
        with explained(msg(REASONS + "step", step=k + 1, steps=len(grads), lr=lr)):
            expect_step(param, velocity, expected, k, inputs, tol, grad.dtype)


@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch_sgd(case, student, reference, rng, tolerance):
    steps, momentum, weight_decay = CASES[case]
    param, grads = make_inputs(rng, steps)
    chain(student, reference, param, grads, momentum=momentum, weight_decay=weight_decay,
          tol=tolerance(np.float64))


@pytest.mark.contract
def test_float32_stays_float32(student, reference, rng, tolerance):
    """Momentum and weight decay, 3 steps: param and velocity stay float32 throughout."""
    param, grads = make_inputs(rng, 3, dtype=np.float32)
    with rule("float32_kept", "dtype"):
            chain(student, reference, param, grads, momentum=0.9, weight_decay=0.05, tol=tolerance(np.float32))


def test_inputs_not_modified(student, reference, rng, tolerance):
    """Two steps with momentum and weight decay; the second one receives a velocity."""
    param, grads = make_inputs(rng, 2)
    expected = reference.sgd(param, grads, list(SCHEDULE[:2]), momentum=0.9, weight_decay=0.05)
    velocity = None
    for k, grad in enumerate(grads):
        inputs = step_inputs(param, grad, SCHEDULE[k], velocity, 0.9, 0.05)
        call = student.sgd_step.call(*inputs.values(), echo_args=True)
        for (name, before), after in zip(inputs.items(), call.args_after):
            if isinstance(before, np.ndarray):
                expect_unchanged(before, after, name=name, function=FUNCTION)
        arrays = [name for name, value in inputs.items() if isinstance(value, np.ndarray)]
        with after_property(unchanged(*arrays)), \
                explained(msg(REASONS + "step", step=k + 1, steps=len(grads), lr=SCHEDULE[k])):
            param, velocity = expect_tuple(call.value, ("new_param", "new_velocity"), function=FUNCTION)
            expect_step(param, velocity, expected, k, inputs, tolerance(np.float64), np.float64)


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
            inputs = step_inputs(param, grads[name][k], lrs[k], velocity, momentum, weight_decay)
            param, velocity = run_step(student, param, grads[name][k], lrs[k], velocity, momentum, weight_decay)
            state[name] = (param, velocity)
            with explained(msg(REASONS + "alternating", param=name, step=k + 1, steps=steps, lr=lrs[k])):
                expect_step(param, velocity, expected[name], k, inputs, tolerance(np.float64), np.float64)
