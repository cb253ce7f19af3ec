"""A TA's everyday tools around `grade batch`, on one small class graded once through the real
command: statuses and the roster, late penalties from file times and from an LMS export, the
LMS CSVs (no absolute path anywhere), per-student feedback files equal to what `grade` shows,
`--only`, shards joined by `merge` into the same gradebook, and nbgrader's scores checked
against the kit's (and written into its gradebook)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from support import EXERCISES, ROOT, SOLUTIONS, make_submission, mutate

from autograder.instructor.notebooks import notebook_names

GRADE = Path(sys.executable).with_name("grade")
SEED = 4321
DUE = datetime(2026, 1, 10, 23, 59, tzinfo=timezone(timedelta(hours=1)))
DEADLINE = f"""
deadline:
  due: {DUE.isoformat()}
  grace_minutes: 15
  penalty_per_day: 10
  max_penalty: 30
visibility:
  quiz: hidden
"""
DROPOUT_MISTAKE = ("x * keep / (1.0 - p)", "x * keep * (1.0 - p)")


def run_grade(*args: str, course: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRADE_LANG"}
    env.update({"COLUMNS": "100", "GRADE_STATE_DIR": str(course.parent / "state")})
    return subprocess.run([str(GRADE), *args, "--course", str(course)], env=env, capture_output=True, text=True,
                          check=False, timeout=600, cwd=cwd)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tools-course")
    text = re.sub(r"seconds_per_call: *\d+", "seconds_per_call: 2", (ROOT / "course.yml").read_text())
    (root / "course.yml").write_text(text + DEADLINE)
    for name in ("quiz.yml", "lessons", "exercises", "solutions"):
        (root / name).symlink_to(ROOT / name)
    return root / "course.yml"


def at(moment: datetime, folder: Path) -> None:
    for path in folder.rglob("*"):
        os.utime(path, (moment.timestamp(), moment.timestamp()))


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tools") / "class"
    ann = make_submission(root / "ann")  # correct, 2 days and an hour late by its files' times
    at(DUE + timedelta(days=2, hours=1), ann)
    bob = make_submission(root.parent / "bob-files", {"dropout.py": mutate("dropout.py", *DROPOUT_MISTAKE)})
    with zipfile.ZipFile(root / "bob.zip", "w") as archive:  # a zip, on time
        for path in bob.iterdir():
            archive.write(path, f"bob/{path.name}")
    os.utime(root / "bob.zip", ((DUE - timedelta(hours=1)).timestamp(),) * 2)
    make_submission(root / "cat" / "deep" / "down", base=EXERCISES)  # stubs only
    (root / "dan").mkdir()
    (root / "dan" / "batchnorm.txt").write_text((SOLUTIONS / "batchnorm.py").read_text())
    (root / "eve").mkdir()  # empty
    make_submission(root / "gus")  # times from the LMS export below
    return root


@pytest.fixture(scope="module")
def lms(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("lms")
    (folder / "roster.csv").write_text("student,email,id number\n" + "".join(
        f"{s},{s}@uni.example,{i}\n" for i, s in enumerate(["ann", "bob", "cat", "dan", "eve", "fay", "gus"])))
    (folder / "times.csv").write_text("Student,Submitted_At\n"
                                      f"gus,{(DUE + timedelta(minutes=20)).isoformat()}\n")
    return folder / "roster.csv", folder / "times.csv"


@pytest.fixture(scope="module")
def graded(course, klass, lms, tmp_path_factory):
    output = tmp_path_factory.mktemp("tools-out") / "grades"
    result = run_grade("batch", str(klass), "--output", str(output), "--seed", str(SEED), "--roster", str(lms[0]),
                       "--submitted-at", str(lms[1]), course=course)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result, output


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def book(output: Path) -> dict[str, dict]:
    return {entry["student"]: entry for entry in json.loads((output / "gradebook.json").read_text())["students"]}


def test_every_student_has_a_row_with_a_status(graded):
    entries = book(graded[1])
    assert {s: e["status"] for s, e in entries.items()} == {
        "ann": "graded", "bob": "graded", "cat": "not_started", "dan": "not_submitted", "eve": "not_submitted",
        "fay": "not_submitted", "gus": "graded"}
    assert entries["dan"]["problems"] == ["batchnorm.txt was not graded: the course expects batchnorm.py"]
    assert entries["bob"]["sources"] == ["bob.zip"] and entries["bob"]["exercises"][5]["status"] == "failed"
    assert "graded: 3 · not started: 1 · not submitted: 3" in graded[0].stdout
    assert "dan: batchnorm.txt was not graded" in graded[0].stdout


def test_late_penalties_from_file_times_and_the_lms_export(graded):
    entries = book(graded[1])
    assert (entries["ann"]["days_late"], entries["ann"]["penalty"]) == (3, 30)  # 2 days 1 h: 3 started days, max 30
    assert entries["ann"]["final_score"] == round(entries["ann"]["score"] * 0.7, 2)
    assert (entries["bob"]["days_late"], entries["bob"]["final_score"]) == (0, entries["bob"]["score"])
    assert entries["gus"]["submitted_from"] == "lms" and entries["gus"]["days_late"] == 1  # 20 min: past the grace
    assert entries["gus"]["final_score"] == round(entries["gus"]["score"] * 0.9, 2)
    assert entries["fay"]["final_score"] is None and entries["fay"]["submitted_at"] is None


def test_lms_exports_are_ready_to_import_and_hold_no_absolute_path(graded, klass):
    output = graded[1]
    canvas = list(csv.reader(open(output / "canvas.csv", newline="")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         "Batch Normalization and Dropout"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "110.0"]
    finals = {e["student"]: e["final_score"] for e in book(output).values()}
    assert {row[3]: row[5] for row in canvas[2:]} == {s: "" if v is None else str(v) for s, v in finals.items()}
    moodle = rows(output / "moodle.csv")
    assert list(moodle[0]) == ["Student ID", "Email address", "ID number", "Grade", "Late penalty (%)", "Status"]
    assert {r["Student ID"]: (r["Email address"], r["Grade"], r["Status"]) for r in moodle}["ann"] == (
        "ann@uni.example", str(finals["ann"]), "graded")
    for path in output.glob("*.*"):
        text = path.read_text()
        for folder in (str(output), str(klass), str(ROOT), "/tmp/"):
            assert folder not in text, (path.name, folder)


def test_feedback_files_are_exactly_what_grade_shows(graded, course):
    output = graded[1]
    entry = book(output)["bob"]
    shown = run_grade("--submission", "bob", "--seed", str(entry["seed"]), course=course, cwd=output / "submissions")
    assert shown.returncode == 1, shown.stderr
    text = (output / "feedback" / "bob.md").read_text()
    assert text == f"```text\n{shown.stdout.rstrip()}\n```\n"
    assert "scale_by_keep" in text or "✘" in text
    html = (output / "feedback" / "bob.html").read_text()
    assert "<html" in html and "dropout" in html and str(output) not in html
    assert sorted(p.name for p in (output / "feedback").iterdir()) == [
        "ann.html", "ann.md", "bob.html", "bob.md", "cat.html", "cat.md", "gus.html", "gus.md"]
    for name in ("seed", str(SEED), "late", "penalty"):
        assert name not in text.lower()


def test_only_regrades_the_chosen_students(graded, course, klass, lms, tmp_path):
    output = tmp_path / "grades"
    shutil.copytree(graded[1], output)
    before = {p.name: p.read_bytes() for p in (output / "results").iterdir()}
    result = run_grade("batch", str(klass), "--output", str(output), "--seed", str(SEED), "--only", "bob", "eve",
                       "--roster", str(lms[0]), course=course)
    assert result.returncode == 0, result.stderr
    assert "Graded now: 2 · kept from an earlier run: 5" in result.stdout
    after = {p.name: p.read_bytes() for p in (output / "results").iterdir()}
    assert {name for name in after if after[name] != before[name]} == {"bob.json", "eve.json"}
    assert len(rows(output / "gradebook.csv")) == 7
    wrong = run_grade("batch", str(klass), "--output", str(output), "--only", "bbo", course=course)
    assert wrong.returncode == 2 and "no student 'bbo'" in wrong.stderr and "'bob'" in wrong.stderr
    assert wrong.stderr.count("\n") == 1


def test_shards_merged_give_the_same_gradebook(graded, course, klass, lms, tmp_path):
    parts = []
    for shard in (1, 2):
        part = tmp_path / f"part{shard}"
        result = run_grade("batch", str(klass), "--output", str(part), "--seed", str(SEED), "--roster", str(lms[0]),
                           "--shard", f"{shard}/2", course=course)
        assert result.returncode == 0, result.stderr
        parts.append(part)
    students = [{p.stem for p in (part / "results").glob("*.json")} for part in parts]
    assert not students[0] & students[1] and students[0] | students[1] == set(book(graded[1]))
    assert students[0] and students[1]
    merged = tmp_path / "merged"
    result = run_grade("batch", "merge", *map(str, parts), "--output", str(merged), "--roster", str(lms[0]),
                       "--submitted-at", str(lms[1]), course=course)
    assert result.returncode == 0, result.stderr
    assert "7 students from 2 folders merged" in result.stdout

    def comparable(output: Path) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "seed" or True} for row in rows(output / "gradebook.csv")]

    assert comparable(merged) == comparable(graded[1])
    assert sorted(p.name for p in (merged / "feedback").iterdir()) == sorted(
        p.name for p in (graded[1] / "feedback").iterdir())
    again = run_grade("batch", "merge", str(parts[0]), str(parts[0]), "--output", str(tmp_path / "x"), course=course)
    assert again.returncode == 2 and "in two of the folders" in again.stderr


@pytest.mark.parametrize("args, message", [
    (["--shard", "3/2"], "--shard takes K/N"),
    (["--shard", "x"], "--shard takes K/N"),
    (["--roster", "/no/such.csv"], "the roster cannot be read"),
    (["--write-gradebook"], "--write-gradebook needs nbgrader's gradebook"),
    (["--submitted-at", "{tmp}/times.csv"], "must name a student column"),
])
def test_usage_errors_of_the_new_flags(course, klass, tmp_path, args, message):
    (tmp_path / "times.csv").write_text("who,when\nann,2026-01-01\n")
    result = run_grade("batch", str(klass), "--output", str(tmp_path / "o"),
                       *[a.format(tmp=tmp_path) for a in args], course=course)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


# -- nbgrader's scores, checked -------------------------------------------------------------------


def nbgrader_course(kit, root: Path, students: dict[str, dict | None]) -> Path:
    """An nbgrader course folder: ``submitted/<student>/ps1`` holding the exported notebooks
    (dropout with a mistake for "mallory"), and a gradebook.db in which nbgrader gave every
    test cell full marks (what tampering with the kernel can obtain)."""
    from nbgrader.api import Gradebook

    from autograder.instructor.nbgrader.export import export
    from autograder.instructor.nbgrader.verify import cells

    export(kit, root / "export", assignment="ps1")
    names = notebook_names(kit.course)
    for student in students:
        folder = root / "course" / "submitted" / student / "ps1"
        shutil.copytree(root / "export" / "source" / "ps1", folder)
        if student == "mallory":
            path = folder / f"{names['dropout.py']}.ipynb"
            path.write_text(path.read_text().replace(*DROPOUT_MISTAKE))
    maxima = {e.id: e.points for e in kit.course.exercises} | {"quiz": kit.course.quiz.points}
    with Gradebook(f"sqlite:///{root / 'course' / 'gradebook.db'}") as gradebook:
        gradebook.add_assignment("ps1")
        for notebook in names.values():
            gradebook.add_notebook(notebook, "ps1")
        for test, (notebook, cell) in cells(kit.course).items():
            gradebook.add_grade_cell(cell, notebook, "ps1", max_score=maxima[test], cell_type="code")
        for student in students:
            gradebook.add_student(student)
            gradebook.add_submission("ps1", student)
            for test, (notebook, cell) in cells(kit.course).items():
                grade = gradebook.find_grade(cell, notebook, "ps1", student)
                grade.auto_score = maxima[test]
        gradebook.db.commit()
    return root / "course"


def test_nbgrader_scores_are_checked_and_can_be_replaced(kit, course, tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("PATH", f"{GRADE.parent}{os.pathsep}{os.environ.get('PATH', '')}")  # nbgrader runs alembic
    root = nbgrader_course(kit, tmp_path, {"alice": None, "mallory": None})
    seed = str(kit.course.policy.seed)  # the one nbgrader's hidden tests use
    result = run_grade("batch", str(root / "submitted"), "--seed", seed, "--write-gradebook", course=course)
    assert result.returncode == 0, result.stderr
    output = root / "submitted-grades"
    differences = rows(output / "nbgrader_differences.csv")
    assert [(d["student"], d["test"], d["nbgrader"]) for d in differences] == [("mallory", "dropout", "15")]
    assert float(differences[0]["kit"]) < 15
    assert "nbgrader's scores differ from the kit's for 1 students" in result.stdout
    assert "written into nbgrader's gradebook" in result.stdout

    kit_scores = {e["student"]: e["score"] for e in json.loads((output / "gradebook.json").read_text())["students"]}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        totals = {s.student.id: s.score for s in gradebook.assignment_submissions("ps1")}
    assert totals == pytest.approx(kit_scores) and totals["mallory"] < totals["alice"]


def test_canvas_export_as_roster_gives_canvas_its_own_ids(kit, tmp_path):
    from autograder.i18n import Translator
    from autograder.instructor.batch.gradebook import Context, lms_rows
    from autograder.instructor.submissions import read_roster

    (tmp_path / "roster.csv").write_text("Student,ID,SIS User ID,SIS Login ID,Section\n"
                                         "\"Alba, Ana\",101,U-1,ana,Grupo A\n\"Brun, Bea\",102,U-2,bea,Grupo B\n")
    roster = read_roster(tmp_path / "roster.csv")
    entries = [{"student": "ana", "final_score": 99.5, "penalty": 0, "submitted_at": None, "status": "graded"},
               {"student": "bea", "final_score": None, "penalty": 0, "submitted_at": None, "status": "not_submitted"}]
    rows = lms_rows(entries, kit.course, Context(roster=roster.columns, assignment="BN (ps1)"), "canvas",
                    Translator("es"))
    assert rows[0][-1] == "BN (ps1)"
    assert rows[2:] == [["Alba, Ana", "101", "U-1", "ana", "Grupo A", 99.5], ["Brun, Bea", "102", "U-2", "bea", "Grupo B", ""]]
    moodle = lms_rows(entries, kit.course, Context(roster=roster.columns), "moodle", Translator("es"))
    assert [row[-1] for row in moodle[1:]] == ["corregida", "sin entregar"]
