"""The class gradebook of `grade batch`: per student, per exercise and per check, with seeds.

Made from the batch's records (`autograder.instructor.batch.run`), written into the output folder:

- ``gradebook.csv``: one row per student: seed, total, each exercise's points, the quiz's,
  and for a student who could not be graded, why (the scores are then empty);
- ``checks.csv``: one row per student and check: outcome, failure stage, misconception (both
  empty for a check blocked by another exercise);
- ``gradebook.json``: all of it, with each student's command to grade them again.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from autograder.course import Course
from autograder.i18n import Translator
from autograder.state import atomic_write

GRADEBOOK_SCHEMA = 1


def reproduce_command(record: dict) -> str:
    """The command that grades this student again with the same inputs."""
    if not record.get("folder"):
        return ""
    return f"grade --submission {record['folder']} --seed {record['seed']}"


def error_text(record: dict, t: Translator) -> str:
    """Why a student could not be graded ("" when graded)."""
    error = record.get("error")
    if not error:
        return ""
    if not isinstance(error, dict):
        return str(error)
    return t(f"batch.errors.{error.get('kind', 'kit')}", detail=error.get("detail", ""))


def student_entry(record: dict, t: Translator) -> dict[str, Any]:
    """One student in the gradebook: scores, per-exercise checks (without the bulky details
    that ``results/<student>.json`` keeps), seed and how to reproduce."""
    report = record.get("report")
    entry: dict[str, Any] = {
        "student": record["student"], "seed": record["seed"], "kind": record.get("kind"),
        "source": record.get("source"), "folder": record.get("folder"),
        "reproduce": reproduce_command(record), "graded_at": record.get("graded_at"),
        "seconds": record.get("seconds"), "error": error_text(record, t) or None,
        "score": None, "max_score": None, "exercises": [], "quiz": None,
    }
    if report is None:
        return entry
    entry.update(score=report["score"], max_score=report["max_score"])
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


def gradebook_json(records: list[dict], course: Course, t: Translator) -> dict[str, Any]:
    return {
        "schema_version": GRADEBOOK_SCHEMA,
        "course": t.text(course.title),
        "language": t.language,
        "exercises": [{"id": e.id, "title": t.text(e.title), "max": e.points} for e in course.exercises],
        "quiz_max": course.quiz.points if course.quiz else None,
        "students": [student_entry(record, t) for record in records],
    }


def gradebook_rows(records: list[dict], course: Course, t: Translator) -> list[list[Any]]:
    """``gradebook.csv``: a header, then one row per student."""
    quiz = ["quiz"] if course.quiz else []
    rows: list[list[Any]] = [["student", "seed", "score", "max_score", *course.ids, *quiz, "error", "reproduce"]]
    for record in records:
        entry = student_entry(record, t)
        scores = {e["id"]: e["score"] for e in entry["exercises"]}
        quiz_score = [entry["quiz"]["score"] if entry["quiz"] else ""] if quiz else []
        graded = entry["score"] is not None
        rows.append([entry["student"], entry["seed"], entry["score"] if graded else "",
                     entry["max_score"] if graded else "", *[scores.get(i, "") for i in course.ids],
                     *(quiz_score if graded else [""] * len(quiz)), entry["error"] or "", entry["reproduce"]])
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


def write(records: list[dict], course: Course, output: Path, t: Translator) -> list[Path]:
    """Write the three gradebook files (atomically); return their paths."""
    files = {
        output / "gradebook.csv": _csv(gradebook_rows(records, course, t)),
        output / "checks.csv": _csv(check_rows(records)),
        output / "gradebook.json": json.dumps(gradebook_json(records, course, t), ensure_ascii=False, indent=1),
    }
    for path, text in files.items():
        atomic_write(path, text.encode("utf-8"))
    return list(files)


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
