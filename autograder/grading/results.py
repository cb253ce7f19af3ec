"""Grading results as plain data; scores are derived, never stored.

``GradeReport`` ⊃ ``ExerciseResult`` ⊃ ``CheckResult``, and ``GradeReport`` ⊃ ``QuizResult`` ⊃
``QuestionResult`` for the theory quiz. Renderers (terminal, JSON, nbgrader,
Gradescope) read these; nothing here knows how it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from autograder.course import DEFAULT_CONTRACT_SHARE
from autograder.grading.feedback import Feedback
from autograder.grading.gradcheck import GradientRow
from autograder.i18n import Msg
from autograder.sandbox.isolation import Isolation


def points(value: float) -> str:
    """A score as people write it: 15, 6.67, 0.5."""
    return f"{value:g}"

Outcome = Literal["passed", "failed", "blocked", "not_started"]
Status = Literal["passed", "failed", "blocked", "not_started"]
Kind = Literal["math", "contract"]


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
    kind: Kind = "math"
    """math: values, gradients or statistics against PyTorch; contract: a rule of the kit's API
    (edge cases, validation, dtype), stated in the stub's docstring and weighed apart."""

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    @property
    def contract_miss(self) -> bool:
        """It failed because a contract rule was broken (`Feedback.rule`), not on a value."""
        return self.outcome == "failed" and self.feedback is not None and self.feedback.rule is not None


@dataclass
class ExerciseResult:
    """All checks of one exercise."""

    id: str
    max_points: float
    checks: list[CheckResult] = field(default_factory=list)
    not_started: bool = False
    """The student's functions are still the untouched stubs."""
    notes: list[Msg] = field(default_factory=list)
    """Advice that costs no points (e.g. "this looks like Python loops")."""
    contract_share: float = DEFAULT_CONTRACT_SHARE
    """The share of `max_points` the contract checks weigh together, split equally among them;
    the math checks share the rest equally. When all checks are of one kind, they share all."""

    @property
    def passed_checks(self) -> int:
        return sum(check.passed for check in self.checks)

    def worth(self, check: CheckResult) -> float:
        """What `check` is worth (unrounded): see `contract_share`."""
        contract = sum(c.kind == "contract" for c in self.checks)
        if contract in (0, len(self.checks)):
            return self.max_points / len(self.checks)
        if check.kind == "contract":
            return self.max_points * self.contract_share / contract
        return self.max_points * (1 - self.contract_share) / (len(self.checks) - contract)

    @property
    def score(self) -> float:
        return round(sum(self.worth(check) for check in self.checks if check.passed), 2)

    @property
    def waiting(self) -> dict[str, float]:
        """Points of the checks blocked by another exercise, by that exercise (in the order
        first met): they can come back once it passes."""
        found: dict[str, float] = {}
        for check in self.checks:
            if check.outcome == "blocked" and check.blocked_by:
                found[check.blocked_by] = found.get(check.blocked_by, 0.0) + self.worth(check)
        return {exercise: round(value, 2) for exercise, value in found.items()}

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
        """The failing check to show first: wrong answers, then contract misses, then blocked
        checks."""
        failing = [check for check in self.checks if not check.passed]
        failing.sort(key=lambda check: (check.outcome == "blocked", check.contract_miss))
        return failing[0] if failing else None

    @property
    def contract_points(self) -> float:
        """What the contract checks weigh together."""
        return round(sum(self.worth(check) for check in self.checks if check.kind == "contract"), 2)

    @property
    def missed_rules(self) -> list[str]:
        """The contract rules broken, in check order, each once."""
        return list(dict.fromkeys(check.feedback.rule for check in self.checks if check.contract_miss))


@dataclass
class QuestionResult:
    """One question of the theory quiz. Only the first attempt scores; later ones are practice."""

    id: str
    topic: str
    exercise: str | None = None
    """The exercise this question is a checkpoint of."""
    answered: bool = False
    """There is a first attempt."""
    correct: bool = False
    """The first attempt is right: what scores."""
    practised: bool = False
    """Wrong at the first attempt, right at a later one (practice: not scored)."""
    attempts: int = 0
    closed: bool = False
    """The explanation has been shown: answered right, the answer asked for, or (true/false)
    answered once."""


@dataclass
class QuizResult:
    """The theory quiz: every question of the bank, answered or not. Each question right at
    the first attempt is worth ``max_points / len(questions)``."""

    max_points: float
    questions: list[QuestionResult]
    source: Literal["state", "file", "key", "none"] = "none"
    """Where the answers come from: the student's state file, an answers file, the key, nowhere."""
    seed: int | None = None
    """The student seed the numeric questions were drawn with."""
    error: str | None = None
    """Why the answers file could not be read (then nothing counts)."""

    @property
    def answered(self) -> int:
        return sum(question.answered for question in self.questions)

    @property
    def correct(self) -> int:
        """Questions right at the first attempt (what scores)."""
        return sum(question.correct for question in self.questions)

    @property
    def practised(self) -> int:
        """Questions wrong at the first attempt and right later, in practice (not scored)."""
        return sum(question.practised for question in self.questions)

    @property
    def score(self) -> float:
        return round(self.max_points * self.correct / len(self.questions), 2) if self.questions else 0.0

    def checkpoint(self, exercise_id: str) -> list[QuestionResult]:
        return [question for question in self.questions if question.exercise == exercise_id]


@dataclass
class GradeReport:
    """One grading run over one folder of student code."""

    directory: str
    seed: int
    exercises: list[ExerciseResult]
    duration: float = 0.0
    quiz: QuizResult | None = None
    """The theory quiz, when the whole course was graded; its points add to the total."""
    isolation: Isolation | None = None
    """What walled the student's code off from the kit during this run (every report says)."""

    @property
    def score(self) -> float:
        quiz = self.quiz.score if self.quiz else 0.0
        return round(sum(exercise.score for exercise in self.exercises) + quiz, 2)

    @property
    def max_score(self) -> float:
        quiz = self.quiz.max_points if self.quiz else 0.0
        return round(sum(exercise.max_points for exercise in self.exercises) + quiz, 2)

    @property
    def all_passed(self) -> bool:
        return all(exercise.status == "passed" for exercise in self.exercises)

    def exercise(self, exercise_id: str) -> ExerciseResult:
        return next(e for e in self.exercises if e.id == exercise_id)
