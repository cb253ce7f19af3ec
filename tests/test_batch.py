"""`grade batch`: a small class graded end to end through the real command, then checked
against `grade --submission <folder> --seed <recorded seed>` student by student; resuming
after an interruption; a grading process that dies or hangs; the class report's numbers.

The class: a correct submission (with quiz answers), a partial one, untouched stubs, one with
known mistakes, a hostile one (syntax error, huge print and sys.exit, os._exit, a forking
infinite loop) and an nbgrader ``submitted/`` tree. The course is the kit's with a 2 s limit
per call, so the hostile submission costs seconds, not minutes.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from rich.cells import cell_len
from support import EXERCISES, ROOT, SOLUTIONS, make_submission, mutate

from autograder.grading.runner import grade, make_reference
from autograder.i18n import Translator
from autograder.instructor.batch import run as batch
from autograder.instructor.batch.class_report import ClassReportView, markdown, summarize
from autograder.instructor.batch.worker import Grader, serve
from autograder.instructor.notebooks import notebook_names
from autograder.instructor.submissions import AssignmentError, resolve_assignment
from autograder.kit import Kit
from autograder.quiz.answers import ANSWERS_FILE, quiz_for_report, write_answers
from autograder.quiz.bank import load_bank
from autograder.quiz.check import key, variant_of
from autograder.ui.json_report import report_to_json

GRADE = Path(sys.executable).with_name("grade")
SECONDS = 2
MISTAKES = {  # file -> (old, new): known mistakes, one per file
    "batchnorm.py": ("x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps"),
    "optim.py": ("grad + weight_decay * param if weight_decay else grad", "grad"),
    "dropout.py": ("x * keep / (1.0 - p)", "x * keep * (1.0 - p)"),
}
HOSTILE = {
    "batchnorm.py": "import numpy as np\n\ndef batchnorm_forward(x, gamma, beta, eps=1e-5)\n    return x\n",
    "optim.py": "import sys\n\ndef sgd_step(*args, **kwargs):\n    print('y' * 5_000_000)\n    sys.exit(3)\n",
    "spatial_batchnorm.py": "import os\n\ndef spatial_batchnorm_forward(*args, **kwargs):\n    os._exit(9)\n\n"
                            "def spatial_batchnorm_backward(*args, **kwargs):\n    os._exit(9)\n",
    "dropout.py": "import os, time\n\ndef dropout_forward(x, p, train, rng):\n    for _ in range(20):\n"
                  "        if os.fork() == 0:\n            time.sleep(60)\n            os._exit(0)\n"
                  "    while True:\n        pass\n\ndef dropout_backward(dout, cache):\n    while True:\n        pass\n",
    # torch is allowed here: it reaches for the kit's own solution instead (not in its view)
    "torch_model.py": "import pathlib\n\nSTOLEN = (pathlib.Path(__file__).parents[1] / 'solutions' / 'torch_model.py')"
                      ".read_text()\nexec(STOLEN)\n",
}


def run_grade(*args: str, course: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRADE_LANG"}
    env.update({"COLUMNS": "100", "GRADE_STATE_DIR": str(course.parent / "state")})
    return subprocess.run([str(GRADE), *args, "--course", str(course)], env=env, capture_output=True,
                          text=True, check=False, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The kit's course.yml with a shorter time limit per call."""
    root = tmp_path_factory.mktemp("batch-course")
    text, count = re.subn(r"seconds_per_call: *\d+", f"seconds_per_call: {SECONDS}", (ROOT / "course.yml").read_text())
    assert count == 1
    (root / "course.yml").write_text(text)
    for name in ("quiz.yml", "lessons", "exercises", "solutions"):
        (root / name).symlink_to(ROOT / name)
    return root / "course.yml"


@pytest.fixture(scope="module")
def quick_kit(course) -> Kit:
    return Kit.locate(course)


def quiz_key(kit: Kit, seed: int) -> dict:
    return {q.id: key(q, variant_of(q, seed)) for q in load_bank(kit).questions}


@pytest.fixture(scope="module")
def klass(quick_kit, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("class") / "submitted"
    alice = make_submission(root / "alice")
    answers = quiz_key(quick_kit, 7)
    write_answers(alice / ANSWERS_FILE, 7, dict(list(answers.items())[::2]))  # half of the quiz, right
    bob = make_submission(root / "bob")  # partial: batchnorm and optim done, the rest untouched
    for name in ("spatial_batchnorm.py", "dropout.py"):
        shutil.copy(EXERCISES / name, bob / name)
    make_submission(root / "carol", base=EXERCISES)
    make_submission(root / "dave", {file: mutate(file, *change) for file, change in MISTAKES.items()})
    make_submission(root / "eve", HOSTILE)
    make_notebook_submission(quick_kit, root / "frank" / "ps1", tmp_path_factory.mktemp("export"))
    return root


def make_notebook_submission(kit: Kit, folder: Path, scratch: Path) -> None:
    """The exported source notebooks (the solutions) with the dropout mistake in its answer cell."""
    from autograder.instructor.nbgrader.export import export

    export(kit, scratch, assignment="ps1")
    shutil.copytree(scratch / "source" / "ps1", folder)
    path = folder / f"{notebook_names(kit.course)['dropout.py']}.ipynb"
    notebook = json.loads(path.read_text())
    old, new = MISTAKES["dropout.py"]
    changed = 0
    for cell in notebook["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if (cell.get("metadata", {}).get("nbgrader") or {}).get("solution") and old in source:
            cell["source"] = source.replace(old, new)
            changed += 1
    assert changed == 1
    path.write_text(json.dumps(notebook))


@pytest.fixture(scope="module")
def graded(course, klass, tmp_path_factory):
    """`grade batch` over the class, through the real command."""
    output = tmp_path_factory.mktemp("out") / "grades"
    started = time.perf_counter()
    result = run_grade("batch", str(klass), "--output", str(output), "--jobs", "2", course=course)
    return result, output, time.perf_counter() - started


def gradebook(output: Path) -> dict[str, dict]:
    data = json.loads((output / "gradebook.json").read_text())
    return {entry["student"]: entry for entry in data["students"]}


def essentials(report: dict) -> dict:
    """What the gradebook promises to reproduce: scores, and every check's outcome and message."""
    return {
        "score": report["score"], "max_score": report["max_score"],
        "quiz": (report.get("quiz") or {}).get("score"),
        "exercises": [(e["id"], e["score"], e["status"],
                       [(c["id"], c["outcome"], c.get("stage"), c.get("misconception"), c.get("message"))
                        for c in e["checks"]]) for e in report["exercises"]],
    }


def direct(kit: Kit, folder: Path, seed: int) -> dict:
    """What `grade --submission folder --seed seed --json` computes, in this process."""
    report = grade(kit, folder, seed=seed, reference=make_reference(kit, seed))
    report.quiz = quiz_for_report(kit, folder)
    return report_to_json(report, kit.course, Translator("en"))


# -- the class ------------------------------------------------------------------------------------


def test_every_student_is_graded_and_the_class_report_printed(graded):
    result, output, _ = graded
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert sorted(p.name for p in output.iterdir() if not p.name.startswith(".")) == [
        "canvas.csv", "checks.csv", "class_report.md", "feedback", "gradebook.csv", "gradebook.json", "moodle.csv",
        "results", "similarity.csv", "submissions"]
    assert sorted(p.stem for p in (output / "results").glob("*.json")) == ["alice", "bob", "carol", "dave", "eve",
                                                                           "frank"]
    assert "class report" in result.stdout and "6 of 6 submissions graded" in result.stdout
    assert "Graded now: 6 · kept from an earlier run: 0 · not graded: 0" in result.stdout
    assert "unbiased_variance" in result.stdout  # dave's batchnorm mistake, named
    assert result.stderr == ""  # no progress bar off a terminal, no noise


def test_scores_are_what_each_submission_deserves(graded, quick_kit):
    book = gradebook(graded[1])
    exercises = sum(e.points for e in quick_kit.course.exercises)
    assert book["alice"]["score"] == exercises + 5  # half of the quiz's 10 points
    assert book["carol"]["score"] == 0
    assert {e["status"] for e in book["carol"]["exercises"]} == {"not_started"}
    statuses = {e["id"]: e["status"] for e in book["bob"]["exercises"]}
    assert statuses == {"bn_forward": "passed", "bn_backward": "passed", "bn_running_stats": "passed",
                        "bn_sgd_step": "passed", "spatial_bn": "not_started", "dropout": "not_started",
                        "bn_layer_training": "passed", "torch_model": "passed"}
    assert 0 < book["dave"]["score"] < book["bob"]["score"]
    assert {e["id"] for e in book["frank"]["exercises"] if e["status"] != "passed"} == {"dropout"}


def test_gradebook_equals_grade_submission_with_the_recorded_seed(graded, quick_kit, course):
    book = gradebook(graded[1])

    def cli(student: str) -> dict:  # the real command, for two of them, as printed (in the background)
        command = book[student]["reproduce"].split()
        assert command[:2] == ["grade", "--submission"]
        result = run_grade(*command[1:], "--json", course=course, cwd=graded[1])
        return json.loads(result.stdout)

    with ThreadPoolExecutor(2) as pool:
        commands = {student: pool.submit(cli, student) for student in ("dave", "frank")}
        for student, entry in book.items():
            record = json.loads((graded[1] / "results" / f"{student}.json").read_text())
            assert record["seed"] == entry["seed"] and Path(record["folder"]) == graded[1] / entry["folder"]
            assert entry["reproduce"] == f"grade --submission submissions/{student} --seed {entry['seed']}"
            expected = essentials(direct(quick_kit, graded[1] / entry["folder"], entry["seed"]))
            assert essentials(record["report"]) == expected, student
            assert essentials(entry) == expected, student
        for student, command in commands.items():
            assert essentials(command.result()) == essentials(book[student]), student


def test_csv_files_hold_the_same_grades(graded, quick_kit):
    book = gradebook(graded[1])
    with open(graded[1] / "gradebook.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(book)
    for student, entry in book.items():
        row = rows[student]
        assert int(row["seed"]) == entry["seed"] and float(row["score"]) == entry["score"]
        assert {e["id"]: float(row[e["id"]]) for e in entry["exercises"]} == {e["id"]: e["score"]
                                                                            for e in entry["exercises"]}
        assert float(row["quiz"]) == entry["quiz"]["score"] and row["error"] == ""
    with open(graded[1] / "checks.csv", newline="") as handle:
        checks = list(csv.DictReader(handle))
    expected = [(s, c["id"], c["outcome"], (c["outcome"] != "blocked" and c["misconception"]) or "")
                for s, e in sorted(book.items()) for x in e["exercises"] for c in x["checks"]]
    assert [(r["student"], r["check"], r["outcome"], r["misconception"]) for r in checks] == expected
    assert all(r["stage"] == "" for r in checks if r["outcome"] == "blocked")
    assert any(r["outcome"] == "blocked" for r in checks)  # the class has some


def test_seeds_are_recorded_fresh_and_distinct(graded, quick_kit):
    seeds = {student: entry["seed"] for student, entry in gradebook(graded[1]).items()}
    assert len(set(seeds.values())) == len(seeds)
    assert quick_kit.course.policy.seed not in seeds.values()
    assert all(isinstance(seed, int) and 0 <= seed < 2**31 for seed in seeds.values())


def test_the_hostile_submission_is_graded_and_stops_nothing(graded):
    book = gradebook(graded[1])
    eve = book["eve"]
    assert eve["error"] is None and eve["score"] == 0
    stages = {e["id"]: {c["stage"] for c in e["checks"] if c["outcome"] == "failed"} for e in eve["exercises"]}
    assert stages["bn_forward"] == {"import"}  # the syntax error
    assert stages["bn_sgd_step"] == {"exit"}  # sys.exit after a huge print
    assert stages["spatial_bn"] == {"crash"}  # os._exit
    assert stages["dropout"] == {"forbidden"}  # fork (refused) and loop forever
    assert stages["torch_model"] == {"import"}  # the kit's solution is not there to read
    assert not [e for e in book.values() if e["error"]]


def test_notebook_submission_grades_like_the_same_code_as_files(graded, quick_kit, tmp_path):
    frank = gradebook(graded[1])["frank"]
    staged = graded[1] / frank["folder"]
    assert staged == graded[1] / "submissions" / "frank"
    assert sorted(p.name for p in staged.iterdir()) == sorted(
        ["batchnorm.py", "optim.py", "spatial_batchnorm.py", "dropout.py", "torch_model.py", ANSWERS_FILE])
    files = make_submission(tmp_path / "frank-files", {"dropout.py": mutate("dropout.py", *MISTAKES["dropout.py"])})
    expected = essentials(direct(quick_kit, files, frank["seed"]))
    assert essentials(frank)["exercises"] == expected["exercises"]


# -- resuming -------------------------------------------------------------------------------------


def test_resume_keeps_finished_results_and_redoes_missing_corrupt_failed_and_changed(graded, klass, quick_kit,
                                                                                      tmp_path):
    classroom, output = tmp_path / "submitted", tmp_path / "grades"
    shutil.copytree(klass, classroom)
    shutil.copytree(graded[1], output)
    results = output / "results"
    (results / "carol.json").unlink()  # never written: the run stopped before
    text = (results / "bob.json").read_text()
    (results / "bob.json").write_text(text[: len(text) // 2])  # partial
    failed = {**json.loads((results / "frank.json").read_text()), "report": None,
              "error": {"kind": "process", "detail": "-9"}}
    (results / "frank.json").write_text(json.dumps(failed))  # its grading process was killed
    with open(classroom / "dave" / "optim.py", "a") as handle:  # resubmitted since
        handle.write("\n# fixed later\n")
    kept = {s: (results / f"{s}.json").read_bytes() for s in ("alice", "eve")}
    seen = []

    outcome = batch.run(quick_kit, batch.Settings(classroom, output, jobs=2),
                        on_record=lambda record, done, total: record and seen.append(record["student"]))
    assert sorted(seen) == ["bob", "carol", "dave", "frank"]
    assert (outcome.graded, outcome.resumed, outcome.interrupted) == (4, 2, False)
    assert {s: (results / f"{s}.json").read_bytes() for s in kept} == kept
    assert [r["student"] for r in outcome.records] == ["alice", "bob", "carol", "dave", "eve", "frank"]
    assert all(batch.load_record(results / f"{s}.json")["report"] for s in ("bob", "carol", "dave", "frank"))


def test_resume_regrades_results_made_with_another_seed_or_language(graded, klass, quick_kit, tmp_path):
    classroom, output = tmp_path / "submitted", tmp_path / "grades"
    shutil.copytree(klass, classroom)
    shutil.copytree(graded[1], output)  # a fresh random seed per student, in English
    outcome = batch.run(quick_kit, batch.Settings(classroom, output, jobs=2, seed=42))
    assert outcome.resumed == 0 and {r["seed"] for r in outcome.records} == {42}
    again = batch.run(quick_kit, batch.Settings(classroom, output, jobs=2, seed=42))
    assert again.resumed == len(again.records) and again.graded == 0
    spanish = batch.run(quick_kit, batch.Settings(classroom, output, jobs=2, seed=42, language="es"))
    assert spanish.resumed == 0 and {r["language"] for r in spanish.records} == {"es"}


def slow_import(seconds: float) -> str:
    return f"import time\ntime.sleep({seconds})\n"


def test_an_interrupted_run_resumes_where_it_stopped(course, tmp_path):
    classroom, output = tmp_path / "submitted", tmp_path / "grades"
    make_submission(classroom / "a_done")
    make_submission(classroom / "b_slow", {"batchnorm.py": slow_import(SECONDS * 0.6) +
                                           (SOLUTIONS / "batchnorm.py").read_text()})
    make_submission(classroom / "c_stub", base=EXERCISES)
    env = {k: v for k, v in os.environ.items() if k != "GRADE_LANG"}
    # Ctrl-C's default action, even where the suite runs as a background job (which ignores it)
    process = subprocess.Popen([str(GRADE), "batch", str(classroom), "--output", str(output), "--jobs", "1",
                                "--course", str(course)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (output / "results" / "a_done.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # while b_slow is being graded
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert "interrupted with 1 of 3 submissions graded" in stderr
    assert sorted(p.name for p in (output / "results").glob("*.json")) == ["a_done.json"]
    with open(output / "gradebook.csv", newline="") as handle:
        assert [row["student"] for row in csv.DictReader(handle)] == ["a_done"]

    result = run_grade("batch", str(classroom), "--output", str(output), "--jobs", "1", course=course)
    assert result.returncode == 0, result.stderr
    assert "Graded now: 2 · kept from an earlier run: 1 · not graded: 0" in result.stdout
    assert gradebook(output)["b_slow"]["score"] == 100


def test_force_grades_again_and_a_fixed_seed_is_used_for_everyone(quick_kit, tmp_path):
    classroom = tmp_path / "submitted"
    for student in ("a", "b"):
        make_submission(classroom / student, base=EXERCISES)
    settings = batch.Settings(classroom, tmp_path / "grades", jobs=2)
    first = batch.run(quick_kit, settings)
    assert (first.graded, first.resumed) == (2, 0)
    again = batch.run(quick_kit, settings)
    assert (again.graded, again.resumed) == (0, 2)
    assert [r["seed"] for r in again.records] == [r["seed"] for r in first.records]
    settings.force, settings.seed = True, 12
    forced = batch.run(quick_kit, settings)
    assert (forced.graded, forced.resumed) == (2, 0)
    assert [r["seed"] for r in forced.records] == [12, 12]


def test_two_batches_never_write_the_same_output_at_once(quick_kit, tmp_path):
    import fcntl

    make_submission(tmp_path / "submitted" / "a", base=EXERCISES)
    (tmp_path / "grades").mkdir()
    with open(tmp_path / "grades" / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(batch.Busy):
            batch.run(quick_kit, batch.Settings(tmp_path / "submitted", tmp_path / "grades", jobs=1))
    assert not (tmp_path / "grades" / "results").exists()


# -- grading processes that die or hang -----------------------------------------------------------


def troubled_serve(connection, course_file: str, language: str) -> None:
    """`serve`, without torch (the students are stubs), for a class where grading `crash` kills
    its process and grading `hang` never ends."""
    original = Grader.begin

    def begin_or_misbehave(self, job):
        if job["student"] == "crash":
            os._exit(3)
        if job["student"] == "hang":
            time.sleep(600)
        return original(self, job)

    Grader.warm_up = lambda self: None
    Grader.begin = begin_or_misbehave
    serve(connection, course_file, language)


def test_a_grading_process_that_dies_or_hangs_costs_only_its_submission(quick_kit, tmp_path):
    classroom = tmp_path / "submitted"
    for student in ("a", "crash", "hang", "z"):
        make_submission(classroom / student, base=EXERCISES)
    settings = batch.Settings(classroom, tmp_path / "grades", jobs=2, timeout=3)
    started = time.perf_counter()
    outcome = batch.run(quick_kit, settings, target=troubled_serve)
    assert time.perf_counter() - started < 60
    errors = {r["student"]: r["error"] for r in outcome.records}
    assert errors == {"a": None, "crash": {"kind": "process", "detail": "3"},
                      "hang": {"kind": "timeout", "detail": "3"}, "z": None}
    assert [r["report"]["score"] for r in outcome.records if r["report"]] == [0, 0]


# -- the class report -----------------------------------------------------------------------------


def check(check_id: str, outcome: str, misconception: str | None = None) -> dict:
    return {"id": check_id, "title": f"title of {check_id}", "outcome": outcome,
            "stage": None if outcome == "passed" else "values", "misconception": misconception, "message": ""}


def record(student: str, forward: list[dict], dropout: list[dict], score: tuple[float, float],
           status: tuple[str, str], quiz: float) -> dict:
    exercises = [{"id": "bn_forward", "score": score[0], "max": 15, "status": status[0], "checks": forward},
                 {"id": "dropout", "score": score[1], "max": 15, "status": status[1], "checks": dropout}]
    return {"student": student, "seed": 1, "folder": f"/x/{student}", "error": None,
            "report": {"score": sum(score) + quiz, "max_score": 40, "exercises": exercises,
                       "quiz": {"score": quiz, "max": 10}}}


def test_class_report_counts_on_a_constructed_class(quick_kit):
    records = [
        record("ann", [check("f::a", "passed"), check("f::b", "passed")],
               [check("d::a", "passed"), check("d::b", "passed")], (15, 15), ("passed", "passed"), 10),
        record("ben", [check("f::a", "failed", "unbiased_variance"), check("f::b", "failed", "unbiased_variance")],
               [check("d::a", "passed"), check("d::b", "failed", "scale_by_keep")], (0, 7.5), ("failed", "failed"), 5),
        record("cat", [check("f::a", "failed", "eps_outside_sqrt"), check("f::b", "passed")],
               [check("d::a", "not_started"), check("d::b", "not_started")], (7.5, 0), ("failed", "not_started"), 0),
        record("dan", [check("f::a", "failed", "unbiased_variance"), check("f::b", "blocked")],
               [check("d::a", "passed"), check("d::b", "failed")], (0, 7.5), ("failed", "failed"), 0),
        {"student": "eli", "seed": 2, "folder": None, "report": None, "error": {"kind": "timeout", "detail": "900"}},
    ]
    summary = summarize(records, quick_kit.course)
    assert (summary.students, summary.graded) == (5, 4)
    assert sorted(summary.total.scores) == [7.5, 7.5, 12.5, 40]
    assert (summary.total.maximum, summary.total.mean, summary.total.median) == (40, 16.88, 10)
    assert summary.total.histogram() == [0, 2, 0, 1, 0, 0, 0, 0, 0, 1]  # bins of 4: 7.5, 7.5 | 12.5 | 40
    forward = next(e for e in summary.exercises if e.id == "bn_forward")
    assert (forward.full, forward.zero, forward.not_started, forward.scores.median) == (1, 2, 0, 3.75)
    dropout = next(e for e in summary.exercises if e.id == "dropout")
    assert (dropout.full, dropout.zero, dropout.not_started) == (1, 0, 1)
    hardest = [(c.id, c.passed, c.reached) for c in summary.hardest()]
    assert hardest == [("f::a", 1, 4), ("d::b", 1, 3), ("f::b", 2, 3)]  # blocked, not started: not reached
    causes = [(c.exercise, c.kind, c.id, sorted(c.students), sorted(c.checks), c.reached) for c in summary.causes]
    assert causes == [  # one row per cause, however many checks it fails
        ("bn_forward", "misconception", "unbiased_variance", ["ben", "dan"], ["f::a", "f::b"], 4),
        ("bn_forward", "misconception", "eps_outside_sqrt", ["cat"], ["f::a"], 4),
        ("dropout", "misconception", "scale_by_keep", ["ben"], ["d::b"], 3),
        ("dropout", "stage", "values", ["dan"], ["d::b"], 3)]
    assert [(m.id, sorted(m.students)) for m in summary.misconceptions] == [
        ("unbiased_variance", ["ben", "dan"]), ("eps_outside_sqrt", ["cat"]), ("scale_by_keep", ["ben"])]
    assert [r["student"] for r in summary.not_graded] == ["eli"]

    t = Translator("en")
    text = markdown(summary, quick_kit.course, t)
    assert "4 of 5 submissions graded · mean 16.88 / 40 · median 10 · lowest 7.5 · highest 40" in text
    assert ("| bn_forward | unbiased_variance: the batch was normalised with the unbiased variance (divided by N − 1)"
            " | 2 / 4 | 50 % | a, b |") in text
    assert "| dropout | first failure: wrong values (no known mistake matched) | 1 / 3 | 33 % | b |" in text
    assert "| `unbiased_variance` | the batch was normalised with the unbiased variance (divided by N − 1) | 2 |" in text
    assert "- eli: grading it took longer than 900 s and was stopped" in text
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=100)
    console.print(ClassReportView(summary, quick_kit.course, Translator("es")))
    screen = console.file.getvalue()
    assert "informe de la clase" in screen and "50 %" in screen and "unbiased_variance" in screen
    assert "primer fallo:" in screen and "valores" in screen
    for language in ("en", "es"):  # at 80 columns every column of the per-exercise table keeps its header
        t = Translator(language)
        console = Console(file=io.StringIO(), width=80, color_system=None)
        console.print(ClassReportView(summary, quick_kit.course, t))
        screen = console.file.getvalue()
        assert max(cell_len(line) for line in screen.splitlines()) <= 80
        start = screen.index(t("batch.report.per_exercise"))
        table = screen[start:screen.index("───", start)]  # the title and the table's header
        for label in ("exercise", "max", "mean", "median", "full", "zero", "not_started", "spread"):
            for word in t(f"batch.report.{label}").split():
                assert re.search(rf"(?<!\S){re.escape(word)}(?!\S)", table), (language, word, table)


# -- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["/no/such/folder"], "is not a folder"),
    (["{tmp}", "--jobs", "0"], "--jobs must be at least 1"),
    (["{tmp}", "--seed", "abc"], "is not an integer"),
    (["{tmp}"], "no student folders"),
])
def test_usage_errors_are_one_line(course, tmp_path, args, message):
    result = run_grade("batch", *[a.format(tmp=tmp_path) for a in args], course=course)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


# -- which nbgrader assignment ---------------------------------------------------------------------


def notebooks_in(folder: Path, course, names: list[str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names or [f"{n}.ipynb" for n in notebook_names(course).values()]:
        (folder / name).write_text("{}")


def test_the_assignment_is_the_one_holding_the_course_notebooks(quick_kit, tmp_path):
    course = quick_kit.course
    notebooks_in(tmp_path / "alice" / "ps1", course)
    notebooks_in(tmp_path / "bob" / "ps1", course)
    notebooks_in(tmp_path / "bob" / "essay", course, ["essay.ipynb"])  # another course's notebook
    make_submission(tmp_path / "carol")  # plain files
    assert resolve_assignment(tmp_path, course, None) == "ps1"
    assert resolve_assignment(tmp_path, course, "ps1") == "ps1"
    assert resolve_assignment(tmp_path / "carol", course, None) is None  # no student has subfolders


@pytest.mark.parametrize("asked, found", [(None, ["hw2", "ps1"]), ("nope", ["hw2", "ps1"])])
def test_an_ambiguous_or_missing_assignment_is_refused(quick_kit, tmp_path, asked, found):
    notebooks_in(tmp_path / "alice" / "ps1", quick_kit.course)
    notebooks_in(tmp_path / "alice" / "hw2", quick_kit.course)
    notebooks_in(tmp_path / "bob" / "hw2", quick_kit.course)
    with pytest.raises(AssignmentError) as error:
        resolve_assignment(tmp_path, quick_kit.course, asked)
    assert (error.value.asked, error.value.found) == (asked, found)


def test_several_assignments_are_a_usage_error_before_anything_is_written(course, quick_kit, tmp_path):
    klass = tmp_path / "submitted"
    notebooks_in(klass / "alice" / "ps1", quick_kit.course)
    notebooks_in(klass / "alice" / "hw2", quick_kit.course)
    result = run_grade("batch", str(klass), course=course)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "several nbgrader assignments (hw2, ps1): choose one with --assignment NAME" in result.stderr
    assert not (tmp_path / "submitted-grades").exists()



# -- one pytest session for a grading process's submissions ------------------------------------------


def test_one_session_grades_each_submission_as_grade_does(quick_kit, tmp_path, monkeypatch):
    """A grading process runs the checks of all its submissions in one pytest session: each
    report is the one `grade` makes of that folder alone (a right one after a hang, a stub after
    a mistake...), and a failure of the kit on one submission is that submission's error only."""
    from autograder.grading import runner

    classroom = tmp_path / "submitted"
    files = {"right": {}, "hang": {"optim.py": mutate("optim.py", "def sgd_step(", "def _sgd_step(")
                                   + "\n\ndef sgd_step(*args, **kwargs):\n    while True:\n        pass\n"},
             "mistake": {"batchnorm.py": mutate("batchnorm.py", "x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps")},
             "kit_fails": {}, "stubs": None, "again": {}}
    for student, changes in files.items():
        make_submission(classroom / student, changes, base=EXERCISES if changes is None else SOLUTIONS)
    output = tmp_path / "grades"
    jobs = [{"student": s, "paths": [str(classroom / s)], "folder": str(output / "submissions" / s),
             "assignment": None, "seed": 40 + i, "feedback": None, "hidden": [str(classroom), str(output)]}
            for i, s in enumerate(files)]
    failing = runner.not_started

    def fails_for_one(course, directory):
        if directory.name == "kit_fails":
            raise RuntimeError("the kit broke on this one")
        return failing(course, directory)

    monkeypatch.setattr(runner, "not_started", fails_for_one)
    grader = Grader(quick_kit, "en")
    records = []
    try:
        grader.grade_all(jobs, records.append)
    finally:
        grader.close()
    assert [r["student"] for r in records] == list(files)
    errors = {r["student"]: r["error"] for r in records if r["error"]}
    assert errors == {"kit_fails": {"kind": "kit", "detail": "RuntimeError: the kit broke on this one"}}
    t = Translator("en")
    for record, job in zip(records, jobs):
        if record["error"]:
            continue
        alone = grade(quick_kit, Path(job["folder"]), seed=job["seed"], reference=make_reference(quick_kit, job["seed"]))
        alone.quiz = quiz_for_report(quick_kit, Path(job["folder"]))
        expected = report_to_json(alone, quick_kit.course, t)
        for data in (expected, record["report"]):
            data.pop("duration_seconds")
        assert record["report"] == expected, record["student"]
    scores = {r["student"]: r["report"]["score"] for r in records if r["report"]}
    assert scores["right"] == scores["again"] > scores["mistake"] > scores["stubs"] == 0
    assert scores["hang"] < scores["right"]
