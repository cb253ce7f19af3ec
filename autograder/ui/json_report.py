"""The report as JSON for machines: ``grade --json`` (schema in ``report.schema.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.course import Course
from autograder.grading.results import CheckResult, ExerciseResult, GradeReport
from autograder.i18n import Translator
from autograder.quiz.answers import quiz_to_json

SCHEMA_VERSION = 2  # 2: checks carry kind, points and the contract rule; exercises the waiting points
SCHEMA_FILE = Path(__file__).resolve().parent / "report.schema.json"


def report_to_json(report: GradeReport, course: Course, t: Translator,
                   hints: dict[str, int] | None = None) -> dict[str, Any]:
    """The whole report; messages are rendered in the translator's language. `hints` is how
    many hints the student used per exercise (known when grading their own folder)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "course": t.text(course.title),
        "directory": report.directory,
        "seed": report.seed,
        "language": t.language,
        "score": report.score,
        "max_score": report.max_score,
        "passed": report.all_passed,
        "duration_seconds": round(report.duration, 3),
        "exercises": [exercise_to_json(e, course, t, None if hints is None else hints.get(e.id, 0))
                      for e in report.exercises],
        "quiz": quiz_to_json(report.quiz) if report.quiz is not None else None,
        "isolation": isolation_to_json(report.isolation, t) if report.isolation is not None else None,
    }


def isolation_to_json(isolation, t: Translator) -> dict[str, Any]:
    """The isolation level of the run, what it protects, and the report's line about it."""
    from autograder.ui.report import isolation_line

    return {"level": isolation.label, "protects": list(isolation.protects),
            "dropped_user": isolation.dropped_user, "message": isolation_line(isolation, t)}


def exercise_to_json(result: ExerciseResult, course: Course, t: Translator,
                     hints_used: int | None = None) -> dict[str, Any]:
    return {
        "id": result.id,
        "title": t.text(course.exercise(result.id).title),
        "status": result.status,
        "score": result.score,
        "max": result.max_points,
        "contract_share": result.contract_share,
        "contract_points": result.contract_points,
        "waiting": result.waiting,
        "checks": [check_to_json(c, t, points=result.worth(c)) for c in result.checks],
        "notes": [t(note) for note in result.notes],
        "hints_used": hints_used,
    }


def check_to_json(check: CheckResult, t: Translator, *, points: float | None = None) -> dict[str, Any]:
    """One check; `points` is what it is worth in its exercise (`ExerciseResult.worth`)."""
    feedback = check.feedback
    message = ""
    if check.outcome == "blocked":
        message = t("report.blocked_check", exercise=check.blocked_by)
    elif feedback is not None:
        message = t(feedback.summary)
    rule = feedback.rule if check.contract_miss else None
    return {
        "id": check.id,
        "title": t(check.title),
        "passed": check.passed,
        "outcome": check.outcome,
        "kind": check.kind,
        "points": points,
        "message": message,
        "rule": rule,
        "rule_text": t(f"contract.rules.{rule}.rule") if rule else None,
        "fix": t(f"contract.rules.{rule}.fix") if rule else None,
        "stage": feedback.stage if feedback else None,
        "details": [t(d) for d in feedback.details] if feedback else [],
        "data": feedback.data if feedback else {},
        "location": feedback.location if feedback else None,
        "misconception": feedback.misconception if feedback else None,
        "misconception_title": t(f"misconceptions.{feedback.misconception}.title")
        if feedback and feedback.misconception else None,
        "misconception_explanation": t(f"misconceptions.{feedback.misconception}.explanation")
        if feedback and feedback.misconception else None,
        "blocked_by": check.blocked_by,
        "output": check.output,
        "output_bytes": check.output_bytes,
        "gradients": [{"name": row.name, "vs_autograd": row.vs_autograd, "vs_numerical": row.vs_numerical,
                       "verdict": row.verdict} for row in check.gradients],
    }
