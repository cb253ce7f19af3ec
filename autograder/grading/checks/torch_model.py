"""Checks for the PyTorch exercise: the notebook's network (build_model), evaluate and freeze_bn.

Every check is behavioural. The probe (`autograder.grading.torch_probe`) builds the student's
model inside the worker, loads this check's weights and running statistics into it, runs it
and sends back numbers only: the activations between the layers, the scores, the running
statistics, the training flag of every module, the parameters after fine-tuning steps. Here,
in the grader, they are compared with PyTorch's own network (`Reference.notebook_model`) and
with the properties the exercise states. Shapes: x (N, D), activations (N, H), scores (N, C).
"""

from pathlib import Path

import numpy as np
import pytest

from autograder.course import Tolerance
from autograder.grading.cases import features
from autograder.grading.compare import expect_array, fail
from autograder.grading.misconceptions import diagnosis, same
from autograder.grading.misconceptions import torch_model as known
from autograder.grading.misconceptions.dropout import masked, near
from autograder.i18n import msg

PROBE = Path(__file__).resolve().parents[1] / "torch_probe.py"
BUILD, EVALUATE, FREEZE = "build_model", "evaluate", "freeze_bn"
REASONS = "checks.torch_model.reasons."
SIZES = (6, 16, 4)  # D, H, C: all different, so fc1 and fc2 are told apart by their shapes
N = 128  # about N * H / 2 = 1000 positive activations: dropout's keep rate within +-0.07 (5 sigmas)
P = 0.3  # not the notebook's 0.5, at which p and 1 - p (and a hard-coded 0.5) look the same
LR = 0.1
EPOCHS = 3
MODEL = msg(REASONS + "your_model")  # who "returned" an activation: the model the checks built
FROZEN = msg(REASONS + "model_after_freeze")


# -- inputs and the probe -----------------------------------------------------------------------------


def model_spec(rng, **extra) -> dict:
    """Weights and running statistics far from PyTorch's initial ones (gamma != 1, beta != 0,
    running_var != 1), and a batch x (N, D) with a different mean and scale per feature."""
    d, h, c = SIZES
    weights = {"w1": rng.normal(0.0, 1 / np.sqrt(d), (h, d)), "b1": rng.normal(0.0, 0.5, h),
               "gamma": rng.uniform(0.5, 2.0, h), "beta": rng.normal(0.0, 0.5, h),
               "running_mean": rng.normal(0.0, 0.5, h), "running_var": rng.uniform(0.5, 2.0, h),
               "w2": rng.normal(0.0, 1 / np.sqrt(h), (c, h)), "b2": rng.normal(0.0, 0.5, c)}
    return {"sizes": list(SIZES), "p": P, "weights": weights, "x": features(rng, (N, d)),
            "seed": int(rng.integers(2**31)), **extra}


def probe(student, entry: str, spec: dict, functions: tuple[str, ...]) -> dict:
    """The probe's answer for one entry; fails when the model is not the notebook's network
    as the exercise states it (the probe says what it found)."""
    answer = student.drive(PROBE, list(functions), spec, entry=entry)
    if not isinstance(answer, dict):
        fail("type", msg(REASONS + "garbled"))
    problem = answer.get("problem")
    if problem is not None:
        kind = str(problem.get("kind"))
        details = {key: str(value) for key, value in problem.items() if key != "kind"}
        fail("type", msg(f"checks.torch_model.problems.{kind}", **details))
    return answer


def weights_used(spec: dict, answer: dict) -> dict:
    """The check's weights as the model holds them: a layer built without a bias has none."""
    weights = dict(spec["weights"])
    for layer, bias in (("fc1", "b1"), ("fc2", "b2")):
        if not answer.get("biases", {}).get(layer, True):
            weights[bias] = np.zeros_like(weights[bias])
    return weights


def activation(record: dict, name: str) -> np.ndarray:
    """One recorded activation; fails when the layer it comes from never ran."""
    value = record.get(name)
    if isinstance(value, dict) and "type" in value:  # the layer ran, but what it gave or got is no tensor
        what = {"bn_in": "bn_input", "bn_out": "bn_output", "fc2_in": "fc2_input"}.get(name, name)
        fail("type", msg(REASONS + "not_a_tensor", what=msg(REASONS + what), got=str(value["type"])))
    if type(value) is not np.ndarray:
        layer = {"fc1_out": "fc1", "bn_in": "bn", "bn_out": "bn", "fc2_in": "fc2", "out": "fc2",
                 "eval_scores": "fc2"}[name]
        fail("property", msg(REASONS + "layer_not_called", layer=msg(f"checks.torch_model.layers.{layer}")))
    return value


def tol_for(value, tolerance) -> Tolerance:
    """The course's tolerance for the dtype the model computed in (float64 unless the model
    casts on its own)."""
    dtype = value.dtype if type(value) is np.ndarray else np.float64
    return tolerance(dtype)


def relu(values: np.ndarray) -> np.ndarray:
    return np.maximum(values, 0.0)


def mask_of(fc2_in: np.ndarray, activated: np.ndarray) -> np.ndarray:
    """Which positive activations reached fc2 (Dropout's keep mask over them)."""
    return fc2_in[activated > 0] != 0


def keep_rate_ok(kept: np.ndarray) -> bool:
    return near(float(kept.mean()), 1 - P, kept.size)


# -- build_model: the network ----------------------------------------------------------------------------


def test_scores_match_the_notebook_network(student, reference, rng, tolerance):
    """Evaluation mode, given weights and running statistics: the scores (N, C)."""
    spec = model_spec(rng, mode="eval")
    answer = probe(student, "forward", spec, (BUILD,))
    weights = weights_used(spec, answer)
    expected = reference.notebook_model(spec["x"], weights, training=False)
    scores = activation(answer["passes"][0], "out")
    expect_array(scores, expected["out"], name=msg(REASONS + "scores"), function=MODEL,
                 tol=tol_for(scores, tolerance),
                 diagnose=diagnosis(known.EXERCISE, "out", out=expected["out"], x=spec["x"], **weights))


def test_batchnorm_comes_between_fc1_and_relu(student, reference, rng, tolerance):
    """BatchNorm's input is fc1's output (in both modes), and fc2's input is ReLU of
    BatchNorm's output (in evaluation mode, where Dropout does nothing)."""
    for mode in ("eval", "train"):
        spec = model_spec(rng, mode=mode)
        answer = probe(student, "forward", spec, (BUILD,))
        expected = reference.notebook_model(spec["x"], weights_used(spec, answer), training=mode == "train")
        record = answer["passes"][0]
        bn_in = activation(record, "bn_in")
        tol = tol_for(bn_in, tolerance)
        expect_array(bn_in, expected["fc1"], name=msg(REASONS + "bn_input"), function=MODEL, tol=tol,
                     diagnose=lambda got, right, tol: known.batchnorm_input(got, right, tol))
        if mode == "eval":
            bn_out, fc2_in = activation(record, "bn_out"), activation(record, "fc2_in")
            expect_array(fc2_in, relu(bn_out), name=msg(REASONS + "fc2_input"), function=MODEL, tol=tol)


def test_dropout_is_active_in_training(student, reference, rng, tolerance):
    """Training mode, two passes of one batch: fc2 receives ReLU's output with about a share p
    of its units dropped and the others divided by 1 - p, and another mask each pass."""
    spec = model_spec(rng, mode="train", passes=2)
    answer = probe(student, "forward", spec, (BUILD,))
    masks = []
    for record in answer["passes"]:
        activated, fc2_in = relu(activation(record, "bn_out")), activation(record, "fc2_in")
        tol = tol_for(fc2_in, tolerance)
        if fc2_in.shape != activated.shape:
            expect_array(fc2_in, activated, name=msg(REASONS + "fc2_input"), function=MODEL, tol=tol)
        found = masked(fc2_in[activated > 0], activated[activated > 0], tol)
        kept = mask_of(fc2_in, activated)
        right = found is not None and keep_rate_ok(kept) and abs(found[1] * (1 - P) - 1) < 1e-6 \
            and not fc2_in[activated <= 0].any()
        if not right:
            fail("property", msg(REASONS + "dropout_training", p=P, rate=f"{1 - float(kept.mean()):.3f}",
                                 count=int(kept.size)),
                 misconception=known.dropout_in_training(fc2_in, activated, P, tol, record.get("bn_in"),
                                                         record.get("fc1_out")))
        masks.append(kept)
    if np.array_equal(masks[0], masks[1]):
        fail("property", msg(REASONS + "same_mask"))


def test_evaluation_mode_is_deterministic(student, reference, rng, tolerance):
    """Evaluation mode, two passes of one batch: the same scores, and the running statistics
    untouched."""
    spec = model_spec(rng, mode="eval", passes=2)
    answer = probe(student, "forward", spec, (BUILD,))
    first, second = (activation(record, "out") for record in answer["passes"])
    if not np.array_equal(first, second, equal_nan=True):
        record = answer["passes"][0]
        activated, fc2_in = relu(activation(record, "bn_out")), activation(record, "fc2_in")
        fail("property", msg(REASONS + "eval_random"),
             misconception=known.dropout_in_evaluation(fc2_in, activated, tol_for(fc2_in, tolerance)))
    expect_statistics_unchanged(answer, spec, REASONS + "eval_moved_statistics")


def test_training_updates_the_running_statistics(student, reference, rng, tolerance):
    """Training mode, one pass: BatchNorm normalises with the batch's statistics and moves its
    running statistics towards them with momentum 0.1 (the unbiased variance)."""
    spec = model_spec(rng, mode="train")
    answer = probe(student, "forward", spec, (BUILD,))
    weights = weights_used(spec, answer)
    expected = reference.notebook_model(spec["x"], weights, training=True)
    bn_out = activation(answer["passes"][0], "bn_out")
    tol = tol_for(bn_out, tolerance)
    expect_array(bn_out, expected["bn"], name=msg(REASONS + "bn_output"), function=MODEL, tol=tol)
    for name in ("running_mean", "running_var"):
        expect_array(answer[name], expected[name], name=name, function=MODEL, tol=tol,
                     diagnose=diagnosis(known.EXERCISE, name, fc1=expected["fc1"], **{name: weights[name]}))


def expect_statistics_unchanged(answer: dict, spec: dict, reason: str) -> None:
    """The running statistics after the probe's passes are exactly the ones it loaded."""
    for name in ("running_mean", "running_var"):
        if not np.array_equal(answer[name], spec["weights"][name]):
            fail("property", msg(reason, name=name))


# -- evaluate ------------------------------------------------------------------------------------------------


def evaluated(student, spec: dict) -> dict:
    """The probe's record of evaluate(model, x), called twice; fails unless it returned a
    tensor of shape (N, C) each time."""
    answer = probe(student, "evaluate", spec, (BUILD, EVALUATE))
    for call in answer["calls"]:
        if call.get("type") != "Tensor":
            fail("type", msg(REASONS + "evaluate_type", got=str(call.get("type"))))
        if call["out"].shape != (N, SIZES[2]):
            fail("shape", msg(REASONS + "evaluate_shape", got=str(call["out"].shape), expected=str((N, SIZES[2]))))
    return answer


def test_evaluate_predicts_in_evaluation_mode(student, reference, rng, tolerance):
    """On a model left in training mode: the scores that the same model gives in evaluation
    mode, the same on a second call, and the running statistics untouched (judged against
    the student's own model, so that a mistake in build_model is not counted twice here)."""
    spec = model_spec(rng, mode="train", passes=2)
    answer = evaluated(student, spec)
    first, second = (call["out"] for call in answer["calls"])
    moved = any(not np.array_equal(answer[n], spec["weights"][n]) for n in ("running_mean", "running_var"))
    mistake = known.evaluation_mode(answer["calls"][0]["training_during"], moved)
    if mistake is not None:
        fail("property", msg(REASONS + "evaluate_training_mode"), misconception=mistake)
    expect_array(first, activation(answer, "eval_scores"), name=msg(REASONS + "scores"), function=EVALUATE,
                 tol=tol_for(first, tolerance))
    if not np.array_equal(first, second, equal_nan=True):
        fail("property", msg(REASONS + "evaluate_random"))


def test_evaluate_tracks_no_gradients(student, reference, rng, tolerance):
    """No autograd graph during evaluate's forward pass: gradients off while fc1 runs, scores
    without a graph."""
    spec = model_spec(rng, mode="eval")
    call = evaluated(student, spec)["calls"][0]
    if call["grad_enabled"] or call["requires_grad"]:
        fail("property", msg(REASONS + "evaluate_gradients"),
             misconception=known.gradients(bool(call["grad_enabled"]), bool(call["has_graph"])))


@pytest.mark.parametrize("start", ["from_training", "from_evaluation"])
def test_evaluate_restores_the_mode(start, student, reference, rng, tolerance):
    """Every module of the model is back in the mode it was in before evaluate."""
    training = start == "from_training"
    spec = model_spec(rng, mode="train" if training else "eval")
    call = evaluated(student, spec)["calls"][0]
    after = [bool(flag) for flag in call["training_after"]]
    if after != [training] * len(after):
        flipped = sum(flag != training for flag in after)
        fail("property", msg(REASONS + "mode_not_restored", count=flipped, total=len(after),
                             mode=msg(REASONS + ("training" if training else "evaluation"))),
             misconception=known.restored(training, bool(call["model_training_after"]), after))


# -- freeze_bn --------------------------------------------------------------------------------------------------


def fine_tuned(student, rng) -> tuple[dict, dict]:
    """EPOCHS epochs of the probe's fine-tuning loop (model.train(), freeze_bn, one SGD step)."""
    spec = model_spec(rng, upstream=rng.standard_normal((N, SIZES[2])), lr=LR, epochs=EPOCHS)
    return spec, probe(student, "fine_tune", spec, (BUILD, FREEZE))


def bn_frozen(epoch: dict, spec: dict) -> tuple[bool, bool]:
    """(gamma and beta unchanged and without gradients, running statistics unchanged) after an epoch."""
    weights = spec["weights"]
    parameters = all(np.array_equal(epoch[f"bn_{kind}"], weights[name]) and not epoch[f"bn_{kind}_requires_grad"]
                     for kind, name in (("weight", "gamma"), ("bias", "beta")))
    statistics = all(np.array_equal(epoch[name], weights[name]) for name in ("running_mean", "running_var"))
    return parameters, statistics


def test_frozen_running_statistics_stay(student, reference, rng, tolerance):
    """After every epoch the running statistics are the ones the model started with."""
    spec, answer = fine_tuned(student, rng)
    for number, epoch in enumerate(answer["epochs"], 1):
        parameters, statistics = bn_frozen(epoch, spec)
        if not statistics:
            fail("property", msg(REASONS + "statistics_moved", epoch=number, epochs=EPOCHS),
                 misconception=known.frozen_statistics(parameters))


def test_frozen_gamma_and_beta_stay(student, reference, rng, tolerance):
    """After every epoch gamma and beta are unchanged and require no gradient."""
    spec, answer = fine_tuned(student, rng)
    for number, epoch in enumerate(answer["epochs"], 1):
        parameters, statistics = bn_frozen(epoch, spec)
        if not parameters:
            requires = bool(epoch["bn_weight_requires_grad"] or epoch["bn_bias_requires_grad"])
            fail("property", msg(REASONS + "gamma_beta_moved", epoch=number, epochs=EPOCHS),
                 misconception=known.frozen_parameters(statistics, requires))


def test_frozen_batchnorm_uses_running_statistics(student, reference, rng, tolerance):
    """In the first epoch's training pass, BatchNorm's output is its input normalised with the
    stored running statistics (then gamma and beta), not with the batch's own."""
    spec, answer = fine_tuned(student, rng)
    epoch, weights = answer["epochs"][0], spec["weights"]
    bn_in, bn_out = activation(epoch, "bn_in"), activation(epoch, "bn_out")
    common = {"running_mean": weights["running_mean"], "running_var": weights["running_var"]}
    expected = reference.batchnorm(bn_in, weights["gamma"], weights["beta"], training=False, **common)["out"]
    batch = reference.batchnorm(bn_in, weights["gamma"], weights["beta"], training=True, **common)["out"]
    tol = tol_for(bn_out, tolerance)
    parameters, statistics = bn_frozen(epoch, spec)
    expect_array(bn_out, expected, name=msg(REASONS + "bn_output"), function=FROZEN, tol=tol,
                 diagnose=lambda got, right, tol: known.frozen_normalisation(
                     got, batch, tol, statistics_frozen=statistics, gamma_beta_frozen=parameters))


def dropping(record: dict) -> bool:
    """Whether Dropout dropped some of the positive activations on their way to fc2."""
    kept = mask_of(activation(record, "fc2_in"), relu(activation(record, "bn_out")))
    return bool(kept.size) and not kept.all()


def test_the_rest_still_trains(student, reference, rng, tolerance):
    """In every epoch the fully connected layers still require gradients and their weights
    move, and Dropout drops units at fc2's input whenever the same model does so in training
    without freeze_bn."""
    spec, answer = fine_tuned(student, rng)
    dropout_before = dropping(answer["unfrozen"])
    previous = spec["weights"]
    for number, epoch in enumerate(answer["epochs"], 1):
        lost = dropout_before and not dropping(epoch)
        trains = bool(epoch["fc1_weight_requires_grad"] and epoch["fc2_weight_requires_grad"])
        moved = not (np.array_equal(epoch["fc1_weight"], previous["w1" if number == 1 else "fc1_weight"])
                     or np.array_equal(epoch["fc2_weight"], previous["w2" if number == 1 else "fc2_weight"]))
        if lost or not trains or not moved:
            fail("property", msg(REASONS + "rest_frozen", epoch=number, epochs=EPOCHS),
                 misconception=known.rest_frozen(lost, trains))
        previous = epoch
