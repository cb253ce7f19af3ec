"""What the lab prints about one experiment, from numbers made up for the purpose: the
comparison with the reference (identical, within noise, departing with or without passing
checks), the needs of an experiment that cannot run, a failing run, and JSON without NaN."""

from __future__ import annotations

import io
import json
import math

from rich.console import Console

from autograder.i18n import Translator
from autograder.lab.experiments import BY_ID
from autograder.lab.outcome import Outcome
from autograder.lab.views import OutcomeView, to_json
from autograder.sandbox.client import Raised

INFERENCE = {"test_batch_sizes": [1, 2, 8, 64, 500], "running_acc": 0.97, "batch_acc": [0.11, 0.43, 0.85, 0.97, 0.98],
             "running_drift": [0.02, 0.02], "val_acc": 0.97}
SPECS = BY_ID["inference"].runs(False)


def shown(outcome: Outcome, language: str = "en") -> str:
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(OutcomeView(outcome, "4/6", Translator(language), colour=False))
    return " ".join(console.file.getvalue().split())


def outcome(student: dict | None, **fields) -> Outcome:
    return Outcome(BY_ID["inference"], SPECS, reference=INFERENCE, student=student, **fields)


def test_the_same_numbers_are_called_identical():
    assert "Your runs give the reference's numbers at the same seeds" in shown(outcome(dict(INFERENCE)))


def test_a_small_difference_is_within_noise():
    text = shown(outcome({**INFERENCE, "running_acc": 0.96}))
    assert "match the reference within run-to-run noise" in text
    assert "96.0% against 97.0%" in text


def test_a_departure_with_passing_checks_says_the_checks_pass():
    text = shown(outcome({**INFERENCE, "running_acc": 0.60}))
    assert "depart from the reference beyond run-to-run noise although your checks pass" in text
    assert "(1 of 6 compared values)" in text and "60.0% against 97.0%" in text
    assert "state kept between calls" in text


def test_a_departure_with_failing_checks_names_the_exercise():
    text = shown(outcome({**INFERENCE, "running_acc": 0.60}, failing=["bn_running_stats"]))
    assert "although your checks pass" not in text
    assert "Not passing all its checks yet: bn_running_stats. grade bn_running_stats shows" in text


def test_the_reading_is_about_the_students_numbers_and_can_say_not_shown():
    text = shown(outcome({**INFERENCE, "batch_acc": [0.6, 0.7, 0.85, 0.97, 0.98]}))
    assert "What your runs show:" in text and "With one image per batch: 60.0%" in text
    assert "✘ Not shown in these runs" in text


def test_an_experiment_that_cannot_run_says_what_it_needs():
    result = Outcome(BY_ID["inference"], SPECS, not_started=["bn_forward", "bn_backward"])
    text = shown(result)
    assert "Needs bn_forward, bn_backward, not started yet: implement them and check with grade bn_forward" in text
    assert "What your runs show" not in text
    assert "Necesita bn_forward, bn_backward, que aún no has empezado" in shown(result, "es")


def test_a_failing_run_shows_the_error_and_the_reference():
    error = Raised(function="batchnorm_eval", module="batchnorm",
                   detail={"type": "ValueError", "message": "shapes differ",
                           "frames": [{"file": "/x/batchnorm.py", "line": 12, "function": "batchnorm_eval", "code": ""}]})
    text = shown(outcome(None, error=error))
    assert "Your batchnorm_eval raised ValueError during training (line 12, in batchnorm_eval): shapes differ" in text
    assert "What the reference runs show:" in text


def test_json_has_no_nan_and_says_what_departs():
    data = to_json(outcome({**INFERENCE, "running_acc": math.nan}), Translator("en"))
    text = json.dumps(data, allow_nan=False)  # raises on NaN
    assert data["student"]["running_acc"] is None
    assert any(d["departs"] for d in data["differences"])
    assert "NaN" not in text
