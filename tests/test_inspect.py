"""`grade inspect`: the failing check run again in the sandbox, the student's array beside the
expected one, and --save writing .npy files that the printed snippet loads."""

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from support import SOLUTIONS, copy_kit, make_submission, mutate, warm_state

from autograder.arguments import UsageError
from autograder.i18n import Translator
from autograder.ui.inspect import InspectView, choose_check, failing_comparison, run_recorded

GRADE = Path(sys.executable).with_name("grade")
UNBIASED = ("inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)", "inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=1) + eps)")


def render(view, width=80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(view)
    return console.file.getvalue()


def unbiased_forward(x, gamma, beta, eps=1e-5):
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + eps) + beta


@pytest.fixture
def recorded(kit, tmp_path, reference):
    folder = make_submission(tmp_path / "work", {"batchnorm.py": mutate("batchnorm.py", *UNBIASED)})
    result, recorder = run_recorded(kit, folder, "bn_forward", Translator("en"), reference)
    assert "batchnorm" not in sys.modules  # the student's code ran in the worker, never here
    return result, recorder


def test_the_failing_check_shows_the_students_array_beside_the_expected_one(kit, recorded):
    result, recorder = recorded
    check = choose_check(result, None, Translator("en"))
    assert check.id == "bn_forward::matches_batchnorm1d[random_batch]"
    record = recorder.records[check.id]
    comparison = failing_comparison(check, record)
    x, gamma, beta = (value for _, value in comparison.call.inputs)
    assert [name for name, _ in comparison.call.inputs] == ["x", "gamma", "beta"]
    np.testing.assert_allclose(comparison.got, unbiased_forward(x, gamma, beta), rtol=1e-12)
    np.testing.assert_allclose(comparison.expected, gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) + beta,
                               rtol=1e-10)
    text = render(InspectView(check, record, Translator("en"), kit.course.policy.tolerance))
    assert "The inputs of batchnorm_forward in this check" in text and "(16, 10) float64" in text
    words = " ".join(text.split())
    assert "out expected (PyTorch): (16, 10) out yours: (16, 10) float64 float64" in words
    first = next(line for line in text.splitlines() if line.startswith(" 0 "))
    assert f"{comparison.expected[0, 0]:.4g}" in first and f"{comparison.got[0, 0]:.4g}" in first
    assert "(160 of 160)" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_checks_are_chosen_by_name_start_or_number(recorded):
    result, _ = recorded
    t = Translator("en")
    assert choose_check(result, "matches_batchnorm1d[two_samples]", t).id.endswith("[two_samples]")
    assert choose_check(result, "float32", t).id == "bn_forward::float32_stays_float32"
    assert choose_check(result, "2", t).id == result.checks[1].id
    with pytest.raises(UsageError, match=r"no check 'float32_stay_float32'. Did you mean 'float32_stays_float32'\?"):
        choose_check(result, "float32_stay_float32", t)


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADE_STATE_DIR": str(root / ".grade"), "COLUMNS": "80"}
    env.pop("GRADE_LANG", None)
    return subprocess.run([str(GRADE), "inspect", *args, "--course", str(root / "course.yml")], cwd=root,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def kit_copy(tmp_path, reference, solutions_report) -> Path:
    """A private copy of the kit, its reference cache warm."""
    root = copy_kit(tmp_path / "kit").parent
    warm_state(root / ".grade", reference)
    return root


def test_save_writes_npy_files_and_a_snippet_that_loads_them(kit_copy, monkeypatch):
    root = kit_copy
    (root / "exercises" / "batchnorm.py").write_text(mutate("batchnorm.py", *UNBIASED))
    result = run(root, "bn_forward", "matches_batchnorm1d[odd_batch_one_feature]", "--save", "dump")
    assert result.returncode == 1, result.stderr
    assert "Saved 5 arrays in dump. To load them in Python:" in result.stdout
    snippet = result.stdout.split("To load them in Python:\n", 1)[1].strip().splitlines()
    assert len(snippet) == 3
    names: dict = {}
    monkeypatch.chdir(root)  # where the student ran grade
    exec("\n".join(snippet), names)  # noqa: S102 - the three lines the student would paste
    x, gamma, beta, yours, expected = (names[n] for n in ("x", "gamma", "beta", "yours", "expected"))
    assert x.shape == (7, 1) and gamma.shape == beta.shape == (1,)
    np.testing.assert_allclose(yours, unbiased_forward(x, gamma, beta), rtol=1e-12)
    np.testing.assert_allclose(expected, gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) + beta, rtol=1e-10)


def test_what_there_is_nothing_to_inspect_says_so(kit_copy):
    root = kit_copy
    stub = run(root, "bn_forward")
    assert stub.returncode == 1 and "bn_forward is not started yet" in stub.stdout
    (root / "exercises" / "optim.py").write_text((SOLUTIONS / "optim.py").read_text())
    passing = run(root, "bn_sgd_step")
    assert passing.returncode == 0 and "Every check of bn_sgd_step passes" in passing.stdout
    named = run(root, "bn_sgd_step", "1", "--lang", "es")
    assert named.returncode == 0 and "param tuyo" in named.stdout and "(0 de " in named.stdout


def test_inputs_of_other_kinds_are_described(kit, tmp_path, reference):
    source = mutate("batchnorm.py", "dgamma = (dout * x_hat).sum(axis=0)", "dgamma = (dout * x_hat).sum(axis=0, keepdims=True)")
    folder = make_submission(tmp_path / "work", {"batchnorm.py": source})
    result, recorder = run_recorded(kit, folder, "bn_backward", Translator("en"), reference)
    check = choose_check(result, None, Translator("en"))
    text = render(InspectView(check, recorder.records[check.id], Translator("en"), kit.course.policy.tolerance))
    words = " ".join(text.replace("│", " ").split())
    assert "cache ((16, 10) float64, (10,) float64, (10,) float64)" in words
    assert "dgamma expected (PyTorch): (10,) float64" in words and "dgamma yours: (1, 10) float64" in words
