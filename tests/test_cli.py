"""The `grade` command, run through its real console-script entry point."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from support import EXERCISES, ROOT, SOLUTIONS, make_submission

from autograder.ui.json_report import SCHEMA_FILE

GRADE = Path(sys.executable).with_name("grade")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One state folder for runs that only need the reference cache warm."""
    return tmp_path_factory.mktemp("grade-state")


def run(*args: str, state: Path, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "GRADE_LANG"}
    environment.update({"GRADE_STATE_DIR": str(state), "COLUMNS": "100", **(env or {})})
    return subprocess.run([str(GRADE), *args], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=300)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_solutions_score_full_marks(cache_dir):
    result = run("--solutions", state=cache_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Exercises\s+100 / 100", result.stdout)
    assert "110 / 110" in result.stdout  # 100 for the exercises, 10 for the quiz (its answer key)
    assert result.stdout.count("✔ passed") == 8
    assert "Every exercise passes" in result.stdout


def test_untouched_stubs_score_zero_and_say_not_started(tmp_path):
    before = digest(EXERCISES)
    result = run(state=tmp_path)
    assert result.returncode == 1
    assert re.search(r"Exercises\s+0 / 100", result.stdout)
    assert "0 / 110" in result.stdout
    assert result.stdout.count("◌ not started") == 8
    assert "Next: implement batchnorm_forward in exercises/batchnorm.py" in result.stdout
    assert digest(EXERCISES) == before
    assert not (EXERCISES / "__pycache__").exists()


def test_json_report_follows_its_schema(cache_dir):
    result = run("--solutions", "--json", state=cache_dir)
    assert result.returncode == 0
    report = json.loads(result.stdout)
    jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))
    assert report["score"] == report["max_score"] == 110
    assert report["quiz"]["source"] == "key" and report["quiz"]["score"] == 10
    assert {e["status"] for e in report["exercises"]} == {"passed"}
    assert all(c["passed"] and c["message"] == "" for e in report["exercises"] for c in e["checks"])


def test_json_report_of_the_stubs(tmp_path):
    result = run("--submission", str(EXERCISES), "--json", state=tmp_path)
    report = json.loads(result.stdout)
    jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))
    assert result.returncode == 1
    assert report["score"] == 0
    assert {e["status"] for e in report["exercises"]} == {"not_started"}
    assert all(c["outcome"] == "not_started" for e in report["exercises"] for c in e["checks"])


def test_one_exercise_lists_all_its_checks(cache_dir, tmp_path):
    folder = make_submission(tmp_path / "work", {
        "batchnorm.py": (SOLUTIONS / "batchnorm.py").read_text().replace("x.var(axis=0) + eps", "x.var(axis=0) + 1e-5")})
    result = run("--submission", str(folder), "bn_forward", state=cache_dir)
    assert result.returncode == 1
    assert "bn_backward" not in result.stdout.split("bn_forward ·")[0]  # only the asked exercise in the table
    assert "✔ a batch of one sample raises ValueError (and a batch of three gives the right out)" in result.stdout
    assert "✘ matches nn.BatchNorm1d (training): eps=1e-2 instead of the default" in result.stdout
    assert "Largest error" in result.stdout
    assert "Looks like eps was fixed in the code instead of taken from the argument." in result.stdout


def test_spanish_output(cache_dir):
    result = run("--solutions", "bn_forward", "--lang", "es", state=cache_dir)
    assert result.returncode == 0
    assert "✔ superado" in result.stdout
    assert "Normalización por lotes (Batch Normalization) y Dropout · solutions/" in result.stdout
    # one exercise passing is not the whole course passing
    assert "Todo lo corregido aquí está superado (bn_forward)." in result.stdout
    assert "Todos los ejercicios están superados" not in result.stdout


def test_language_from_the_environment(tmp_path):
    result = run("--submission", str(EXERCISES), state=tmp_path, env={"GRADE_LANG": "es"})
    assert "sin empezar" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["bn_fwd"], "grade: unknown exercise 'bn_fwd'. Did you mean 'bn_forward'?"),
    (["--submission", "/no/such/folder"], "grade: /no/such/folder is not a folder."),
    (["--seed", "abc"], "grade: --seed: 'abc' is not an integer"),
    (["--seed", "-5"], "grade: --seed: -5 is out of range: a seed is a whole number from 0 to 4294967295"),
    (["--seed", str(2**32)], "grade: --seed: 4294967296 is out of range"),
    (["bn_forward", "--seed=-1"], "grade: --seed: -1 is out of range"),
    (["--bogus"], "grade: unrecognized arguments: --bogus (grade --help lists what it accepts)"),
    (["quiz", "--bogus"], "grade: unrecognized arguments: --bogus (grade quiz --help lists what it accepts)"),
    (["export", "nbgrader"], "grade: the following arguments are required: DIR (grade export nbgrader --help"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path, args, message):
    result = run(*args, state=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_a_broken_course_file_is_one_line_naming_the_line(tmp_path):
    broken = tmp_path / "course.yml"
    broken.write_text((ROOT / "course.yml").read_text().replace("    points: 20\n", "    points: lots\n"))
    result = run("--course", str(broken), state=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("grade: course.yml, line ")
    assert "(exercises[1].points): Expected `float`, got `str`" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_hints_are_revealed_one_at_a_time_and_remembered(tmp_path):
    first = run("hint", "bn_forward", state=tmp_path)
    assert first.returncode == 0
    assert "Hint 1 of 3" in first.stdout and "Hint 2 of 3" not in first.stdout
    second = run("hint", "bn_forward", state=tmp_path)
    assert "Hint 1 of 3" in second.stdout and "Hint 2 of 3" in second.stdout
    run("hint", "bn_forward", state=tmp_path)
    last = run("hint", "bn_forward", state=tmp_path)
    assert "Hint 3 of 3" in last.stdout and "That was the last hint" in last.stdout
    assert json.loads((tmp_path / "state.json").read_text())["hints"]["bn_forward"] == 3


def test_hint_without_exercise_picks_the_first_not_passing(tmp_path):
    result = run("hint", state=tmp_path)
    assert "bn_forward" in result.stdout


def test_list_shows_progress_from_the_last_grading(tmp_path):
    assert "not graded yet" in run("list", state=tmp_path).stdout
    run("bn_forward", state=tmp_path)
    listing = run("list", state=tmp_path)
    assert listing.returncode == 0
    assert "◌ not started" in listing.stdout and "not graded yet" in listing.stdout
    assert "0 of 8 exercises pass" in listing.stdout


def test_grading_another_folder_leaves_the_progress_alone(cache_dir, tmp_path):
    run("--solutions", "bn_forward", state=tmp_path)
    assert not (tmp_path / "state.json").exists()


def test_a_syntax_error_names_the_file_and_line(cache_dir, tmp_path):
    folder = make_submission(tmp_path / "work", {"dropout.py": "def dropout_forward(x, p, train, rng)\n    return x\n"})
    result = run("--submission", str(folder), state=cache_dir)
    assert result.returncode == 1
    assert "dropout.py could not be imported: SyntaxError" in result.stdout
    assert "dropout.py, line 1" in result.stdout
    assert "✔ passed" in result.stdout  # the other files are still graded


def test_a_state_file_with_sections_of_the_wrong_shape_is_no_traceback(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "state.json").write_text(json.dumps({"hints": {"bn_forward": "x"}, "progress": {"bn_forward": "x"},
                                                     "quiz": [1]}))
    for args in (["list"], ["hint", "bn_forward"]):
        result = run(*args, state=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr


def test_an_answers_file_that_is_not_utf8_costs_only_the_quiz(cache_dir, tmp_path):
    folder = make_submission(tmp_path / "work")
    (folder / "quiz_answers.yml").write_bytes("seed: 5\nanswers:\n  ics_debated: sí\n".encode("cp1252"))
    result = run("--submission", str(folder), "--json", state=cache_dir)
    report = json.loads(result.stdout)
    assert report["score"] == 100 and all(e["status"] == "passed" for e in report["exercises"])
    assert "not UTF-8" in report["quiz"]["error"] and report["quiz"]["score"] == 0
    direct = run("quiz", "--answers", str(folder / "quiz_answers.yml"), state=tmp_path)
    assert direct.returncode == 2 and "Traceback" not in direct.stderr
    assert "quiz_answers.yml, line 3: not UTF-8 text" in direct.stderr


@pytest.mark.parametrize("args, expected", [
    (["--lang", "es", "hint", "bn_forward"], "Pista 1 de 3"),
    (["--lang=es", "list"], "progreso"),
    (["--course", str(ROOT / "course.yml"), "--lang", "es", "list"], "sin corregir todavía"),
    (["--lang", "es", "export", "nbgrader", "{tmp}/course"], "Curso de nbgrader escrito en"),
])
def test_global_options_may_come_before_the_command(tmp_path, args, expected):
    result = run(*[arg.format(tmp=tmp_path) for arg in args], state=tmp_path)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_output_piped_into_a_closed_pipe_ends_quietly(cache_dir):
    piped = subprocess.run(f"'{GRADE}' --solutions --json | head -c 10", shell=True, capture_output=True, text=True,
                           env={**os.environ, "GRADE_STATE_DIR": str(cache_dir)}, timeout=120)
    assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr


def test_outside_a_kit_grade_says_which_kit_it_uses(tmp_path):
    outside = run("list", state=tmp_path, cwd=tmp_path)
    assert outside.returncode == 0
    assert outside.stderr.startswith(f"grade: note: no course.yml in this folder or above it, so this is the kit in {ROOT}.")
    assert run("list", state=tmp_path).stderr == ""  # inside the kit: nothing to say


def test_a_bad_seed_leaves_the_progress_alone(tmp_path):
    (tmp_path / "state.json").write_text(json.dumps({"version": 1, "progress": {"bn_forward": {"status": "passed"}}}))
    before = (tmp_path / "state.json").read_text()
    result = run("--seed", "-5", state=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (tmp_path / "state.json").read_text() == before


def test_a_damaged_state_file_is_kept_reported_and_grading_goes_on(tmp_path):
    (tmp_path / "state.json").write_text('{"progress": {"bn_forward": ')
    result = run("--submission", str(EXERCISES), state=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [backup] = tmp_path.glob("state.json.damaged-*")
    assert backup.read_text() == '{"progress": {"bn_forward": '
    assert result.stderr.startswith(f"grade: note: your progress file {tmp_path / 'state.json'} could not be read")
    assert f"moved to {backup}" in result.stderr and "quiz answers" in result.stderr
    assert "◌ not started" in result.stdout  # graded all the same
    assert run("list", state=tmp_path).stderr == ""  # told once


def test_a_missing_exercise_file_is_a_usage_error_naming_it(tmp_path):
    folder = make_submission(tmp_path / "work")
    (folder / "dropout.py").unlink()
    result = run("--submission", str(folder), state=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"grade: {folder / 'dropout.py'} is missing: course.yml lists it for dropout."


def test_a_seed_out_of_range_in_course_yml_names_the_line(tmp_path):
    broken = tmp_path / "course.yml"
    broken.write_text((ROOT / "course.yml").read_text().replace("  seed: 20241121", "  seed: -3"))
    result = run("--course", str(broken), state=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "(policy.seed): `seed` must be a whole number from 0 to 4294967295" in result.stderr


def test_a_run_that_failed_inside_the_grader_leaves_the_progress_alone(kit, tmp_path, monkeypatch, capsys):
    from autograder.grading.feedback import Feedback
    from autograder.grading.results import CheckResult, ExerciseResult, GradeReport
    from autograder.i18n import Translator, msg
    from autograder.state import State
    from autograder.ui.commands import _remember

    monkeypatch.setenv("GRADE_STATE_DIR", str(tmp_path))
    saved = State.load(tmp_path)
    saved.progress["bn_forward"] = {"status": "passed", "score": 15}
    saved.save()
    before = (tmp_path / "state.json").read_bytes()
    broken = Feedback("internal", msg("feedback.internal", error="ValueError: negative seed"))
    report = GradeReport(str(EXERCISES), 0, [ExerciseResult("bn_forward", 15, [
        CheckResult("bn_forward::a", "bn_forward", msg("checks.bn_forward.float32_stays_float32"), "failed", broken)])])
    _remember(kit, report, Translator("en"))
    assert (tmp_path / "state.json").read_bytes() == before
    assert "the grader failed internally" in capsys.readouterr().err


def test_hint_reveals_nothing_for_an_exercise_that_passes(tmp_path, reference, solutions_report):
    from support import copy_kit, warm_state

    root = copy_kit(tmp_path / "kit").parent
    (root / "exercises" / "dropout.py").write_text((SOLUTIONS / "dropout.py").read_text())
    state = warm_state(tmp_path / "state", reference)
    result = run("hint", "dropout", "--course", str(root / "course.yml"), state=state)
    assert result.returncode == 0, result.stderr
    assert "dropout passes: no hint needed, none revealed." in result.stdout
    assert "Hint" not in result.stdout
    assert json.loads((state / "state.json").read_text()).get("hints", {}).get("dropout", 0) == 0
