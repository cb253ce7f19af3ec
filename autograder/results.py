"""Grading results as plain data; scores are derived, never stored.

``GradeReport`` ⊃ ``ExerciseResult`` ⊃ ``CheckResult``. Renderers (terminal, JSON, nbgrader,
Gradescope) read these; nothing here knows how it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from autograder.feedback import Feedback
from autograder.gradcheck import GradientRow
from autograder.i18n import Msg

Outcome = Literal["passed", "failed", "blocked", "not_started"]
Status = Literal["passed", "failed", "blocked", "not_started"]


@dataclass
class CheckResult:
    """One check of one exercise."""

    id: str
    """Stable id, ``<exercise>::<check name>``."""
    exercise: str
    title: Msg
    outcome: Outcome
    feedback: Feedback | None = None
    """Why it failed (None when it passed)."""
    blocked_by: str | None = None
    """The prerequisite exercise whose failure stopped this check."""
    output: str = ""
    """What the student's code printed during the check (truncated)."""
    output_bytes: int = 0
    """How much it printed in all."""
    duration: float = 0.0
    gradients: list[GradientRow] = field(default_factory=list)
    """The gradient-check view of a backward check (empty for other checks)."""

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass
class ExerciseResult:
    """All checks of one exercise."""

    id: str
    max_points: float
    checks: list[CheckResult] = field(default_factory=list)
    not_started: bool = False
    """The student's functions are still the untouched stubs."""

    @property
    def passed_checks(self) -> int:
        return sum(check.passed for check in self.checks)

    @property
    def score(self) -> float:
        if not self.checks:
            return 0.0
        return round(self.max_points * self.passed_checks / len(self.checks), 2)

    @property
    def status(self) -> Status:
        if self.not_started:
            return "not_started"
        if self.checks and all(check.passed for check in self.checks):
            return "passed"
        failing = [check for check in self.checks if not check.passed]
        if failing and all(check.outcome == "blocked" for check in failing):
            return "blocked"
        return "failed"

    @property
    def first_failure(self) -> CheckResult | None:
        """The failing check to show first: real failures before blocked ones."""
        failing = [check for check in self.checks if not check.passed]
        failing.sort(key=lambda check: check.outcome == "blocked")
        return failing[0] if failing else None


@dataclass
class GradeReport:
    """One grading run over one folder of student code."""

    directory: str
    seed: int
    exercises: list[ExerciseResult]
    duration: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(exercise.score for exercise in self.exercises), 2)

    @property
    def max_score(self) -> float:
        return round(sum(exercise.max_points for exercise in self.exercises), 2)

    @property
    def all_passed(self) -> bool:
        return all(exercise.status == "passed" for exercise in self.exercises)

    def exercise(self, exercise_id: str) -> ExerciseResult:
        return next(e for e in self.exercises if e.id == exercise_id)
