"""Rich terminal views of grading results, progress and hints.

Each view is an object that renders itself (``__rich_console__``), so the CLI prints it and the
tests render it into a fixed-width ``Console(file=io.StringIO(), width=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from autograder.course import Course, Exercise
from autograder.grading.gradcheck import CORRECT_BELOW, WRONG_FROM, GradientRow
from autograder.grading.results import CheckResult, ExerciseResult, GradeReport, points
from autograder.i18n import Translator

STATUS_STYLE = {"passed": "green", "failed": "red", "blocked": "yellow", "not_started": "dim"}
STATUS_ICON = {"passed": "✔", "failed": "✘", "blocked": "⧗", "not_started": "◌"}
OUTPUT_LINES = 12


def display_path(path: str | Path) -> str:
    """`path` relative to the current folder when it is inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def isolation_line(isolation, t: Translator) -> str:
    """One line: the isolation level a run used (`autograder.sandbox.isolation`) and what it
    protected."""
    return t("isolation.line", level=t(f"isolation.levels.{isolation.label}"),
             summary=t(f"isolation.summary.{isolation.summary_key}"))


def display_folder(path: str | Path) -> str:
    """A folder as `display_path` shows it, with a final slash ("exercises/")."""
    return display_path(path).rstrip("/") + "/"


def exercise_table(t: Translator, rows: list[tuple | None], width: int) -> Table:
    """Exercises as rows: id, title, status, points (and optional extra columns); None starts
    a new section (before subtotals and the total). The title is the column that gives way
    (ellipsis) when the terminal is narrow."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    cells = [row for row in rows if row is not None]
    fixed = [max(_cell_width(row[i]) for row in cells) for i in range(len(cells[0]))]
    fixed[0] = max(fixed[0], len(t("report.exercise")))
    title_width = max(8, width - (sum(fixed) - fixed[1]) - 3 * (len(fixed) - 1) - 2)
    table.add_column(t("report.exercise"), no_wrap=True, style="bold", min_width=fixed[0])
    table.add_column("", overflow="ellipsis", no_wrap=True, style="dim", max_width=title_width)
    table.add_column(t("report.status"), no_wrap=True, min_width=fixed[2])
    table.add_column(t("report.points"), justify="right", no_wrap=True, min_width=fixed[3])
    for extra in fixed[4:]:
        table.add_column("", no_wrap=True, min_width=extra)
    for row in rows:
        if row is None:
            table.add_section()
        else:
            table.add_row(*row)
    return table


def _cell_width(cell) -> int:
    """The widest line of a cell (a status may take two lines)."""
    text = cell if isinstance(cell, Text) else Text(str(cell))
    return max(line.cell_len for line in text.split("\n"))


@dataclass
class ReportView:
    """The result of one `grade` run: the table of exercises, the total and the failures.

    `detail` is "first" (one failure per exercise, for a whole-course run) or "all"
    (every check of each exercise, for `grade EXERCISE`).
    """

    report: GradeReport
    course: Course
    t: Translator
    detail: str = "first"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t = self.t
        yield Text(t("report.heading", course=t.text(self.course.title),
                     directory=display_folder(self.report.directory)), style="bold")
        yield self.table(options.max_width)
        if self.report.quiz is not None and self.report.quiz.error:
            yield Text("✘ " + t("quiz.file_error", error=self.report.quiz.error), style="red")
        for result in self.report.exercises:
            if self.detail == "all":
                yield self.all_checks(result)
            elif result.first_failure is not None and result.status in ("failed", "blocked"):
                yield self.first_failure(result)
            else:
                yield from self.notes(result)
        yield self.next_step()
        warm_up = self.warm_up()
        if warm_up is not None:
            yield warm_up
        if self.report.isolation is not None:
            yield Text(isolation_line(self.report.isolation, t), style="dim")

    def table(self, width: int) -> Table:
        t = self.t
        exercises = self.report.exercises
        rows: list = [(r.id, t.text(self.course.exercise(r.id).title), self.status(r),
                       f"{points(r.score)} / {points(r.max_points)}") for r in exercises]
        if self.report.quiz is not None:
            subtotal = sum(r.score for r in exercises), sum(r.max_points for r in exercises)
            rows += [None, (t("report.exercises_subtotal"), "", Text(""),
                            f"{points(round(subtotal[0], 2))} / {points(subtotal[1])}"), self.quiz_row()]
        total = f"{points(self.report.score)} / {points(self.report.max_score)}"
        rows += [None, (t("report.total"), "", Text(""), Text(total, style="bold"))]
        return exercise_table(t, rows, width)

    def quiz_row(self) -> tuple:
        """The theory quiz as one more row: questions right at the first try (what scores),
        those right later in practice, and points."""
        t, quiz = self.t, self.report.quiz
        total = len(quiz.questions)
        if quiz.error:
            label, style = "✘ " + t("quiz.status.error"), "red"
        elif quiz.answered == 0:
            label, style = "◌ " + t("quiz.status.answered", answered=0, total=total), "dim"
        else:
            mark, style = ("✔ ", "green") if quiz.correct == total else ("◑ ", "yellow")
            label = mark + t("quiz.status.first_try", correct=quiz.correct, total=total)
            if quiz.practised:  # on a second line of the cell: the row stays narrow
                label += "\n  " + t("quiz.status.practice", count=quiz.practised)
        return ("quiz", t("quiz.row", count=total), Text(label, style=style),
                f"{points(quiz.score)} / {points(quiz.max_points)}")

    def checkpoint_line(self, exercise_id: str) -> Text | None:
        """A pointer to the exercise's checkpoint questions, unless they are all answered right."""
        questions = self.report.quiz.checkpoint(exercise_id) if self.report.quiz else []
        if not questions or all(question.correct or question.closed for question in questions):
            return None
        return Text(self.t("quiz.checkpoint_line", exercise=exercise_id, count=len(questions)), style="dim")

    def warm_up(self) -> Text | None:
        """The checkpoint line of the next exercise when it is not started yet."""
        result = next((r for r in self.report.exercises if r.status != "passed"), None)
        return self.checkpoint_line(result.id) if result and result.status == "not_started" else None

    def status(self, result: ExerciseResult) -> Text:
        t = self.t
        status = result.status
        if status == "passed":
            label = t("report.passed")
        elif status == "not_started":
            label = t("report.not_started")
        elif status == "blocked":
            label = t("report.blocked", exercise=result.first_failure.blocked_by)
        else:
            label = t("report.partial", passed=result.passed_checks, total=len(result.checks))
        return Text(f"{STATUS_ICON[status]} {label}", style=STATUS_STYLE[status])

    def first_failure(self, result: ExerciseResult) -> Panel:
        """A failing exercise in a whole-course run: its first problem in full."""
        t = self.t
        check = result.first_failure
        failing = [c for c in result.checks if not c.passed]
        body = [self.check_line(check), *CheckDetails(check, t).renderables()]
        if check.contract_miss:
            body.append(Padding(contract_note(result, t), (0, 0, 0, 2)))
        if len(failing) > 1:
            body.append(Text(t("report.more_failures", count=len(failing) - 1, exercise=result.id), style="dim"))
        body += waiting_lines(result, t)
        checkpoint = self.checkpoint_line(result.id) if about_the_idea(check) else None
        if checkpoint is not None:
            body.append(checkpoint)
        if result.status == "blocked":
            title = t("report.blocked_title", exercise=result.id, blocker=check.blocked_by)
        else:
            title = t("report.failing", exercise=result.id, failing=len(failing), total=len(result.checks))
        return Panel(Group(*body), title=title, title_align="left", border_style=STATUS_STYLE[result.status])

    def all_checks(self, result: ExerciseResult) -> Panel:
        """`grade EXERCISE`: every check with a one-line reason, then the first problem in full."""
        body: list = []
        previous = None
        for check in result.checks:
            body.append(self.check_line(check))
            if not check.passed and check.outcome != "not_started":
                reason = CheckDetails(check, self.t).summary(listed=True)
                if reason.plain != previous:  # an import error is not repeated under every check
                    body.append(Padding(reason, (0, 0, 0, 2)))
                previous = reason.plain
        first = result.first_failure
        if first is not None and first.outcome not in ("not_started", "blocked") and not first.contract_miss:
            body += [Text(""), self.check_line(first), *CheckDetails(first, self.t).renderables()]
        if result.missed_rules:
            body += [Text(""), *contract_block(result, self.t)]
        body += waiting_lines(result, self.t)
        gradients = next((c for c in result.checks if c.gradients), None)
        if gradients is not None and (first is None or not first.gradients):
            body += [Text(""), Padding(GradientView(gradients.gradients, self.t), (0, 0, 0, 2))]
        body += self.notes(result)
        exercise = self.course.exercise(result.id)
        title = f"{result.id} · {self.t.text(exercise.title)}"
        return Panel(Group(*body), title=title, title_align="left", border_style=STATUS_STYLE[result.status])

    def notes(self, result: ExerciseResult) -> list[Table]:
        """Advice that costs no points; a long note wraps under itself, not under the icon."""
        lines = []
        for note in result.notes:
            line = Table.grid(padding=(0, 1))
            line.add_column(no_wrap=True)
            line.add_column()
            line.add_row("💡", Text(self.t(note), style="cyan"))
            lines.append(line)
        return lines

    def check_line(self, check: CheckResult) -> Table:
        """The check's icon and title; a long title wraps under itself, not under the icon."""
        line = Table.grid(padding=(0, 1))
        line.add_column(no_wrap=True)
        line.add_column()
        style = STATUS_STYLE[check.outcome]
        line.add_row(Text(STATUS_ICON[check.outcome], style=style), Text(self.t(check.title), style=style))
        return line

    def next_step(self) -> Text:
        """One line telling the student what to do next."""
        t = self.t
        for result in self.report.exercises:
            exercise = self.course.exercise(result.id)
            if result.status == "not_started" and exercise.file:
                return Text(t("report.next_not_started", functions=", ".join(exercise.functions),
                              file=f"{self.course.exercises_dir}/{exercise.file}", exercise=result.id),
                            style="bold cyan")
            if result.status == "blocked":
                return Text(t("report.next_blocked", exercise=result.id,
                              blocker=result.first_failure.blocked_by), style="bold cyan")
            if result.status == "failed":
                return Text(t("report.next_failed", exercise=result.id, title=t.text(exercise.title)),
                            style="bold cyan")
        graded = [result.id for result in self.report.exercises]
        if self.report.all_passed and graded != list(self.course.ids):
            return Text(t("report.selection_passed", exercises=", ".join(graded)), style="bold green")
        quiz = self.report.quiz
        if self.report.all_passed and quiz is not None and quiz.answered < len(quiz.questions):
            return Text(t("quiz.next", left=len(quiz.questions) - quiz.answered), style="bold cyan")
        if self.report.all_passed:
            return Text(t("report.all_passed"), style="bold green")
        return Text("")


def about_the_idea(check: CheckResult) -> bool:
    """Did the code run and give a wrong answer (where a checkpoint question can help), rather
    than not import, hang, crash, miss a contract rule or wait for another exercise?"""
    return check.outcome == "failed" and not check.contract_miss and check.feedback is not None and \
        check.feedback.stage in ("exception", "type", "shape", "dtype", "nonfinite", "values", "raises",
                                 "mutation", "property")


def contract_note(result: ExerciseResult, t: Translator) -> Text:
    """What a contract rule is, and what the contract checks of `result` weigh."""
    return Text(t("contract.note", exercise=result.id, points=points(result.contract_points),
                  max=points(result.max_points)), style="dim")


def contract_block(result: ExerciseResult, t: Translator) -> list:
    """The contract rules `result` missed, under their own heading: each rule and its fix."""
    lines: list = [Text(t("contract.heading", exercise=result.id, points=points(result.contract_points),
                          max=points(result.max_points)), style="bold")]
    for rule in result.missed_rules:
        text = Text(t(f"contract.rules.{rule}.rule"))
        text.append("\n" + t("contract.fix", fix=t(f"contract.rules.{rule}.fix")), style="cyan")
        line = Table.grid(padding=(0, 1))
        line.add_column(no_wrap=True)
        line.add_column()
        line.add_row("•", text)
        lines.append(Padding(line, (0, 0, 0, 2)))
    return lines


def waiting_lines(result: ExerciseResult, t: Translator) -> list[Table]:
    """How many of the exercise's points wait for each exercise that blocks some of its checks."""
    lines = []
    for exercise, value in result.waiting.items():
        line = Table.grid(padding=(0, 1))
        line.add_column(no_wrap=True)
        line.add_column()
        line.add_row(Text("⧗", style="yellow"),
                     Text(t("waiting.points", points=points(value), exercise=exercise), style="yellow"))
        lines.append(line)
    return lines


@dataclass
class CheckDetails:
    """What explains one failed check, in design.md §4 order, indented under its title."""

    check: CheckResult
    t: Translator

    def summary(self, listed: bool = False) -> Text:
        """One line: why it failed (`listed`: in a list whose contract rules follow it)."""
        t, check = self.t, self.check
        if check.outcome == "blocked":
            return Text(t("report.blocked_check", exercise=check.blocked_by), style="yellow")
        if check.feedback is None:
            return Text("")
        if check.contract_miss and listed:
            return Text(t("contract.listed", summary=t(check.feedback.summary)), style="yellow")
        if check.contract_miss:
            return Text(t("contract.check", rule=t(f"contract.rules.{check.feedback.rule}.rule")), style="yellow")
        return Text(t(check.feedback.summary))

    def renderables(self) -> list[Padding]:
        """The summary, the numbers, where in the code, the misconception, the prints."""
        t, check, feedback = self.t, self.check, self.check.feedback
        lines: list = [self.summary()]
        if check.contract_miss:  # the rule, what happened and the fix: never the numbers of a value
            lines.append(Text(t("contract.happened", summary=t(feedback.summary))))
            if feedback.location:
                lines.append(self.location(feedback.location))
            if feedback.misconception:
                lines.append(self.misconception(feedback.misconception))
            lines.append(Text(t("contract.fix", fix=t(f"contract.rules.{feedback.rule}.fix")), style="cyan"))
        elif check.outcome != "blocked" and feedback is not None:
            lines += [Text(t(detail), style="dim") for detail in feedback.details]
            if feedback.location:
                lines.append(self.location(feedback.location))
            if feedback.misconception:
                lines.append(self.misconception(feedback.misconception))
        if check.gradients:
            lines.append(GradientView(check.gradients, t))
        if check.output:
            lines.append(self.output())
        return [Padding(line, (0, 0, 0, 2)) for line in lines]

    def misconception(self, misconception: str) -> Text:
        """The named mistake and what to do about it."""
        t = self.t
        text = Text(t("report.misconception", title=t(f"misconceptions.{misconception}.title")), style="bold magenta")
        text.append("\n" + t(f"misconceptions.{misconception}.explanation"), style="magenta")
        return text

    def location(self, location: dict) -> Text:
        key = "report.location" if location.get("function") else "report.location_module"
        text = Text("→ " + self.t(key, file=display_path(location["file"]), line=location["line"],
                                   function=location.get("function")), style="cyan")
        if location.get("code"):
            text.append("\n    " + location["code"], style="bold")
        return text

    def output(self) -> Text:
        check = self.check
        lines = check.output.splitlines()
        text = Text(self.t("report.printed", size=check.output_bytes), style="dim")
        for line in lines[:OUTPUT_LINES]:
            text.append("\n│ " + line, style="dim")
        shown = len("\n".join(lines[:OUTPUT_LINES]).encode())
        if check.output_bytes > shown + 1:
            text.append("\n" + self.t("report.printed_truncated", shown=shown, size=check.output_bytes), style="dim")
        return text


@dataclass
class GradientView:
    """The gradient check: each gradient against autograd and a numerical gradient."""

    rows: list[GradientRow]
    t: Translator

    STYLE = {"correct": "green", "suspicious": "yellow", "wrong": "red"}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t = self.t
        table = Table(box=box.SIMPLE, title=t("gradients.heading"), title_justify="left", pad_edge=False)
        table.add_column(t("gradients.name"))
        table.add_column(t("gradients.autograd"), justify="right")
        table.add_column(t("gradients.numerical"), justify="right")
        table.add_column(t("gradients.verdict"))
        for row in self.rows:
            table.add_row(row.name, _error(row.vs_autograd), _error(row.vs_numerical),
                          Text(t(f"gradients.{row.verdict}"), style=self.STYLE[row.verdict]))
        yield table
        yield Text(t("gradients.legend", correct=f"{CORRECT_BELOW:g}", wrong=f"{WRONG_FROM:g}"), style="dim")


def _error(value: float | None) -> str:
    return "—" if value is None else f"{value:.1e}"


@dataclass
class ProgressView:
    """`grade list`: every exercise with its status and points from the last grading."""

    course: Course
    progress: dict
    hints: dict
    t: Translator
    quiz: dict | None = None
    """The state file's quiz section (its saved score), when there is one."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t = self.t
        yield Text(t("list.heading", course=t.text(self.course.title)), style="bold")
        rows = []
        done = score = 0.0
        for exercise in self.course.exercises:
            entry = self.progress.get(exercise.id) or {}
            status = entry.get("status")
            label = t(f"report.{status}") if status in ("passed", "not_started") else (
                t("report.partial", passed=entry.get("passed", 0), total=entry.get("checks", 0))
                if status else t("list.never"))
            style = STATUS_STYLE.get(status, "dim")
            icon = STATUS_ICON.get(status, "·")
            score += float(entry.get("score", 0.0))
            done += status == "passed"
            rows.append((exercise.id, t.text(exercise.title), Text(f"{icon} {label}", style=style),
                         f"{points(float(entry.get('score', 0.0)))} / {points(exercise.points)}",
                         Text(t("list.hint_count", shown=self.hints.get(exercise.id, 0), total=len(exercise.hints)),
                              style="dim")))
        yield exercise_table(t, rows, options.max_width)
        yield Text(t("list.summary", done=int(done), total=len(self.course.exercises), score=points(score),
                     max=points(self.course.total_points)), style="bold")
        if self.course.quiz is not None:
            yield self.quiz_line()

    def quiz_line(self) -> Text:
        quiz = self.quiz or {}
        if not quiz.get("total"):
            return Text(self.t("quiz.list_none"), style="dim")
        return Text(self.t("quiz.list_line", correct=quiz.get("correct", 0), total=quiz["total"],
                           score=points(float(quiz.get("score", 0))), max=points(self.course.quiz.points)))


@dataclass
class HintView:
    """The hints of one exercise revealed so far, the newest last."""

    exercise: Exercise
    shown: int
    t: Translator
    more: str = "hint.more"
    """The key of the line saying how to see the next hint."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, exercise = self.t, self.exercise
        total = len(exercise.hints)
        for number in range(1, self.shown + 1):
            newest = number == self.shown
            yield Panel(Text(t.text(exercise.hints[number - 1])),
                        title=t("hint.heading", number=number, total=total, exercise=exercise.id,
                                title=t.text(exercise.title)),
                        title_align="left", border_style="cyan" if newest else "dim")
        key = "hint.last" if self.shown >= total else self.more
        yield Text(t(key, exercise=exercise.id), style="dim")
