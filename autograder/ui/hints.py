"""Hints, revealed one at a time: ``grade hint`` and the h key of ``grade watch``.

An exercise's hints in course.yml go from the idea to the formula (or the shapes) to the steps.
When the latest grading recognised a misconception that has a hint of its own
(``misconceptions.<id>.hint`` in the catalogs), that hint comes next, once; then the course's
hints go on. An exercise that passes reveals nothing. The state file counts what was revealed
(`State.hints`, `State.misconception_hints`), so the report can say how many hints were used.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.text import Text

from autograder.arguments import TitledPanel
from autograder.course import Exercise
from autograder.grading.results import ExerciseResult
from autograder.i18n import Translator, catalog
from autograder.state import State


def recognised_misconception(result: ExerciseResult | None) -> str | None:
    """The first misconception named by a failing check that has a hint of its own."""
    for check in result.checks if result is not None else ():
        feedback = check.feedback
        if check.outcome == "failed" and feedback is not None and feedback.misconception:
            if f"misconceptions.{feedback.misconception}.hint" in catalog("en"):
                return feedback.misconception
    return None


@dataclass
class Reveal:
    """The hints of one exercise revealed so far, and what this request added."""

    exercise: Exercise
    shown: int
    """How many of the course's hints are revealed."""
    misconceptions: list[str]
    """The misconceptions whose hint is revealed, in order."""
    newest: int | str | None
    """What was just revealed: a course hint's number, a misconception, or None (nothing)."""
    passed: bool = False
    """The exercise passes, so nothing was revealed."""

    @property
    def used(self) -> int:
        return self.shown + len(self.misconceptions)


def reveal_next(state: State, exercise: Exercise, result: ExerciseResult | None) -> Reveal:
    """Reveal the next hint of `exercise` given its latest `result` (None: not graded), and
    record it in `state` (not saved here)."""
    shown = int(state.hints.get(exercise.id, 0))
    if result is not None and result.status == "passed":
        return Reveal(exercise, shown, list(state.misconception_hints.get(exercise.id, [])), None, passed=True)
    misconception = recognised_misconception(result)
    if misconception is not None and state.reveal_misconception_hint(exercise.id, misconception):
        newest: int | str | None = misconception
    else:
        revealed = state.reveal_hint(exercise.id, len(exercise.hints))
        newest = revealed if revealed > shown else None
        shown = revealed
    return Reveal(exercise, shown, list(state.misconception_hints.get(exercise.id, [])), newest)


@dataclass
class HintView:
    """The hints of one exercise revealed so far, the newest last and highlighted."""

    reveal: Reveal
    t: Translator
    more: str = "hint.more"
    """The key of the line saying how to see the next hint."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, reveal = self.t, self.reveal
        exercise = reveal.exercise
        if reveal.passed:
            yield Text(t("hint.passed", exercise=exercise.id), style="bold green")
            return
        panels = [(number, self.course_hint(number)) for number in range(1, reveal.shown + 1)]
        panels += [(misconception, self.misconception_hint(misconception)) for misconception in reveal.misconceptions]
        newest = reveal.newest if reveal.newest is not None else (panels[-1][0] if panels else None)
        panels.sort(key=lambda item: item[0] == newest)  # the newest last, the others in order
        for key, (title, body) in panels:
            yield TitledPanel(body, title, border_style="cyan" if key == newest else "dim")
        if reveal.shown >= len(exercise.hints):
            yield Text(t("hint.last", exercise=exercise.id, count=reveal.used), style="dim")
        else:
            yield Text(t(self.more, exercise=exercise.id, count=reveal.used), style="dim")

    def course_hint(self, number: int) -> tuple[str, Text]:
        t, exercise = self.t, self.reveal.exercise
        level = t(f"hint.level.{min(number, 3)}")
        title = t("hint.heading", number=number, total=len(exercise.hints), level=level, exercise=exercise.id)
        return title, Text(t.text(exercise.hints[number - 1]))

    def misconception_hint(self, misconception: str) -> tuple[str, Group]:
        t = self.t
        title = t("hint.mistake_heading", exercise=self.reveal.exercise.id)
        body = Group(Text(t("report.misconception", title=t(f"misconceptions.{misconception}.title")),
                          style="bold magenta"),
                     Text(t(f"misconceptions.{misconception}.hint")))
        return title, body
