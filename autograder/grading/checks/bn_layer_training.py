"""Checks for the integration exercise: the kit trains a BatchNorm layer with the student's
functions and compares every step with nn.BatchNorm1d + torch.optim.SGD (float64).

Step k: ``out, cache = batchnorm_forward(x_k, gamma, beta, eps)``; ``running_mean, running_var =
update_running_stats(running_mean, running_var, x_k, momentum)`` (from None, None); ``dx,
dgamma, dbeta = batchnorm_backward(dout_k, cache)``; gamma and beta each take one ``sgd_step``
with learning rate ``lr_k`` and their own velocity. After the last step, ``batchnorm_eval`` on
new inputs. eps (1e-5) and momentum (0.1) are passed explicitly: a wrong default is judged by
the exercise that owns it, and the chain runs on inputs where that function is right.

Each value is compared with ``owner=`` the exercise whose function produced it, so that a
failing prerequisite shows as "blocked by <exercise>"; when every component passes alone but
the chain diverges, the summary starts with the step (or "evaluation") where it first did.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from autograder.course import Tolerance
from autograder.grading.cases import DEFAULT_EPS, affine, features, upstream
from autograder.grading.compare import expect_array, expect_tuple
from autograder.grading.feedback import CheckFailed
from autograder.i18n import Msg, msg

# function -> (exercise that owns it, names of the values it returns)
FUNCTIONS = {
    "batchnorm_forward": ("bn_forward", ("out", "cache")),
    "update_running_stats": ("bn_running_stats", ("running_mean", "running_var")),
    "batchnorm_backward": ("bn_backward", ("dx", "dgamma", "dbeta")),
    "sgd_step": ("bn_sgd_step", ("new_param", "new_velocity")),
    "batchnorm_eval": ("bn_running_stats", ("out",)),
}
LEARNING = ("out", "dx", "dgamma", "dbeta", "gamma", "beta")
MOMENTUM = 0.1  # of the running statistics, PyTorch's
RUNNING = ("running_mean", "running_var")


@dataclass(frozen=True)
class Scenario:
    """A training run: one step per learning rate, then one evaluation."""

    batch_size: int
    """N of every training batch (N, D)."""
    features: int
    """D: gamma and beta have shape (D,)."""
    lrs: tuple[float, ...]
    """The learning rate of each step (a schedule): as many steps as rates."""
    momentum: float = 0.0
    weight_decay: float = 0.0
    eval_size: int = 5
    """N of the evaluation batch."""


SCENARIOS = {
    "momentum": Scenario(8, 5, (0.1, 0.1, 0.05, 0.05, 0.02, 0.01), momentum=0.9, weight_decay=0.05),
    "plain": Scenario(6, 3, (0.3, 0.3, 0.2, 0.1, 0.1)),
    "small_batches": Scenario(3, 4, (0.1, 0.1, 0.1, 0.05, 0.05), momentum=0.9, weight_decay=0.01),
    "evaluation": Scenario(10, 4, (0.2, 0.1, 0.1, 0.05, 0.02), momentum=0.9, weight_decay=0.05,
                           eval_size=7),
}


@contextmanager
def at_step(prefix: Msg, step: int | str) -> Iterator[None]:
    """Start the summary of a failure raised inside the block with `prefix` ("Training step 3
    of 6"), and say how the kit calls the functions (their defaults matter here)."""
    try:
        yield
    except CheckFailed as failure:
        feedback = failure.feedback
        feedback.summary = msg("checks.bn_layer_training.chain.summary", prefix=prefix, summary=feedback.summary)
        feedback.details.append(msg("checks.bn_layer_training.chain.calls"))
        feedback.data["step"] = step
        raise


def make_inputs(rng: np.random.Generator, scenario: Scenario) -> dict[str, Any]:
    """The keyword arguments of reference.bn_layer_training: batches x_k and upstream gradients
    dout_k (N, D), gamma and beta (D,), x_eval (M, D) and the optimiser's settings."""
    d = scenario.features
    batches = [features(rng, (scenario.batch_size, d)) for _ in scenario.lrs]
    gamma, beta = affine(rng, d)
    return {"batches": batches, "douts": [upstream(rng, x.shape) for x in batches],
            "x_eval": features(rng, (scenario.eval_size, d), offset=0.5), "gamma": gamma, "beta": beta,
            "lrs": list(scenario.lrs), "momentum": scenario.momentum, "weight_decay": scenario.weight_decay}


@dataclass
class Training:
    """The layer's state as the student's functions left it, and the expected values."""

    student: Any
    scenario: Scenario
    expected: dict[str, np.ndarray]
    """Per-step arrays of shape (steps, ...) and eval_out, from reference.bn_layer_training."""
    tol: Tolerance
    compare: tuple[str, ...]
    """Names of the values to compare (the chain always runs whole)."""
    params: dict[str, np.ndarray]
    """gamma and beta (D,)."""
    velocities: dict[str, Any] = field(default_factory=lambda: {"gamma": None, "beta": None})
    running: tuple = (None, None)

    def call(self, function: str, *args) -> Any:
        """What the student's `function` returned (a tuple of the right length, if a tuple)."""
        owner, names = FUNCTIONS[function]
        value = getattr(self.student, function)(*args)
        return value if len(names) == 1 else expect_tuple(value, names, function=function, owner=owner)

    def check(self, function: str, name: str, got: Any, expected: np.ndarray) -> None:
        if name in self.compare:
            expect_array(got, expected, name=name, function=function, tol=self.tol, dtype=np.float64,
                         owner=FUNCTIONS[function][0])

    def step(self, k: int, x: np.ndarray, dout: np.ndarray) -> None:
        """Training step k (from 0) on x and dout (N, D)."""
        want = {name: values[k] for name, values in self.expected.items() if name != "eval_out"}
        out, cache = self.call("batchnorm_forward", x, self.params["gamma"], self.params["beta"], DEFAULT_EPS)
        self.check("batchnorm_forward", "out", out, want["out"])
        self.running = self.call("update_running_stats", *self.running, x, MOMENTUM)
        for name, value in zip(RUNNING, self.running):
            self.check("update_running_stats", name, value, want[name])
        grads = self.call("batchnorm_backward", dout, cache)
        for name, value in zip(("dx", "dgamma", "dbeta"), grads):
            self.check("batchnorm_backward", name, value, want[name])
        for name, grad in (("gamma", grads[1]), ("beta", grads[2])):
            self.params[name], self.velocities[name] = self.call(
                "sgd_step", self.params[name], grad, self.scenario.lrs[k], self.velocities[name],
                self.scenario.momentum, self.scenario.weight_decay)
            self.check("sgd_step", name, self.params[name], want[name])

    def evaluate(self, x: np.ndarray) -> None:
        """Evaluation mode on x (M, D) with the trained gamma, beta and running statistics."""
        out = self.call("batchnorm_eval", x, self.params["gamma"], self.params["beta"], *self.running, DEFAULT_EPS)
        self.check("batchnorm_eval", "out", out, self.expected["eval_out"])


def train(student, reference, rng, tolerance, scenario: str, compare: tuple[str, ...], *,
          evaluate: bool = False) -> None:
    """Train with the student's functions, comparing `compare` after every call."""
    setup = SCENARIOS[scenario]
    inputs = make_inputs(rng, setup)
    training = Training(student, setup, reference.bn_layer_training(**inputs), tolerance(np.float64), compare,
                        {"gamma": inputs["gamma"], "beta": inputs["beta"]})
    steps = len(setup.lrs)
    for k, (x, dout) in enumerate(zip(inputs["batches"], inputs["douts"])):
        with at_step(msg("checks.bn_layer_training.chain.step", step=k + 1, steps=steps), k + 1):
            training.step(k, x, dout)
    if evaluate:
        with at_step(msg("checks.bn_layer_training.chain.evaluation"), "evaluation"):
            training.evaluate(inputs["x_eval"])


def test_training_with_momentum_and_weight_decay(student, reference, rng, tolerance):
    train(student, reference, rng, tolerance, "momentum", LEARNING)


def test_training_with_plain_sgd(student, reference, rng, tolerance):
    train(student, reference, rng, tolerance, "plain", LEARNING)


def test_running_statistics_during_training(student, reference, rng, tolerance):
    train(student, reference, rng, tolerance, "small_batches", RUNNING)


def test_evaluation_after_training(student, reference, rng, tolerance):
    train(student, reference, rng, tolerance, "evaluation", LEARNING + RUNNING, evaluate=True)
