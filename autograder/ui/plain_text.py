"""Plain-text views, for outputs shown in a fixed-width font without terminal colours: a
notebook's test cell (nbgrader) and Gradescope's test results."""

from __future__ import annotations

import io
from typing import Any


def plain_text(*renderables: object, width: int = 100) -> str:
    """Rich renderables as text."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False,
                      force_jupyter=False, highlight=False, emoji=False, legacy_windows=False)
    for renderable in renderables:
        console.print(renderable)
    lines = [line.rstrip() for line in console.file.getvalue().splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines) + "\n"


def exercise_text(course, result, t) -> str:
    """One exercise: its score line, then every check with every failure explained, as
    `grade EXERCISE --verbose` shows them (a file that does not import is explained here)."""
    from autograder.grading.results import points
    from autograder.ui.report import ExerciseView

    view = ExerciseView(result, course, t, verbose=True, standalone=True)
    heading = t("notebook.score", exercise=result.id, score=points(result.score), max=points(result.max_points))
    return heading + "\n" + plain_text(view)


def isolation_text(report, t) -> str:
    """The line stating the run's isolation level ('' when the report has none)."""
    from autograder.ui.report import isolation_line

    return isolation_line(report.isolation, t) + "\n" if report.isolation is not None else ""


def quiz_text(bank, result, judged, t) -> str:
    """The quiz: the first attempts that are wrong with their feedback (never the answer),
    unanswered questions, the score by topic. `judged` holds the verdicts on the attempts."""
    from autograder.grading.results import points
    from autograder.quiz.check import variant_of
    from autograder.quiz.views import AnswersView, QuizSummaryView

    numbers = {q.id: variant_of(q, result.seed) for q in bank.questions}
    heading = t("notebook.score", exercise="quiz", score=points(result.score), max=points(result.max_points))
    return heading + "\n" + plain_text(AnswersView(bank, judged, numbers, t), QuizSummaryView(result, bank, t))
