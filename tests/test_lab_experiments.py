"""The lab's experiments, trained in-process with the reference solutions (and with buggy
copies of them): each claim shows at the default settings and the lab's seed, a bug that
still runs produces the documented difference and is named, and the readings follow the
numbers. The driver's own pieces are checked against numerical gradients.

The experiments run as `grade lab` runs them: in sandboxed workers, two at a time."""

from __future__ import annotations

import ast
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
from support import ROOT, SOLUTIONS, make_submission, mutate

from autograder.i18n import Translator
from autograder.lab import data, driver, outcome
from autograder.lab.cache import RunCache
from autograder.lab.compare import FLOOR, differences
from autograder.lab.execution import REFERENCE, STUDENT, Trainer
from autograder.lab.experiments import BY_ID, EXPERIMENTS
from autograder.lab.views import say

SEED = 2024  # course.yml's lab seed
FUNCTIONS = sorted({f for experiment in EXPERIMENTS for f in experiment.functions})


def load_layers(folder: Path) -> dict:
    """The functions of the files in `folder`, imported here (for the driver's own tests)."""
    layers = {}
    for path in sorted(folder.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"lab_test_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        layers.update({name: getattr(module, name) for name in FUNCTIONS if hasattr(module, name)})
    return layers


@pytest.fixture(scope="module")
def lab(kit, tmp_path_factory):
    """``lab(experiment_id, files=None)``: the experiment's outcome at its default settings, with
    the reference solutions alone, or with a copy of them with some files replaced as the
    student's code. Runs go through the sandbox, two at a time; the reference's are cached
    for the whole module."""
    cache = RunCache(tmp_path_factory.mktemp("lab-runs"), kit.course)
    trainers = []

    def run(experiment_id: str, files: dict[str, str] | None = None, noise_seeds: int | None = None):
        sides = {REFERENCE: SOLUTIONS}
        if files is not None:
            sides[STUDENT] = make_submission(tmp_path_factory.mktemp("submission"), files)
        trainer = Trainer(kit, sides, cache)
        trainers.append(trainer)
        return outcome.run(trainer, BY_ID[experiment_id], quick=False, seed=kit.course.lab.seed,
                           noise_seeds=kit.course.lab.noise_seeds if noise_seeds is None else noise_seeds,
                           student=files is not None)

    yield run
    for trainer in trainers:
        trainer.close()


@pytest.fixture(scope="module")
def reference(lab) -> dict[str, dict]:
    """Every experiment's numbers at its default settings, with the reference solutions."""
    return {experiment.id: lab(experiment.id).reference for experiment in EXPERIMENTS}


# -- each claim, with the solutions, with a margin --------------------------------------------


def test_at_the_highest_learning_rate_bn_ends_far_lower_than_without(reference):
    n = reference["learning_rate"]
    bn, plain = n["bn"]["final_loss"][-1], n["plain"]["final_loss"][-1]
    assert math.isfinite(bn) and bn < 1.0
    assert not math.isfinite(plain) or bn < 0.5 * plain
    assert BY_ID["learning_rate"].claim(n)


def test_bn_narrows_the_spread_of_accuracy_across_init_scales(reference):
    n = reference["init"]
    assert len(n["scales"]) >= 8 and n["scales"][0] * 100 <= n["scales"][-1]
    assert n["bn"]["spread"] < n["plain"]["spread"] - 0.3
    assert n["bn"]["trained"] == len(n["scales"]) > n["plain"]["trained"]
    assert BY_ID["init"].claim(n)


def test_tiny_batches_hurt_bn_but_not_the_same_network_without_it(reference):
    n = reference["batch_size"]
    assert n["val_acc"][0] < n["val_acc"][-1] - 0.2
    assert n["plain_val_acc"] > n["val_acc"][0] + 0.2
    assert BY_ID["batch_size"].claim(n)


def test_one_image_batches_are_near_chance_while_running_statistics_keep_the_accuracy(reference):
    n = reference["inference"]
    assert n["test_batch_sizes"][0] == 1
    assert n["batch_acc"][0] < 0.15  # ten classes
    assert n["running_acc"] > 0.9 and n["running_acc"] > n["val_acc"] - 0.01
    assert n["batch_acc"][-1] > 0.9  # a large test batch has about the right statistics
    assert BY_ID["inference"].claim(n)


def test_dropout_narrows_the_generalisation_gap(reference):
    n = reference["dropout"]
    assert n["gap"][-1] < 0.7 * n["gap"][0]
    assert min(n["gap"][1:]) < n["gap"][0]
    assert abs(n["train_scale"][n["ps"].index(0.5)] - 1) < 0.05  # inverted dropout keeps the mean
    assert n["mask_acc"][-1] > n["mask_acc"][0]  # averaging masks beats one mask
    assert abs(n["mask_acc"][-1] - n["eval_acc"]) < 0.03  # and lands near evaluation mode
    assert BY_ID["dropout"].claim(n)


def test_spatial_bn_speeds_up_the_convolutional_network(reference):
    n = reference["conv"]
    assert n["bn"]["early_loss"] < 0.75 * n["plain"]["early_loss"]
    assert BY_ID["conv"].claim(n)


# -- bugs that still run: the documented difference, named ------------------------------------


def test_running_statistics_never_updated_are_named(lab, reference):
    stale = mutate("batchnorm.py", "    return new_mean, new_var", "    return running_mean.copy(), running_var.copy()")
    result = lab("inference", {"batchnorm.py": stale})
    student = result.student
    assert student["running_acc"] < reference["inference"]["running_acc"] - 0.2
    assert student["batch_acc"][-1] > 0.9  # the trained weights are fine: only the statistics are stale
    findings = result.findings()
    assert len(findings) == 1 and findings[0].key == "lab.inference.stale"
    assert "update_running_stats" in say(Translator("en"), findings[0])
    rows = result.differences()
    assert len(result.noise) == 2  # the difference is weighed against the noise at other seeds
    assert rows[0].departs and "running" in say(Translator("en"), rows[0].label)


def test_dropout_without_rescaling_is_named(lab):
    unscaled = mutate("dropout.py", "    return x * keep / (1.0 - p), (keep, p)", "    return x * keep, (keep, p)")
    unscaled = unscaled.replace("    return dout * keep / (1.0 - p)", "    return dout * keep")
    result = lab("dropout", {"dropout.py": unscaled}, noise_seeds=0)  # the noise path: the test above
    student = result.student
    assert abs(student["train_scale"][student["ps"].index(0.5)] - 0.5) < 0.05  # the mean shrinks to (1 - p)
    assert [f.key for f in result.findings()] == ["lab.dropout.unscaled"]
    assert "1/(1 − p)" in say(Translator("en"), result.findings()[0])
    assert any(d.departs for d in result.differences())


def test_correct_code_written_differently_matches_without_noise_runs(lab):
    """A different but correct backward (the three paths summed one by one) gives the
    reference's numbers up to rounding: no departure, and no noise runs were needed."""
    three_paths = mutate(
        "batchnorm.py",
        "    dx = inv_std / n * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))",
        "    dvar = (dx_hat * x_hat).sum(axis=0) * -0.5 * inv_std ** 2\n"
        "    dmean = -inv_std * dx_hat.sum(axis=0)\n"
        "    dx = dx_hat * inv_std + dvar * 2 * x_hat / (inv_std * n) + dmean / n")
    result = lab("inference", {"batchnorm.py": three_paths})
    assert result.student["running_acc"] == pytest.approx(result.reference["running_acc"], abs=0.01)
    assert not any(d.departs for d in result.differences()) and result.noise == []
    assert result.findings() == []


def test_the_solutions_name_no_mistake_and_match_themselves(reference):
    for experiment in EXPERIMENTS:
        n = reference[experiment.id]
        assert experiment.findings(n, n) == []
        assert not any(d.departs for d in differences(experiment, n, n, [n]))


# -- the readings follow the numbers -------------------------------------------------------------


def test_the_reading_follows_the_numbers_not_a_fixed_text(reference):
    t = Translator("en")
    n = reference["learning_rate"]
    text = " ".join(say(t, line) for line in BY_ID["learning_rate"].reading(n))
    top = n["learning_rates"][-1]
    if n["plain"]["diverged"][-1]:
        assert f"Training diverged without BN at learning rate {top:g}" in text
    flipped = {**n, "plain": {**n["plain"], "diverged": [False] * len(n["learning_rates"]),
                              "final_loss": [0.1] * len(n["learning_rates"])}}
    text = " ".join(say(t, line) for line in BY_ID["learning_rate"].reading(flipped))
    assert "No run diverged without BN" in text and "0.10 without" in text
    assert not BY_ID["learning_rate"].claim(flipped)


def test_a_dropout_that_widens_the_gap_is_read_as_such(reference):
    n = {**reference["dropout"], "gap": [0.2, 0.3, 0.4, 0.5]}
    lines = BY_ID["dropout"].reading(n)
    assert lines[1].key == "lab.dropout.none_narrower"
    assert not BY_ID["dropout"].claim(n)


def test_numbers_are_written_in_the_readers_language():
    from autograder.lab.experiment import Num, Pct

    assert say(Translator("en"), Pct(0.974)) == "97.4%"
    assert say(Translator("es"), Pct(0.974)) == "97,4\u00a0%"
    assert say(Translator("es"), Num(0.4321)) == "0,43"
    assert say(Translator("en"), Num(math.nan)) == "n/a"


def test_noise_widens_the_tolerance(reference):
    n = reference["inference"]
    moved = {**n, "running_acc": n["running_acc"] - 0.1}

    def running_row(noise):
        rows = differences(BY_ID["inference"], moved, n, noise)
        return next(r for r in rows if r.label.key == "lab.inference.run_running")

    assert running_row([]).departs and running_row([]).tolerance == FLOOR
    row = running_row([{**n, "running_acc": n["running_acc"] + 0.06}])
    assert row.tolerance == pytest.approx(FLOOR + 0.12) and not row.departs


# -- the driver: its own pieces, and what it may import -----------------------------------------


@pytest.mark.parametrize("spec", [
    {"hidden": [5, 4], "bn": True},
    {"hidden": [5, 4], "p": 0.5},
    {"conv": [2, 3], "bn": True},
    {"conv": [2], "bn": False},
])
def test_the_drivers_gradients_match_numerical_ones(spec):
    """Net.backward (the kit's affine, ReLU, convolution, pooling, with the reference layers)
    against central differences of the loss, with dropout masks fixed by the seed."""
    layers = load_layers(SOLUTIONS)
    rng = np.random.default_rng(0)
    n_in = 64
    net = driver.Net(layers, spec, n_in, 3, rng)
    for name, param in net.params.items():  # away from ReLU's kink (zero biases meet zero rows)
        param += rng.normal(scale=0.1, size=param.shape) if name[0] in "bg" else 0.0
    x = rng.normal(size=(6, 1, 8, 8) if spec.get("conv") else (6, n_in))
    y = rng.integers(0, 3, size=6)

    def loss() -> float:
        scores, _ = net.forward(x, "train", np.random.default_rng(1))
        return driver.softmax_loss(scores, y)[0]

    scores, caches = net.forward(x, "train", np.random.default_rng(1))
    grads = net.backward(driver.softmax_loss(scores, y)[1], caches)
    for name, grad in grads.items():
        param = net.params[name]
        for index in list(np.ndindex(param.shape))[:6]:
            saved = param[index]
            param[index] = saved + 1e-6
            up = loss()
            param[index] = saved - 1e-6
            down = loss()
            param[index] = saved
            assert grad[index] == pytest.approx((up - down) / 2e-6, rel=1e-4, abs=1e-7), (name, index)


def test_the_driver_imports_numpy_and_the_standard_library_only():
    import sys

    tree = ast.parse((ROOT / "autograder" / "lab" / "driver.py").read_text())
    imported = {alias.name.partition(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.partition(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and not node.level}
    assert imported - set(sys.stdlib_module_names) <= {"numpy"}, imported


def test_a_diverging_run_stops_and_says_so():
    layers = load_layers(SOLUTIONS)
    result = driver.run(layers, data.digits(SEED), {"hidden": [64] * 5, "lr": 5.0, "momentum": 0.9, "epochs": 3,
                                                    "batch_size": 64, "seed": 1, "points": 2})
    assert result["diverged"] == [1.0]
    assert len(result["loss"]) == 6 and math.isnan(result["loss"][-1]) and math.isnan(result["val_acc"][-1])
