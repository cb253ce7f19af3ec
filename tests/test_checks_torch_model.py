"""torch_model: wrong implementations (MUTANTS: the checks each must fail, at which stage, and
the misconceptions the report names) and different-but-correct ones (ALTERNATIVES).

A worker that may import torch takes about 1.5 s to start, once per graded folder. So the
mutants and alternatives are graded by the real checks, plugin, probe and references, with the
probe run in this process on the graded file (`InProcessSandbox`: what it returns crosses the
same wire encoding as the worker's answers); the real worker grades the solution and one
mutant (tests/test_full_marks.py and `test_the_worker_grades_a_mutant`).
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import Mutant, check_ids, failures, make_submission, mutate

from autograder.grading.runner import grade
from autograder.sandbox import protocol
from autograder.sandbox.client import Call, Sandbox, _remote
from autograder.sandbox.worker import opaque

EXERCISE = "torch_model"
FILE = "torch_model.py"
PROBE = Path(__file__).resolve().parents[1] / "autograder" / "grading" / "torch_probe.py"


class InProcessSandbox:
    """The `Sandbox` interface the checks use (`drive`), run in this process: the graded file
    is imported here and the probe called on its functions; the answer is encoded and decoded
    as the worker's would be. For the kit's own files only (never untrusted code)."""

    isolation = None
    hidden = ()

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory).resolve()
        self.module = _load(self.directory / FILE, f"_graded_{id(self)}")

    def start(self) -> None:
        pass

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drive(self, driver: Path, functions: dict[str, str], args: tuple = (), kwargs: dict | None = None, *,
              entry: str = "run") -> Call:
        probe = _load(Path(driver), "_torch_probe")
        value = getattr(probe, entry)({name: getattr(self.module, name) for name in functions}, *args)
        blobs: list[bytes] = []
        encoded = protocol.encode(value, blobs, fallback=opaque)
        return Call(protocol.decode(encoded, blobs, tagged=_remote(1)), 0.0)


def _load(path: Path, name: str):
    if name in sys.modules and name == "_torch_probe":
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


@pytest.fixture
def grade_torch(kit, reference, tmp_path, monkeypatch):
    """``grade_torch(source)``: the solutions with torch_model.py replaced, torch_model graded
    in process (the runner makes the exercise's own sandbox, since it allows torch: that is
    where the stand-in comes in)."""
    monkeypatch.setattr(Sandbox, "for_kit", classmethod(lambda cls, kit, directory, **options:
                                                         InProcessSandbox(directory)))

    def run(source: str, folder: str = "submission"):
        directory = make_submission(tmp_path / folder, {FILE: source})
        return grade(kit, directory, exercises=[EXERCISE], reference=reference)

    return run


def named(report) -> set[str]:
    return {c.feedback.misconception for c in report.exercise(EXERCISE).checks
            if c.feedback is not None and c.feedback.misconception}


@dataclass(frozen=True)
class Named(Mutant):
    """A mutant and the misconceptions its report names."""

    named: frozenset[str] = field(default_factory=frozenset)


def mutant(name: str, old: str, new: str, fails: dict[str, str], *named_ids: str) -> Named:
    return Named(name, FILE, old, new, fails, named=frozenset(named_ids))


SEQUENTIAL = '''        nn.Linear(in_features, hidden),
        nn.BatchNorm1d(hidden),
        nn.ReLU(),
        nn.Dropout(p),
        nn.Linear(hidden, classes),
    )'''
NO_GRAD = "        with torch.no_grad():\n            return model(x)"
RESTORE = "        model.train(was_training)"
BN_EVAL = "            module.eval()\n"
BN_PARAMETERS = "            for parameter in module.parameters():\n                parameter.requires_grad_(False)"
IN_TRAINING = {"dropout_is_active_in_training": "property"}
ORDER = "batchnorm_comes_between_fc1_and_relu"

MUTANTS = [
    mutant("ReLU before BatchNorm", SEQUENTIAL, SEQUENTIAL.replace(
        "nn.BatchNorm1d(hidden),\n        nn.ReLU(),", "nn.ReLU(),\n        nn.BatchNorm1d(hidden),"),
        {"scores_match_the_notebook_network": "values", ORDER: "values", **IN_TRAINING,
         "training_updates_the_running_statistics": "values"}, "relu_before_batchnorm"),
    mutant("Dropout before BatchNorm", SEQUENTIAL, SEQUENTIAL.replace(
        "nn.BatchNorm1d(hidden),\n        nn.ReLU(),\n        nn.Dropout(p),",
        "nn.Dropout(p),\n        nn.BatchNorm1d(hidden),\n        nn.ReLU(),"),
        {ORDER: "values", **IN_TRAINING, "training_updates_the_running_statistics": "values"},
        "dropout_before_batchnorm"),
    mutant("softmax at the end", SEQUENTIAL, SEQUENTIAL.replace(
        "nn.Linear(hidden, classes),\n    )", "nn.Linear(hidden, classes),\n        nn.Softmax(dim=1),\n    )"),
        {"scores_match_the_notebook_network": "values"}, "softmax_output"),
    mutant("the notebook's p = 0.5 hard-coded", "nn.Dropout(p)", "nn.Dropout(0.5)", IN_TRAINING, "dropout_p_fixed"),
    mutant("p as the keep probability", "nn.Dropout(p)", "nn.Dropout(1 - p)", IN_TRAINING, "p_as_keep_probability"),
    mutant("BatchNorm with Keras's momentum", "nn.BatchNorm1d(hidden)", "nn.BatchNorm1d(hidden, momentum=0.9)",
           {"training_updates_the_running_statistics": "values"}, "momentum_swapped"),
    mutant("no_grad without eval", "    model.eval()\n", "",
           {"evaluate_predicts_in_evaluation_mode": "property"}, "evaluate_in_training_mode"),
    mutant("eval without no_grad", NO_GRAD, "        return model(x)",
           {"evaluate_tracks_no_gradients": "property"}, "eval_is_not_no_grad"),
    mutant("graph detached afterwards", NO_GRAD, "        return model(x).detach()",
           {"evaluate_tracks_no_gradients": "property"}, "graph_built_then_detached"),
    mutant("mode not restored", RESTORE, "        pass",
           {"evaluate_restores_the_mode[from_training]": "property"}, "evaluate_leaves_eval_mode"),
    mutant("always back to training", RESTORE, "        model.train()",
           {"evaluate_restores_the_mode[from_evaluation]": "property"}, "evaluate_always_back_to_train"),
    mutant("training flag assigned", RESTORE, "        model.training = was_training",
           {"evaluate_restores_the_mode[from_training]": "property"}, "training_flag_set_directly"),
    mutant("requires_grad only", BN_EVAL, "",
           {"frozen_running_statistics_stay": "property", "frozen_batchnorm_uses_running_statistics": "values"},
           "requires_grad_does_not_freeze_statistics"),
    mutant("eval only", BN_PARAMETERS, "            pass", {"frozen_gamma_and_beta_stay": "property"},
           "eval_does_not_freeze_gamma_beta"),
    mutant("momentum 0 instead of eval", BN_EVAL, "            module.momentum = 0.0\n",
           {"frozen_batchnorm_uses_running_statistics": "values"}, "frozen_bn_normalises_with_batch"),
    mutant("the whole model in eval", "            module.eval()", "            model.eval()",
           {"the_rest_still_trains": "property"}, "freeze_switches_dropout_off"),
    mutant("every parameter frozen", "    for module in model.modules():",
           "    for parameter in model.parameters():\n        parameter.requires_grad_(False)\n"
           "    for module in model.modules():",
           {"the_rest_still_trains": "property"}, "freeze_stops_every_gradient"),
]

CUSTOM_BASE = '''
import torch
from torch import nn
from torch.nn import functional as F


class Net(nn.Module):
    def __init__(self, d, h, c, p):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.bn1 = nn.BatchNorm1d(h)
        self.fc2 = nn.Linear(h, c)
        self.p = p

    def forward(self, x):
        x = F.relu(self.bn1(self.fc1(x)))
        x = DROPOUT
        return self.fc2(x)


def build_model(in_features, hidden, classes, p=0.5):
    return Net(in_features, hidden, classes, p)


def evaluate(model, x):
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = model(x)
    model.train(was_training)
    return out


def freeze_bn(model):
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d):
            module.eval()
            module.weight.requires_grad = False
            module.bias.requires_grad = False
'''


def custom(dropout: str) -> str:
    return CUSTOM_BASE.replace("DROPOUT", dropout)


# Mutants written as a whole file (a class with functional dropout calls).
MUTANTS += [
    Named("functional dropout without the training flag", FILE, "", custom("F.dropout(x, self.p)"),
          {"evaluation_mode_is_deterministic": "property", "scores_match_the_notebook_network": "values",
           ORDER: "values", "evaluate_predicts_in_evaluation_mode": "values"},
          named=frozenset({"functional_dropout_always_on"})),
    Named("functional dropout never training", FILE, "", custom("F.dropout(x, self.p, training=False)"),
          IN_TRAINING, named=frozenset({"dropout_inactive_in_training"})),
    Named("hand-made dropout not inverted", FILE, "",
          custom("x * (torch.rand_like(x) >= self.p) if self.training else x"),
          IN_TRAINING, named=frozenset({"dropout_not_inverted"})),
    Named("hand-made dropout mixing conventions", FILE, "",
          custom("x * (torch.rand_like(x) > self.p) / self.p if self.training else x"),
          IN_TRAINING, named=frozenset({"dropout_mixed_convention"})),
]


def source(case: Mutant) -> str:
    return case.new if not case.old else case.source()


ALTERNATIVES = {
    "a class of its own, functional ReLU and dropout, inference_mode, BatchNorm found by its base class": '''
import torch
import torch.nn.functional as F
from torch import nn


class NotebookNet(nn.Module):
    def __init__(self, in_features, hidden, classes, p):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, classes)
        self.p = p

    def forward(self, x):
        x = F.relu(self.bn1(self.fc1(x)))
        x = F.dropout(x, p=self.p, training=self.training)
        return self.fc2(x)


def build_model(in_features, hidden, classes, p=0.5):
    return NotebookNet(in_features, hidden, classes, p)


def evaluate(model, x):
    mode = model.training
    model.eval()
    with torch.inference_mode():
        scores = model(x)
    model.train(mode)
    return scores


def freeze_bn(model):
    for layer in model.modules():
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.requires_grad_(False)
            layer.train(False)
''',
    "named Sequential, fc1 without bias, no_grad decorator, a BatchNorm that stays frozen": '''
from collections import OrderedDict

import torch
from torch import nn


def build_model(in_features, hidden, classes, p=0.5):
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(in_features, hidden, bias=False)),  # BatchNorm's beta does the shifting
        ("bn1", nn.BatchNorm1d(hidden)),
        ("act", nn.ReLU(inplace=True)),
        ("drop", nn.Dropout(p=p)),
        ("fc2", nn.Linear(hidden, classes)),
    ]))


@torch.no_grad()
def _predict(model, x):
    return model(x)


def evaluate(model, x):
    was_training = model.training
    model.eval()
    try:
        return _predict(model, x)
    finally:
        if was_training:
            model.train()


def _stay_in_eval(self, mode=True):
    return nn.Module.train(self, False)


def freeze_bn(model):
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm1d):
            module.weight.requires_grad_(False)
            module.bias.requires_grad_(False)
            module.train = _stay_in_eval.__get__(module)
            module.eval()
''',
    "layers in a ModuleList, set_grad_enabled, modes restored module by module": '''
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d, h, c, p):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(p), nn.Linear(h, c)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def build_model(in_features, hidden, classes, p=0.5):
    return Block(in_features, hidden, classes, p)


def evaluate(model, x):
    modes = {module: module.training for module in model.modules()}
    model.eval()
    with torch.set_grad_enabled(False):
        result = model(x)
    for module, mode in modes.items():
        module.training = mode
    return result


def freeze_bn(model):
    norms = [m for m in model.modules() if type(m).__name__ == "BatchNorm1d"]
    for norm in norms:
        norm.eval()
        for tensor in (norm.weight, norm.bias):
            tensor.requires_grad = False
''',
}


@pytest.mark.parametrize("case", MUTANTS, ids=lambda case: case.name)
def test_a_mutant_fails_exactly_its_checks_and_names_its_mistake(case, grade_torch):
    report = grade_torch(source(case))
    assert failures(report, EXERCISE) == case.fails
    assert named(report) == set(case.named)


def test_every_check_is_failed_by_some_mutant(solutions_report):
    caught = set().union(*(case.fails for case in MUTANTS))
    assert check_ids(solutions_report, EXERCISE) <= caught


@pytest.mark.parametrize("label", list(ALTERNATIVES))
def test_a_different_correct_implementation_gets_full_marks(label, kit, grade_torch):
    report = grade_torch(ALTERNATIVES[label])
    assert failures(report, EXERCISE) == {}
    assert report.exercise(EXERCISE).score == kit.course.exercise(EXERCISE).points


def test_the_in_process_stand_in_agrees_with_the_worker(kit, reference, solutions_report, grade_torch):
    """The solution gets the same results in process as through the real worker."""
    report = grade_torch(mutate(FILE, "nn.Dropout(p)", "nn.Dropout(p)"))
    assert [(c.id, c.outcome) for c in report.exercise(EXERCISE).checks] == \
        [(c.id, c.outcome) for c in solutions_report.exercise(EXERCISE).checks]


def test_the_worker_grades_a_mutant(kit, grade_files):
    """One mutant through the real sandbox: the failure and its name are the same."""
    case = next(case for case in MUTANTS if case.name == "requires_grad only")
    report = grade_files({FILE: source(case)}, [EXERCISE])
    assert failures(report, EXERCISE) == case.fails
    assert named(report) == set(case.named)


# The misconceptions these mutants name (tests/test_misconceptions.py counts them as tested).
NAMED = {(EXERCISE, misconception) for case in MUTANTS for misconception in case.named}


def test_a_model_that_returns_no_tensor_is_told_so(grade_torch):
    """forward returns a tuple: every check says what came back instead of a tensor."""
    source = mutate(FILE, "def build_model(", '''class Pair(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x), None


def build_model(''').replace("    return nn.Sequential(", "    return Pair(nn.Sequential(").replace(
        "        nn.Linear(hidden, classes),\n    )", "        nn.Linear(hidden, classes),\n    ))")
    report = grade_torch(source)
    check = next(c for c in report.exercise(EXERCISE).checks if c.id.endswith("scores_match_the_notebook_network"))
    assert check.feedback.stage == "type" and check.feedback.summary.params["got"] == "tuple"


STRUCTURES = {
    "not_a_module": ("    return nn.Sequential(", "    return [nn.Sequential(", "        nn.Linear(hidden, classes),\n    )",
                     "        nn.Linear(hidden, classes),\n    )]", "list"),
    "linear_layers": ("        nn.Dropout(p),\n", "        nn.Dropout(p),\n        nn.Linear(hidden, hidden),\n", "", "",
                      "[16, 16]"),
    "batchnorm_layers": ("nn.BatchNorm1d(hidden),", "nn.LayerNorm(hidden), nn.BatchNorm1d(hidden), nn.BatchNorm1d(hidden),",
                         "", "", "BatchNorm1d"),
    "batchnorm_settings": ("nn.BatchNorm1d(hidden)", "nn.BatchNorm1d(hidden, affine=False)", "", "", "False"),
    "batchnorm_features": ("nn.BatchNorm1d(hidden)", "nn.BatchNorm1d(in_features)", "", "", "6"),
}


@pytest.mark.parametrize("kind", list(STRUCTURES))
def test_a_model_that_is_not_the_stated_network_is_told_what_was_found(kind, grade_torch):
    """One clear message at every check, saying what the model holds instead."""
    old, new, old2, new2, shown = STRUCTURES[kind]
    source = mutate(FILE, old, new)
    if old2:
        source = source.replace(old2, new2)
    report = grade_torch(source)
    checks = report.exercise(EXERCISE).checks
    assert {c.feedback.summary.key for c in checks} == {f"checks.torch_model.problems.{kind}"}
    assert all(shown in " ".join(map(str, c.feedback.summary.params.values())) for c in checks)
