"""`grade export gradescope`: the zip, and its run_autograder run against a simulated
/autograder tree (root from AUTOGRADER_ROOT) for good, partial and broken submissions; the
scores equal `grade --submission` and results.json always follows Gradescope's format."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from importlib.metadata import version

import jsonschema
import msgspec
import pytest
from support import ROOT, SOLUTIONS, mutate

from autograder.i18n import Translator
from autograder.instructor.nbgrader.export import export
from autograder.quiz.answers import ANSWERS_FILE, write_answers
from autograder.quiz.bank import load_bank
from autograder.quiz.check import key, variant_of

GRADE = Path(sys.executable).with_name("grade")
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
# https://gradescope-autograders.readthedocs.io/en/latest/specs/ (Output format)
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "output", "tests"],
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number", "minimum": 0},
        "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "leaderboard": {"type": "array"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "required": ["name", "score", "max_score", "status", "output", "visibility"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "name_format": FORMAT,
                "number": {"type": "string"},
                "score": {"type": "number", "minimum": 0},
                "max_score": {"type": "number", "minimum": 0},
                "status": {"enum": ["passed", "failed"]},
                "output": {"type": "string"},
                "output_format": FORMAT,
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY,
                "extra_data": {"type": "object"},
            },
        }},
    },
}


def run_grade(*args: str, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "GRADE_LANG"}
    environment.update({"COLUMNS": "100", **(env or {})})
    return subprocess.run([str(GRADE), *args], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    result = run_grade("export", "gradescope", "--output", str(path))
    assert result.returncode == 0, result.stderr
    assert "Gradescope autograder written to" in result.stdout
    return path


@pytest.fixture(scope="module")
def tree(autograder_zip, tmp_path_factory) -> Path:
    """A simulated /autograder: the zip in source/, run_autograder copied next to it (as
    Gradescope does), submission/ and results/ made per run."""
    root = tmp_path_factory.mktemp("autograder")
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    return root


def run_autograder(tree: Path, files: dict[str, str | bytes | Path], *, python: str = sys.executable,
                   env: dict | None = None) -> dict:
    submission = tree / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    shutil.rmtree(tree / "results", ignore_errors=True)
    submission.mkdir()
    for name, content in files.items():
        path = submission / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    environment = {k: v for k, v in os.environ.items() if k not in ("GRADE_LANG", "GRADE_COURSE", "GRADE_STATE_DIR")}
    environment.update({"AUTOGRADER_ROOT": str(tree), "GRADE_PYTHON": python, **(env or {})})
    result = subprocess.run(["bash", str(tree / "run_autograder")], cwd=tree, env=environment,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((tree / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    assert results["score"] == pytest.approx(sum(test["score"] for test in results["tests"]), abs=0.011)
    for test in results["tests"]:
        assert test["score"] <= test["max_score"]
        assert (test["status"] == "passed") == (test["score"] == test["max_score"])
    return results


def grade_submission_json(folder: Path) -> dict:
    result = run_grade("--submission", str(folder), "--json", env={"GRADE_STATE_DIR": str(folder.parent / "state")})
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def key_answers(kit, seed: int) -> dict:
    return {q.id: key(q, variant_of(q, seed)) for q in load_bank(kit).questions}


# -- the zip --------------------------------------------------------------------------------------


def test_zip_holds_the_scripts_and_the_kit_without_solutions(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = archive.namelist()
        assert {"setup.sh", "run_autograder", "kit/course.yml", "kit/quiz.yml", "kit/pyproject.toml",
                "kit/autograder/grading/runner.py", "kit/autograder/grading/checks/bn_forward.py"} <= set(names)
        for script in ("setup.sh", "run_autograder"):
            assert archive.getinfo(script).external_attr >> 16 & stat.S_IXUSR
        assert not [n for n in names if "solutions" in n.split("/") or "__pycache__" in n or n.endswith(".pyc")]
        contents = {archive.read(n) for n in names if not n.endswith("/")}
        assert not {p.read_bytes() for p in SOLUTIONS.glob("*.py")} & contents
        setup = archive.read("setup.sh").decode()
        assert "download.pytorch.org/whl/cpu" in setup and "requirements.txt" in setup
        pins = archive.read("kit/requirements.txt").decode().split()
        assert {"numpy", "torch", "pytest", "rich", "pyyaml", "msgspec", "sympy"} <= {p.split("==")[0] for p in pins}
        assert all(re.fullmatch(r"[a-z0-9._-]+==[0-9][0-9A-Za-z.]*", p) for p in pins), pins  # every one pinned
        assert not [p for p in pins if p.startswith(("nvidia", "triton"))]
        assert f'"pip=={version("pip")}"' in setup and "--upgrade" not in setup
        assert f'"torch=={version("torch").split("+")[0]}"' in setup
        assert "autograder.instructor.reference_plan" in setup and "kit/reference_plan.bin" in names
        run = archive.read("run_autograder").decode()
        assert "AUTOGRADER_ROOT" in run and "results.json" in run


def test_export_refuses_nothing_and_writes_where_asked(tmp_path):
    result = run_grade("export", "gradescope", "--output", str(tmp_path / "deep" / "ag.zip"), "--lang", "es")
    assert result.returncode == 0 and "Corrector de Gradescope escrito en" in result.stdout
    with zipfile.ZipFile(tmp_path / "deep" / "ag.zip") as archive:
        assert "--lang es" in archive.read("run_autograder").decode()


# -- run_autograder ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_good_submission_scores_full_marks(kit, tree, tmp_path):
    seed = 1234
    write_answers(tmp_path / ANSWERS_FILE, seed, key_answers(kit, seed))
    files = {p.name: p for p in SOLUTIONS.glob("*.py")} | {ANSWERS_FILE: tmp_path / ANSWERS_FILE}
    results = run_autograder(tree, files)
    assert results["score"] == kit.course.total_points + kit.course.quiz.points
    assert [t["status"] for t in results["tests"]] == ["passed"] * (len(kit.course.exercises) + 1)
    assert results["tests"][0]["name"].startswith("bn_forward · ")
    assert "seed 20241121" in results["output"]
    visibility = {t["name"].split(" · ")[0]: t["visibility"] for t in results["tests"]}
    assert visibility.pop("Theory quiz") == "after_due_date" and set(visibility.values()) == {"visible"}


@pytest.mark.slow
def test_a_partial_submission_scores_what_grade_submission_gives(kit, tree, tmp_path):
    """Files in a folder of the upload, a known mistake, dropout as its exported notebook, a quiz
    half answered: the same scores as `grade --submission` on the same code."""
    seed = 77
    answers = dict(list(key_answers(kit, seed).items())[::2])
    write_answers(tmp_path / ANSWERS_FILE, seed, answers)
    mistake = mutate("batchnorm.py", "x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps")
    export(kit, tmp_path / "course", t=Translator("en"))
    notebook = tmp_path / "course" / "source" / "bn_dropout" / "04_dropout.ipynb"
    files = {"hw/batchnorm.py": mistake, "hw/optim.py": SOLUTIONS / "optim.py",
             "hw/spatial_batchnorm.py": SOLUTIONS / "spatial_batchnorm.py", "hw/torch_model.py": SOLUTIONS / "torch_model.py",
             "hw/04_dropout.ipynb": notebook, "hw/quiz_answers.yml": tmp_path / ANSWERS_FILE,
             "old/v1/batchnorm.py": "raise SystemExit  # an older copy, deeper: ignored\n"}
    results = run_autograder(tree, files)

    folder = tmp_path / "same-code"
    shutil.copytree(SOLUTIONS, folder)
    (folder / "batchnorm.py").write_text(mistake)
    shutil.copy(tmp_path / ANSWERS_FILE, folder / ANSWERS_FILE)
    expected = grade_submission_json(folder)
    scores = {t["name"].split(" · ")[0]: t["score"] for t in results["tests"]}
    assert scores == {**{e["id"]: e["score"] for e in expected["exercises"]}, "Theory quiz": expected["quiz"]["score"]}
    assert results["score"] == expected["score"] < expected["max_score"]
    assert scores["bn_forward"] < 15 and scores["dropout"] == 15 and scores["bn_sgd_step"] == 5
    forward = results["tests"][0]["output"]
    assert "✘" in forward and "does not match PyTorch" in forward


@pytest.mark.slow
def test_a_broken_submission_still_gets_results(tree):
    files = {"batchnorm.py": "def batchnorm_forward(:\n", "optim.py": "import os\nos._exit(3)\n",
             "dropout.py": b"\xff\xfe\x00garbage", "spatial_batchnorm.py": "import torch\n",
             ANSWERS_FILE: "seed: [not, a, number\n"}
    results = run_autograder(tree, files)
    assert results["score"] == 0
    assert all(t["status"] == "failed" for t in results["tests"])
    outputs = {t["name"].split(" · ")[0]: t["output"] for t in results["tests"]}
    assert "could not be imported" in outputs["bn_forward"]
    assert "null bytes" in outputs["dropout"]  # a file that cannot be decoded: its own message
    assert "torch" in outputs["spatial_bn"]


@pytest.mark.slow
def test_an_empty_submission_says_what_was_expected(tree):
    results = run_autograder(tree, {"notes.txt": "nothing here"})
    assert results["score"] == 0
    assert "None of the expected files was found" in results["output"] and "batchnorm.py" in results["output"]


@pytest.mark.slow
def test_a_broken_kit_or_a_missing_python_still_writes_results(tree, tmp_path):
    course = tree / "source" / "kit" / "course.yml"
    saved = course.read_bytes()
    try:
        course.write_text("title: [unclosed\n")
        results = run_autograder(tree, {"batchnorm.py": SOLUTIONS / "batchnorm.py"})
        assert results["score"] == 0 and results["tests"] == []
        assert "could not grade this submission" in results["output"] and "course.yml" in results["output"]
    finally:
        course.write_bytes(saved)
    results = run_autograder(tree, {"batchnorm.py": SOLUTIONS / "batchnorm.py"}, python=str(tmp_path / "no-python"))
    assert results["score"] == 0 and "stopped before writing its results" in results["output"]
    results = run_autograder(tree, {"batchnorm.py": SOLUTIONS / "batchnorm.py"}, env={"GRADE_TIMEOUT": "0.2"})
    assert results["score"] == 0 and "stopped before writing its results" in results["output"]


def test_a_private_seed_goes_into_the_zip(kit, tmp_path):
    import zipfile

    from autograder.course import load_course
    from autograder.instructor.gradescope import build_zip

    path = build_zip(kit, tmp_path / "private.zip", seed=777)
    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp_path / "unzipped")
        names = archive.namelist()
    course = tmp_path / "unzipped" / "kit" / "course.yml"
    assert load_course(course).policy.seed == 777
    assert (ROOT / "course.yml").read_text().count("\n") == course.read_text().count("\n")  # comments kept
    assert not [n for n in names if n.startswith("kit/solutions/")]


def test_the_gradescope_export_does_not_need_the_instructor_extra(tmp_path):
    """nbformat comes with the instructor extra; without it, the Gradescope export still works
    and the nbgrader export says what to install."""
    script = ("import sys; sys.modules['nbformat'] = None\n"
              "from autograder.cli import main\n"
              f"print(main(['export', 'gradescope', '--output', {str(tmp_path / 'g.zip')!r}]),"
              f" main(['export', 'nbgrader', {str(tmp_path / 'nb')!r}]))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().endswith("0 2") and (tmp_path / "g.zip").is_file()
    assert "nbformat is not installed: install the instructor extra" in result.stderr


# -- set-up, visibility, lateness -----------------------------------------------------------------


def test_setup_builds_the_reference_cache_the_submissions_then_use(kit, autograder_zip, tmp_path):
    """What setup.sh replays fills the cache a correct submission needs: grading it computes
    nothing more with torch."""
    from autograder.grading.reference import Reference
    from autograder.grading.runner import grade
    from autograder.instructor.reference_plan import PLAN_FILE, replay

    with zipfile.ZipFile(autograder_zip) as archive:
        plan = archive.read(f"kit/{PLAN_FILE}")
    assert b"def " not in plan and b"solutions" not in plan  # arguments only, no code
    cache = tmp_path / "cache"
    import autograder.grading.runner as runner

    original = runner.make_reference
    runner.make_reference = lambda kit_, seed: Reference(cache)
    try:
        assert replay(kit, plan) > 0
        assert replay(kit, plan) == 0  # a second set-up finds it warm
    finally:
        runner.make_reference = original
    warm = Reference(cache)
    report = grade(kit, SOLUTIONS, reference=warm)
    assert report.score == kit.course.total_points and warm.computed == 0


def test_visibility_comes_from_the_course(kit, tmp_path):
    from autograder.grading.results import ExerciseResult, GradeReport
    from autograder.instructor.gradescope import results_json

    course = msgspec.structs.replace(kit.course, visibility={"default": "after_published", "bn_backward": "hidden"})
    report = GradeReport(str(tmp_path), 1, [ExerciseResult(e.id, e.points) for e in course.exercises[:3]])
    results = results_json(report, type(kit)(kit.root, course), Translator("en"))
    assert [t["visibility"] for t in results["tests"]] == ["after_published", "hidden", "after_published"]
    assert results["visibility"] == "after_published"
    with pytest.raises(Exception, match="visibility.bn_forwrd"):
        msgspec.structs.replace(kit.course, visibility={"bn_forwrd": "hidden"}).__post_init__()


@pytest.mark.parametrize("created, extension, expected", [
    ("2026-03-01T23:50:00+01:00", None, (100.0, None)),                  # on time
    ("2026-03-02T00:10:00+01:00", None, (100.0, None)),                  # within the 15 min grace
    ("2026-03-02T01:00:00+01:00", None, (80.0, "1 day(s) late: 20 %")),  # one day started
    ("2026-03-05T12:00:00+01:00", None, (50.0, "4 day(s) late: 50 %")),  # capped at 50 %
    ("2026-03-05T12:00:00+01:00", "2026-03-06T00:00:00+01:00", (100.0, None)),  # the student's extension
])
def test_a_late_gradescope_submission_loses_the_course_penalty(kit, tmp_path, created, extension, expected):
    from autograder.course import Deadline
    from autograder.instructor.gradescope import with_late_penalty

    deadline = msgspec.convert({"due": "2026-03-01T23:59:00+01:00", "grace_minutes": 15, "penalty_per_day": 20,
                                "max_penalty": 50}, Deadline)
    course = msgspec.structs.replace(kit.course, deadline=deadline)
    user = {"email": "s@x.org", "id": 1, "name": "S"}
    if extension:
        user["assignment"] = {"due_date": extension}
    metadata = {"created_at": created, "assignment": {"due_date": "2026-03-01T23:59:00+01:00"}, "users": [user]}
    (tmp_path / "submission_metadata.json").write_text(json.dumps(metadata))
    results = with_late_penalty({"score": 100.0, "output": "Score: 100 / 110 points.", "tests": []}, course,
                                tmp_path / "submission_metadata.json", Translator("en"))
    assert results["score"] == expected[0]
    assert (expected[1] in results["output"]) if expected[1] else ("late" not in results["output"])
