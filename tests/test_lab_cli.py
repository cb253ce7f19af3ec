"""``grade lab`` through its console script, as a student runs it: with untouched stubs, with
finished exercises (the solutions as the student's code), in Spanish, as JSON, in a terminal
with its checkpoint question. The runs use ``--quick``; tests/test_lab_experiments.py runs
the default settings."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import EXERCISES, ROOT, SOLUTIONS, make_submission

from autograder.lab.charts import PNG_DPI, PNG_SIZE
from autograder.lab.experiments import EXPERIMENTS

GRADE = Path(sys.executable).with_name("grade")


def run(*args: str, state: Path, course: Path | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("GRADE_LANG", "GRADE_COURSE")}
    env.update({"GRADE_STATE_DIR": str(state), "COLUMNS": "80"})
    extra = ["--course", str(course)] if course else []
    return subprocess.run([str(GRADE), "lab", *args, *extra], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def course_for(folder: Path, tmp_path: Path, **lab: object) -> Path:
    """A copy of course.yml whose student folder is `folder` (the rest stays the kit's)."""
    data = yaml.safe_load((ROOT / "course.yml").read_text())
    data["exercises_dir"], data["solutions_dir"] = str(folder), str(SOLUTIONS)
    data["quiz"].update(bank=str(ROOT / data["quiz"]["bank"]), lessons=str(ROOT / data["quiz"]["lessons"]))
    data["lab"].update(lab)
    path = tmp_path / "course.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """The whole lab, quick, with the solutions as the student's code: (course, state, JSON)."""
    tmp = tmp_path_factory.mktemp("finished")
    course = course_for(make_submission(tmp / "student"), tmp)
    state = tmp / "state"
    result = run("--quick", "--json", state=state, course=course)
    assert result.returncode == 0, result.stderr
    return course, state, json.loads(result.stdout)


def test_untouched_stubs_say_which_exercises_each_experiment_needs(tmp_path):
    result = run("--quick", state=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stderr == ""
    out = " ".join(result.stdout.split())
    assert "Needs bn_forward, bn_backward, bn_running_stats, bn_sgd_step, not started yet" in out
    assert "check with grade bn_forward" in out
    assert "Needs bn_sgd_step, dropout, not started yet" in out
    assert out.count("Needs ") == len(EXPERIMENTS)
    assert not (tmp_path / "lab" / "runs").exists()  # nothing was trained


def test_finished_exercises_run_every_experiment_next_to_the_reference(finished):
    _, state, report = finished
    assert [e["id"] for e in report["experiments"]] == [e.id for e in EXPERIMENTS]
    for experiment in report["experiments"]:
        assert experiment["ran"] and experiment["error"] is None and experiment["failing"] == []
        assert experiment["student"] == experiment["reference"]  # same code, same seeds
        assert not any(d["departs"] for d in experiment["differences"])
        assert experiment["reading"] and experiment["findings"] == []
        assert Path(experiment["png"]) == state / "lab" / f"{experiment['id']}.png"


def test_each_experiment_saves_a_png_of_the_documented_size(finished):
    _, state, report = finished
    expected = (int(PNG_SIZE[0] * PNG_DPI), int(PNG_SIZE[1] * PNG_DPI))
    for experiment in report["experiments"]:
        assert png_size(Path(experiment["png"])) == expected
    assert report["figures"] == str(state / "lab")


def test_an_unchanged_rerun_trains_nothing_and_prints_the_same(finished):
    course, state, report = finished
    runs = state / "lab" / "runs"
    before = {p.name: p.stat().st_mtime_ns for p in runs.iterdir()}
    again = run("--quick", "--json", state=state, course=course)
    assert again.returncode == 0
    assert {p.name: p.stat().st_mtime_ns for p in runs.iterdir()} == before
    strip = [{k: v for k, v in e.items() if k != "seconds"} for e in report["experiments"]]
    assert [{k: v for k, v in e.items() if k != "seconds"} for e in json.loads(again.stdout)["experiments"]] == strip


def test_the_lab_in_spanish(finished):
    course, state, _ = finished
    result = run("inference", "--quick", "--lang", "es", state=state, course=course)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "1/1 · Inferencia" in out and "Lo que muestran tus ejecuciones:" in out
    assert "Con las estadísticas acumuladas (modo evaluación):" in out and "\u00a0%" in result.stdout
    assert "Figuras guardadas en" in out
    assert "What your runs show" not in out


def test_the_reference_alone_needs_nothing_of_the_students(tmp_path):
    result = run("inference", "--reference", "--quick", state=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "What the reference runs show:" in result.stdout
    assert (tmp_path / "lab" / "inference-reference.png").is_file()


def test_list_names_every_experiment_its_exercises_and_question(tmp_path):
    result = run("--list", state=tmp_path)
    assert result.returncode == 0
    for experiment in EXPERIMENTS:
        assert experiment.id in result.stdout
    assert "ben_scale_invariance" in result.stdout and "spatial_bn" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["learning_rates"], "no experiment 'learning_rates'. Did you mean 'learning_rate'?"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path, args, message):
    result = run(*args, state=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_checkpoint_naming_no_question_is_a_course_error(tmp_path):
    course = course_for(EXERCISES, tmp_path, checkpoints={"inference": "no_such_question"})
    result = run("--list", state=tmp_path, course=course)
    assert result.returncode == 2
    assert "lab.checkpoints.inference" in result.stderr and "no_such_question" in result.stderr
    assert "Traceback" not in result.stderr


def test_code_that_fails_during_training_is_reported_and_the_rest_still_runs(finished, tmp_path):
    _, state, _ = finished  # its cached reference values and runs
    broken = (SOLUTIONS / "optim.py").read_text() + "\n\ndef sgd_step(*args, **kwargs):\n    raise RuntimeError('oops')\n"
    course = course_for(make_submission(tmp_path / "student", {"optim.py": broken}), tmp_path)
    result = run("inference", "--quick", state=state, course=course)
    assert result.returncode == 1
    out = " ".join(result.stdout.split())
    line = len(broken.splitlines())
    assert f"Your sgd_step raised RuntimeError during training (line {line}, in sgd_step): oops" in out
    assert "What the reference runs show:" in out  # the reference's curves are still shown
    assert "Not passing all its checks yet: bn_sgd_step" in out
    assert "Traceback" not in result.stderr


def test_the_checkpoint_question_is_asked_in_a_terminal_and_saved(finished, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    course, state, _ = finished
    env = {k: v for k, v in os.environ.items() if k not in ("GRADE_LANG", "GRADE_COURSE")}
    env.update({"GRADE_STATE_DIR": str(state), "COLUMNS": "80", "LINES": "40"})
    child = pexpect.spawn(str(GRADE), ["lab", "inference", "--quick", "--course", str(course)], cwd=str(ROOT),
                          env=env, encoding="utf-8", timeout=120, dimensions=(40, 80))
    child.expect("Checkpoint question")
    child.expect(r"\(a-d\):")
    child.sendline("a")
    child.expect("Figures saved in")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    questions = json.loads((state / "state.json").read_text())["quiz"]["questions"]
    assert len(questions["inf_forgot_eval"]["attempts"]) == 1
    again = run("inference", "--quick", state=state, course=course)  # not a terminal: not asked
    assert "grade quiz --topic inference" in " ".join(again.stdout.split())
