"""The class gradebook of `grade batch`: per student, per exercise and per check, with seeds.

Made from the batch's records (`autograder.instructor.batch.run`), written into the output
folder. No file holds an absolute path: the graded copy of a student's files is named
relative to the output folder (``submissions/<student>``), their upload by its name in the
class folder.

- ``gradebook.csv``: one row per student (`GRADEBOOK_COLUMNS`): status, seed, score, each
  exercise's points and the quiz's, the submission time, days late, penalty and final score,
  files found under the wrong name, why a student could not be graded, and the command that
  grades them again (run it from the output folder);
- ``checks.csv``: one row per student and check: outcome, failure stage, misconception (both
  empty for a check blocked by another exercise);
- ``gradebook.json``: all of it, with each check's message;
- ``canvas.csv`` and ``moodle.csv``: the final scores in the LMS's gradebook import format
  (`lms_rows`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.course import Course
from autograder.i18n import Translator
from autograder.instructor.late import Lateness, from_timestamp, lateness
from autograder.state import atomic_write

GRADEBOOK_SCHEMA = 2
STAGED = "submissions"


@dataclass
class Context:
    """What the gradebook adds to the records: who is on the roster, when each submitted."""

    roster: dict[str, dict[str, str]] = field(default_factory=dict)
    """Student id -> the roster's columns (lower-case names)."""
    times: dict[str, Any] = field(default_factory=dict)
    """Student id -> submission time from an LMS export (a datetime)."""
    assignment: str = ""
    """The assignment's name in the LMS exports (default: the course title)."""

    def lateness(self, record: dict, course: Course) -> Lateness:
        student = record["student"]
        if student in self.times:
            return lateness(course.deadline, self.times[student], "lms")
        if record.get("status") in ("graded", "not_started") and record.get("modified") is not None:
            return lateness(course.deadline, from_timestamp(record["modified"]), "files")
        return lateness(course.deadline, None, "")


def reproduce_command(record: dict) -> str:
    """The command that grades this student again with the same inputs (from the output folder)."""
    if not record.get("report") and not record.get("error"):
        return ""
    return f"grade --submission {STAGED}/{record['student']} --seed {record['seed']}"


def error_text(record: dict, t: Translator) -> str:
    """Why a student could not be graded ("" when graded)."""
    error = record.get("error")
    if not error:
        return ""
    if not isinstance(error, dict):
        return str(error)
    return t(f"batch.errors.{error.get('kind', 'kit')}", detail=error.get("detail", ""))


def problem_text(problem: dict, t: Translator) -> str:
    """One thing of an upload that was not used, in words."""
    return t(f"batch.problems.{problem.get('kind', 'bad_zip')}", file=problem.get("file", ""),
             expected=problem.get("expected", ""))


def student_entry(record: dict, course: Course, t: Translator, context: Context | None = None) -> dict[str, Any]:
    """One student in the gradebook: scores, per-exercise checks (without the bulky details
    that ``results/<student>.json`` keeps), lateness, seed and how to reproduce."""
    context = context or Context()
    report = record.get("report")
    late = context.lateness(record, course)
    entry: dict[str, Any] = {
        "student": record["student"], "status": record.get("status", "graded" if report else "error"),
        "seed": record["seed"], "sources": record.get("sources", []), "found": record.get("found", []),
        "problems": [problem_text(p, t) for p in record.get("problems", [])],
        "folder": f"{STAGED}/{record['student']}" if report or record.get("error") else None,
        "reproduce": reproduce_command(record), "graded_at": record.get("graded_at"),
        "seconds": record.get("seconds"), "error": error_text(record, t) or None,
        "score": None, "max_score": None, "exercises": [], "quiz": None,
        "submitted_at": late.submitted_at.isoformat(timespec="seconds") if late.submitted_at else None,
        "submitted_from": late.source or None, "days_late": late.days_late, "penalty": late.penalty,
        "final_score": None,
    }
    if report is None:
        return entry
    entry.update(score=report["score"], max_score=report["max_score"], final_score=late.apply(report["score"]))
    entry["exercises"] = [{
        "id": exercise["id"], "score": exercise["score"], "max": exercise["max"], "status": exercise["status"],
        "checks": [{"id": c["id"], "outcome": c["outcome"], "stage": c.get("stage"),
                    "misconception": c.get("misconception"), "message": c.get("message", "")}
                   for c in exercise["checks"]],
    } for exercise in report["exercises"]]
    quiz = report.get("quiz")
    if quiz:
        entry["quiz"] = {key: quiz.get(key) for key in ("score", "max", "questions", "answered", "correct", "source")}
    return entry


def gradebook_json(entries: list[dict], course: Course, t: Translator) -> dict[str, Any]:
    return {
        "schema_version": GRADEBOOK_SCHEMA,
        "course": t.text(course.title),
        "language": t.language,
        "exercises": [{"id": e.id, "title": t.text(e.title), "max": e.points} for e in course.exercises],
        "quiz_max": course.quiz.points if course.quiz else None,
        "deadline": _deadline_json(course),
        "students": entries,
    }


def _deadline_json(course: Course) -> dict | None:
    deadline = course.deadline
    if deadline is None:
        return None
    return {"due": deadline.aware(deadline.due).isoformat(), "grace_minutes": deadline.grace_minutes,
            "penalty_per_day": deadline.penalty_per_day, "max_penalty": deadline.max_penalty}


GRADEBOOK_COLUMNS = ["student", "status", "seed", "score", "max_score", "<exercise ids>", "quiz", "submitted_at",
                     "days_late", "penalty_percent", "final_score", "problems", "error", "reproduce"]


def gradebook_rows(entries: list[dict], course: Course) -> list[list[Any]]:
    """``gradebook.csv``: a header (`GRADEBOOK_COLUMNS`), then one row per student."""
    quiz = ["quiz"] if course.quiz else []
    at = GRADEBOOK_COLUMNS.index("<exercise ids>")
    rows: list[list[Any]] = [GRADEBOOK_COLUMNS[:at] + course.ids + quiz + GRADEBOOK_COLUMNS[at + 2:]]
    for entry in entries:
        scores = {e["id"]: e["score"] for e in entry["exercises"]}
        graded = entry["score"] is not None
        quiz_score = [entry["quiz"]["score"] if entry["quiz"] else "" for _ in quiz]
        dated = entry["submitted_at"] is not None
        rows.append([entry["student"], entry["status"], entry["seed"] if entry["folder"] else "", _cell(entry["score"]),
                     _cell(entry["max_score"]), *[scores.get(i, "") for i in course.ids],
                     *(quiz_score if graded else [""] * len(quiz)), entry["submitted_at"] or "",
                     entry["days_late"] if dated else "", entry["penalty"] if dated else "",
                     _cell(entry["final_score"]),
                     "; ".join(entry["problems"]), entry["error"] or "", entry["reproduce"]])
    return rows


def check_rows(records: list[dict]) -> list[list[Any]]:
    """``checks.csv``: a header, then one row per student and check."""
    rows: list[list[Any]] = [["student", "seed", "exercise", "check", "outcome", "stage", "misconception"]]
    for record in records:
        for exercise in (record.get("report") or {}).get("exercises", []):
            for check in exercise["checks"]:
                own = check["outcome"] != "blocked"  # a blocked check's stage is its blocker's
                rows.append([record["student"], record["seed"], exercise["id"], check["id"], check["outcome"],
                             (own and check.get("stage")) or "", (own and check.get("misconception")) or ""])
    return rows


# -- LMS imports ----------------------------------------------------------------------------------

CANVAS_IDS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Student ID", "Email address", "ID number", "Grade", "Late penalty (%)", "Status"]


def lms_rows(entries: list[dict], course: Course, context: Context, lms: str, t: Translator) -> list[list[Any]]:
    """The final scores as the LMS imports them.

    - Canvas (``canvas.csv``): ``Student, ID, SIS User ID, SIS Login ID, Section, <assignment>``
      and a second row ``Points Possible``; the identity columns come from the roster's columns
      of the same names (Canvas's own gradebook export is a valid roster), SIS Login ID
      defaulting to the student id. Canvas matches rows by ID, SIS User ID or SIS Login ID.
    - Moodle (``moodle.csv``): ``Student ID, Email address, ID number, Grade, Late penalty (%),
      Status``; in Moodle's CSV grade import map one identity column to the matching user
      field and Grade to the assignment.

    A student with nothing submitted has an empty grade (the LMS's own rule for missing work
    applies); everyone else, the final score after any late penalty.
    """
    assignment = context.assignment or t.text(course.title)
    maximum = course.total_points + (course.quiz.points if course.quiz else 0)
    if lms == "canvas":
        rows: list[list[Any]] = [CANVAS_IDS + [assignment], ["Points Possible", "", "", "", "", _cell(maximum)]]
        for entry in entries:
            cells = context.roster.get(entry["student"], {})
            named = cells.get("student") if cells.get("student") != entry["student"] else None
            rows.append([cells.get("student name") or cells.get("name") or named or entry["student"], cells.get("id", ""),
                         cells.get("sis user id", ""), cells.get("sis login id") or entry["student"],
                         cells.get("section", ""), _cell(entry["final_score"])])
        return rows
    rows = [MOODLE_COLUMNS]
    for entry in entries:
        cells = context.roster.get(entry["student"], {})
        rows.append([entry["student"], cells.get("email address") or cells.get("email", ""),
                     cells.get("id number") or cells.get("idnumber", ""), _cell(entry["final_score"]),
                     entry["penalty"] if entry["submitted_at"] else "", t(f"batch.status.{entry['status']}")])
    return rows


def _cell(value: float | None) -> Any:
    return "" if value is None else value


def write(records: list[dict], course: Course, output: Path, t: Translator,
          context: Context | None = None) -> list[Path]:
    """Write the gradebook files (atomically); return their paths."""
    context = context or Context()
    entries = [student_entry(record, course, t, context) for record in records]
    files = {
        output / "gradebook.csv": csv_text(gradebook_rows(entries, course)),
        output / "checks.csv": csv_text(check_rows(records)),
        output / "gradebook.json": json.dumps(gradebook_json(entries, course, t), ensure_ascii=False, indent=1),
        output / "canvas.csv": csv_text(lms_rows(entries, course, context, "canvas", t)),
        output / "moodle.csv": csv_text(lms_rows(entries, course, context, "moodle", t)),
    }
    for path, text in files.items():
        atomic_write(path, text.encode("utf-8"))
    return list(files)


def csv_text(rows: list[list[Any]]) -> str:
    """`rows` as CSV text (the kit's CSV files all end lines with a bare newline)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
