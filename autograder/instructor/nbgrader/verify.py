"""nbgrader's scores checked against the kit's: ``grade batch`` over an nbgrader ``submitted/``
tree reads nbgrader's gradebook (``gradebook.db``, next to ``submitted/``), lists every student
whose score for a test cell differs from the kit's (`check`), and with ``--write-gradebook``
puts the kit's scores into it.

Why: ``nbgrader autograde`` runs the hidden tests in the same kernel as every cell of the
student's notebook, so a cell of the student's can replace the functions the hidden block
calls, or the score it publishes; ``grade batch`` reads only the notebooks' code and grades it
in the sandbox, so its score cannot be changed that way. A difference is where to look.

The test cells are the ones `grade export nbgrader` writes: ``tests_<exercise>`` worth the
exercise's points, and ``quiz_tests``. The kit's score is written as the grade's
``manual_score``, which nbgrader uses instead of the autograder's (a later ``nbgrader
autograde`` does not overwrite it).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Course
from autograder.instructor.notebooks import QUIZ_MODULE, notebook_names, notebook_of_exercise

TOLERANCE = 0.01
DATABASE = "gradebook.db"
QUIZ = "quiz"


@dataclass(frozen=True)
class Difference:
    """One test cell of one student where nbgrader and the kit disagree."""

    student: str
    test: str
    """An exercise id, or "quiz"."""
    nbgrader: float | None
    kit: float | None


def default_database(directory: Path) -> Path | None:
    """nbgrader's gradebook for a ``submitted/`` folder: ``gradebook.db`` in the course folder."""
    path = directory.parent / DATABASE
    return path if directory.name == "submitted" and path.is_file() else None


def cells(course: Course) -> dict[str, tuple[str, str]]:
    """Test -> (notebook name, grade cell id) of the exported notebooks."""
    names = notebook_names(course)
    found = {e.id: (names[notebook_of_exercise(course, e.id)], f"tests_{e.id}") for e in course.exercises}
    if QUIZ_MODULE in names:
        found[QUIZ] = (names[QUIZ_MODULE], "quiz_tests")
    return found


def kit_scores(record: dict) -> dict[str, float]:
    """Test -> the kit's score, from a batch record."""
    report = record.get("report") or {}
    scores = {e["id"]: float(e["score"]) for e in report.get("exercises", [])}
    if report.get("quiz"):
        scores[QUIZ] = float(report["quiz"]["score"])
    return scores


def _gradebook(database: Path):
    """nbgrader's gradebook (it runs ``alembic`` by name: this environment's comes first)."""
    from nbgrader.api import Gradebook

    here = str(Path(sys.executable).parent)
    if here not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")
    return Gradebook(f"sqlite:///{database.resolve()}")


def compare(records: list[dict], scores: dict[str, dict[str, float]]) -> list[Difference]:
    """Every test of every student graded by both whose scores differ (by more than a rounding)."""
    differences = []
    for record in records:
        theirs = scores.get(record["student"])
        if theirs is None or not record.get("report"):
            continue
        mine = kit_scores(record)
        for test in list(mine) + sorted(set(theirs) - set(mine)):
            a, b = theirs.get(test), mine.get(test)
            if a is None or b is None or abs(a - b) > TOLERANCE:
                differences.append(Difference(record["student"], test, a, b))
    return differences


def check(database: Path, assignment: str, course: Course, records: list[dict], *,
          write: bool = False) -> tuple[list[Difference], int]:
    """`compare` the records with nbgrader's gradebook and, with `write`, put the kit's score of
    every graded student into it (each test cell's ``manual_score``; students nbgrader has no
    submission for are left out). The differences found before writing, and the number of
    grades written."""
    from nbgrader.api import MissingEntry

    tests = {(notebook, cell): test for test, (notebook, cell) in cells(course).items()}
    scores: dict[str, dict[str, float]] = {}
    written = 0
    with _gradebook(database) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            mine = scores.setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    test = tests.get((notebook.name, grade.name))
                    if test is not None:
                        mine[test] = float(grade.score)
        differences = compare(records, scores)
        for record in records if write else []:
            for test, score in kit_scores(record).items() if record.get("report") else []:
                notebook, cell = cells(course)[test]
                try:
                    grade = gradebook.find_grade(cell, notebook, assignment, record["student"])
                except MissingEntry:
                    continue
                grade.manual_score = score
                grade.needs_manual_grade = False
                written += 1
        gradebook.db.commit()
    return differences, written
