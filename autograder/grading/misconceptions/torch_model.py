"""The PyTorch exercise: the notebook's network (build_model), evaluate and freeze_bn.

What the student's model does is observed in the worker (`autograder.grading.torch_probe`) and
comes back as activations, running statistics, mode flags and parameters. Most mistakes show
as a property of those observations, so the checks name them with the rules below; two are
replayed as variants on the scores and on the running statistics. Every rule names a
misconception only when the observation fits it and not the right behaviour.

Activations: ``fc1`` (fc1's output, N x H), ``bn_in`` and ``bn_out`` (BatchNorm's input and
output), ``fc2_in`` (fc2's input); ``relu = max(bn_out, 0)``.
"""

from __future__ import annotations

import numpy as np

from autograder.course import Tolerance
from autograder.grading.misconceptions import named_by_checks, same, variant
from autograder.grading.misconceptions.dropout import masked, near, scale

EXERCISE = "torch_model"
NOTEBOOK_P = 0.5  # the notebook's nn.Dropout(p=0.5)

named_by_checks(EXERCISE, "relu_before_batchnorm", "dropout_before_batchnorm", "dropout_inactive_in_training",
                "dropout_p_fixed", "p_as_keep_probability", "dropout_not_inverted", "dropout_mixed_convention",
                "functional_dropout_always_on", "evaluate_in_training_mode", "eval_is_not_no_grad",
                "graph_built_then_detached", "evaluate_leaves_eval_mode", "evaluate_always_back_to_train",
                "training_flag_set_directly", "requires_grad_does_not_freeze_statistics",
                "eval_does_not_freeze_gamma_beta", "frozen_bn_normalises_with_batch", "freeze_switches_dropout_off",
                "freeze_stops_every_gradient")


def relu(values: np.ndarray) -> np.ndarray:
    return np.maximum(values, 0.0)


@variant("softmax_output", EXERCISE, "out")
def _(out):
    """The scores turned into probabilities by a softmax at the end of the model."""
    shifted = np.exp(out - out.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@variant("momentum_swapped", EXERCISE, "running_mean")
def _(running_mean, fc1):
    """nn.BatchNorm1d(H, momentum=0.9): the new batch weighs 0.9 (Keras reads its 0.99 the other way)."""
    return 0.1 * running_mean + 0.9 * fc1.mean(axis=0)


@variant("momentum_swapped", EXERCISE, "running_var")
def _(running_var, fc1):
    return 0.1 * running_var + 0.9 * fc1.var(axis=0, ddof=1)


def batchnorm_input(bn_in, fc1: np.ndarray, tol: Tolerance) -> str | None:
    """BatchNorm's input is not fc1's output: it is fc1's output after a ReLU (the activation
    came first), or a masked and scaled copy of it (Dropout came first)."""
    if type(bn_in) is not np.ndarray or bn_in.shape != fc1.shape:
        return None
    if same(bn_in, relu(fc1), tol) and not same(fc1, relu(fc1), tol):
        return "relu_before_batchnorm"
    if masked(bn_in, fc1, tol) is not None:
        return "dropout_before_batchnorm"
    return None


def dropout_in_training(fc2_in: np.ndarray, activated: np.ndarray, p: float, tol: Tolerance,
                        bn_in=None, fc1=None) -> str | None:
    """fc2's input in training mode, against the activations it should be a dropout of
    (`activated`, only its positive units count): no unit dropped there (Dropout placed before
    BatchNorm, when BatchNorm's input `bn_in` is a dropout of fc1's output `fc1`, or not active
    at all), the notebook's fixed p = 0.5 instead of the argument, p as the keep probability,
    survivors not scaled, or the two conventions mixed."""
    positive = activated > 0
    got, base = fc2_in[positive], activated[positive]
    if same(got, base, tol):
        if type(bn_in) is np.ndarray and type(fc1) is np.ndarray and bn_in.shape == fc1.shape \
                and masked(bn_in, fc1, tol) is not None:
            return "dropout_before_batchnorm"
        return "dropout_inactive_in_training"
    found = masked(got, base, tol)
    if found is None:
        return None
    kept, factor = found
    rate = float(kept.mean())
    if p != NOTEBOOK_P and near(rate, 1 - NOTEBOOK_P, kept.size) and not near(rate, 1 - p, kept.size) \
            and abs(factor - 1 / (1 - NOTEBOOK_P)) < 1e-6 * factor:
        return "dropout_p_fixed"
    return scale(factor, rate, p, kept.size)


def dropout_in_evaluation(fc2_in: np.ndarray, activated: np.ndarray, tol: Tolerance) -> str | None:
    """fc2's input in evaluation mode is a masked copy of the activations: Dropout still on."""
    positive = activated > 0
    return "functional_dropout_always_on" if masked(fc2_in[positive], activated[positive], tol) is not None else None


def evaluation_mode(training_during: dict, statistics_changed: bool) -> str | None:
    """evaluate ran the model with its layers in training mode (BatchNorm moved its running
    statistics, or a layer's training flag was on during the pass)."""
    return "evaluate_in_training_mode" if statistics_changed or any(training_during.values()) else None


def gradients(grad_enabled: bool | None, has_graph: bool) -> str | None:
    """Gradients were on during evaluate's forward pass: the graph kept (model.eval() alone)
    or built and then cut off the scores (detach)."""
    if not grad_enabled:
        return None
    return "eval_is_not_no_grad" if has_graph else "graph_built_then_detached"


def restored(start_training: bool, model_after: bool, modules_after: list[bool]) -> str | None:
    """The modes after evaluate on a model that was in training (`start_training`) or in
    evaluation mode: left in evaluation mode, sent back to training regardless, or only the
    top module's flag set back (its layers still in evaluation mode)."""
    if start_training and not any(modules_after):
        return "evaluate_leaves_eval_mode"
    if start_training and model_after and not all(modules_after):
        return "training_flag_set_directly"
    if not start_training and all(modules_after):
        return "evaluate_always_back_to_train"
    return None


def frozen_statistics(gamma_beta_frozen: bool) -> str | None:
    """The running statistics moved while gamma and beta were frozen: requires_grad only."""
    return "requires_grad_does_not_freeze_statistics" if gamma_beta_frozen else None


def frozen_parameters(statistics_frozen: bool, requires_grad: bool) -> str | None:
    """gamma and beta trained while the statistics stayed: the layer was put in evaluation
    mode but its parameters still require gradients."""
    return "eval_does_not_freeze_gamma_beta" if statistics_frozen and requires_grad else None


def frozen_normalisation(bn_out, batch_normalised: np.ndarray, tol: Tolerance, *, statistics_frozen: bool,
                         gamma_beta_frozen: bool) -> str | None:
    """A frozen layer that still normalises with the batch's own statistics: while those
    stayed (momentum 0, or track_running_stats off), or because the layer was left in training
    mode with only its gradients off (the statistics moved too)."""
    if type(bn_out) is not np.ndarray or not same(bn_out, batch_normalised, tol):
        return None
    if statistics_frozen:
        return "frozen_bn_normalises_with_batch"
    return frozen_statistics(gamma_beta_frozen)


def rest_frozen(dropout_lost: bool, fc_requires_grad: bool) -> str | None:
    """What freeze_bn froze beyond BatchNorm: Dropout off (the whole model in evaluation mode),
    or every parameter."""
    if not fc_requires_grad:
        return "freeze_stops_every_gradient"
    return "freeze_switches_dropout_off" if dropout_lost else None


@variant("relu_before_batchnorm", EXERCISE, "out")
def _(x, w1, b1, gamma, beta, running_mean, running_var, w2, b2):
    """fc1 -> ReLU -> BatchNorm1d -> Dropout -> fc2, in evaluation mode."""
    normalised = gamma * (relu(x @ w1.T + b1) - running_mean) / np.sqrt(running_var + 1e-5) + beta
    return normalised @ w2.T + b2
