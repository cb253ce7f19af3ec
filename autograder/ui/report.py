"""Rich terminal views of grading results, progress and hints.

Each view is an object that renders itself (``__rich_console__``), so the CLI prints it and the
tests render it into a fixed-width ``Console(file=io.StringIO(), width=...)``.

Every failure is explained once: a file that does not import is reported at the top (line and
caret), and the exercises in it are marked "not run" instead of failing each check for the same
reason; a failing check is explained in full where it is listed (the first one, or all with
``--verbose``), the others with a one-line reason; checks that wait for another exercise say so
in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.segment import Segment
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from autograder.arguments import TitledPanel
from autograder.course import Course, Exercise
from autograder.grading.feedback import Feedback
from autograder.grading.gradcheck import CORRECT_BELOW, WRONG_FROM, GradientRow
from autograder.grading.results import CheckResult, ExerciseResult, GradeReport, points
from autograder.i18n import Msg, Translator

STATUS_STYLE = {"passed": "green", "failed": "red", "blocked": "yellow", "not_started": "dim"}
STATUS_ICON = {"passed": "✔", "failed": "✘", "blocked": "⧗", "not_started": "◌"}
OUTPUT_LINES = 12
IMPORT_PROBLEMS = {"feedback.forbidden_import", "feedback.timeout_import"}
"""Failures of a file's import that are not at the "import" stage (it is never imported)."""


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
    a new section (before subtotals and the total). Titles are never cut: when the longest
    does not fit on one line (80 columns, say), the table leaves the titles out and shows the
    ids, which are what commands take."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    cells = [row for row in rows if row is not None]
    fixed = [max(_cell_width(row[i]) for row in cells) for i in range(len(cells[0]))]
    fixed[0] = max(fixed[0], len(t("report.exercise")))
    title_width = width - (sum(fixed) - fixed[1]) - 3 * (len(fixed) - 1) - 2
    with_titles = fixed[1] <= title_width
    table.add_column(t("report.exercise"), no_wrap=True, style="bold", min_width=fixed[0])
    if with_titles:
        table.add_column("", no_wrap=True, style="dim")
    table.add_column(t("report.status"), no_wrap=True, min_width=fixed[2])
    table.add_column(t("report.points"), justify="right", no_wrap=True, min_width=fixed[3])
    for extra in fixed[4:]:
        table.add_column("", no_wrap=True, min_width=extra)
    for row in rows:
        if row is None:
            table.add_section()
        else:
            table.add_row(*(row if with_titles else row[:1] + row[2:]))
    return table


def _cell_width(cell) -> int:
    """The widest line of a cell (a status may take two lines)."""
    text = cell if isinstance(cell, Text) else Text(str(cell))
    return max(line.cell_len for line in text.split("\n"))


# -- what the results say ----------------------------------------------------------------------


def broken_file(check: CheckResult) -> str | None:
    """The student file whose import failed this check (None: it failed for another reason)."""
    feedback = check.feedback
    if check.passed or feedback is None:
        return None
    if feedback.stage != "import" and feedback.summary.key not in IMPORT_PROBLEMS:
        return None
    location = feedback.location or {}
    module = feedback.summary.params.get("module")
    return location.get("file") or (f"{module}.py" if module else None)


def not_run(result: ExerciseResult) -> str | None:
    """The broken file when none of the exercise's checks could run because of it."""
    failing = [check for check in result.checks if not check.passed]
    files = {broken_file(check) for check in failing}
    return files.pop() if failing and len(files) == 1 and None not in files else None


@dataclass
class FileProblem:
    """A student file that does not import, and the exercises that could not run because of it."""

    file: str
    check: CheckResult
    """The first check that met it (its feedback explains the problem)."""
    exercises: list[str]


def file_problems(results: list[ExerciseResult]) -> list[FileProblem]:
    """Each broken file once, in course order."""
    found: dict[str, FileProblem] = {}
    for result in results:
        file = not_run(result)
        if file is None:
            continue
        if file not in found:
            found[file] = FileProblem(file, next(c for c in result.checks if not c.passed), [])
        found[file].exercises.append(result.id)
    return list(found.values())


def first_explained(result: ExerciseResult) -> CheckResult | None:
    """The failing check explained in full by default: the first that failed on its own, a
    wrong answer before a missed contract rule (`ExerciseResult.first_failure`'s order)."""
    failed = [check for check in result.checks if check.outcome == "failed"]
    return next((check for check in failed if not check.contract_miss), failed[0] if failed else None)


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
        lines.append(Padding(IconLine("•", text), (0, 0, 0, 2)))
    return lines


def waiting_lines(result: ExerciseResult, t: Translator) -> list:
    """How many of the exercise's points wait for each exercise that blocks some of its checks."""
    return [IconLine("⧗", Text(t("waiting.points", points=points(value), exercise=exercise)), "yellow")
            for exercise, value in result.waiting.items()]


def teaches(detail: Msg, feedback: Feedback) -> bool:
    """Whether a detail line adds something: "no known mistake" only when none is named, and
    the mean and std of the two arrays only when they differ and no mistake is named."""
    if detail.key == "compare.no_misconception":
        return feedback.misconception is None
    if detail.key == "compare.stats":
        return feedback.misconception is None and _stats_differ(detail.params)
    return True


def _stats_differ(params: dict) -> bool:
    try:
        pairs = [(float(params["expected_mean"]), float(params["got_mean"])),
                 (float(params["expected_std"]), float(params["got_std"]))]
    except (KeyError, TypeError, ValueError):
        return True
    return any(abs(a - b) > 1e-3 * max(abs(a), abs(b), 1e-12) for a, b in pairs)


# -- the report --------------------------------------------------------------------------------


@dataclass
class ReportView:
    """The result of one `grade` run: problems with files, the table of exercises, the total
    and the failures.

    `detail` is "first" (a whole-course run: the first failure of each exercise), "all"
    (`grade EXERCISE`: every check, the first failure in full) or "verbose" (every failure in
    full). `hints` is how many hints the student used per exercise, when known.
    """

    report: GradeReport
    course: Course
    t: Translator
    detail: str = "first"
    hints: dict[str, int] | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t = self.t
        yield Text(t("report.heading", course=t.text(self.course.title),
                     directory=display_folder(self.report.directory)), style="bold")
        for problem in file_problems(self.report.exercises):
            yield FileProblemView(problem, t)
        yield self.table(options.max_width)
        if self.report.quiz is not None and self.report.quiz.error:
            yield Text("✘ " + t("quiz.file_error", error=self.report.quiz.error), style="red")
        for result in self.report.exercises:
            if self.detail != "first":
                yield self.exercise_view(result)
            elif not_run(result):
                continue  # the problem with its file is shown above
            elif result.status == "blocked":
                yield self.blocked_line(result)
            elif result.status == "failed":
                yield self.first_failure(result)
            else:
                yield from notes(result, t)
        yield self.next_step()
        warm_up = self.warm_up()
        if warm_up is not None:
            yield warm_up
        if self.report.isolation is not None:
            yield Text(isolation_line(self.report.isolation, t), style="dim")

    def exercise_view(self, result: ExerciseResult) -> ExerciseView:
        hints = None if self.hints is None else self.hints.get(result.id, 0)
        return ExerciseView(result, self.course, self.t, verbose=self.detail == "verbose", hints_used=hints)

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
        return status_label(result, self.t)

    def first_failure(self, result: ExerciseResult) -> Panel:
        """A failing exercise in a whole-course run: its first problem in full."""
        t = self.t
        check = first_explained(result)
        failing = [c for c in result.checks if not c.passed]
        body = [check_line(check, t), *CheckDetails(check, t).renderables()]
        if check.contract_miss:
            body.append(Padding(contract_note(result, t), (0, 0, 0, 2)))
        if len(failing) > 1:
            body.append(Text(t("report.more_failures", count=len(failing) - 1, exercise=result.id), style="dim"))
        body += waiting_lines(result, t)
        checkpoint = self.checkpoint_line(result.id) if about_the_idea(check) else None
        if checkpoint is not None:
            body.append(checkpoint)
        title = t("report.failing", exercise=result.id, failing=len(failing), total=len(result.checks))
        hints = None if self.hints is None else self.hints.get(result.id, 0)
        return panel(Group(*body), title, STATUS_STYLE["failed"], hints_line(hints, t))

    def blocked_line(self, result: ExerciseResult) -> IconLine:
        """An exercise whose checks all wait for another one: one line saying which."""
        blocker = result.first_failure.blocked_by
        text = self.t("report.blocked_line", exercise=result.id, blocker=blocker,
                      points=points(result.waiting.get(blocker, 0.0)))
        return icon_line(STATUS_ICON["blocked"], Text(text), STATUS_STYLE["blocked"])

    def next_step(self) -> Text:
        """One line telling the student what to do next."""
        t = self.t
        problems = file_problems(self.report.exercises)
        if problems:
            location = problems[0].check.feedback.location or {}
            key = "report.next_file_line" if location.get("line") else "report.next_file"
            return Text(t(key, file=display_path(problems[0].file), line=location.get("line")), style="bold cyan")
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
                key = "report.next_failed_more" if self.detail == "first" else "report.next_failed"
                return Text(t(key, exercise=result.id, title=t.text(exercise.title)), style="bold cyan")
        graded = [result.id for result in self.report.exercises]
        if self.report.all_passed and graded != list(self.course.ids):
            return Text(t("report.selection_passed", exercises=", ".join(graded)), style="bold green")
        quiz = self.report.quiz
        if self.report.all_passed and quiz is not None and quiz.answered < len(quiz.questions):
            return Text(t("quiz.next", left=len(quiz.questions) - quiz.answered), style="bold cyan")
        if self.report.all_passed:
            return Text(t("report.all_passed"), style="bold green")
        return Text("")


def status_label(result: ExerciseResult, t: Translator) -> Text:
    """✔ passed, ✘ 3/9 checks, ✘ not run, ⧗ blocked by X, ◌ not started."""
    status = result.status
    if status == "passed":
        label = t("report.passed")
    elif status == "not_started":
        label = t("report.not_started")
    elif status == "blocked":
        label = t("report.blocked", exercise=result.first_failure.blocked_by)
    elif not_run(result):
        label = t("report.not_run")
    else:
        label = t("report.partial", passed=result.passed_checks, total=len(result.checks))
    return Text(f"{STATUS_ICON[status]} {label}", style=STATUS_STYLE[status])


def panel(body, title: str, style: str, subtitle: str | None = None) -> Panel:
    """A bordered box whose title is never cut (`TitledPanel`)."""
    return TitledPanel(body, title, border_style=style, subtitle=subtitle)


def hints_line(used: int | None, t: Translator) -> str | None:
    return t("report.hints_used", count=used) if used else None


@dataclass
class IconLine:
    """An icon, then a text that wraps under itself, not under the icon (a two-column grid,
    without a table's cost: a report has one per check)."""

    icon: str
    text: Text
    style: str = ""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        icon = Text(self.icon, style=self.style)
        indent = icon.cell_len + 1
        text = Text.assemble(self.text, style=self.style)
        lines = console.render_lines(text, options.update_width(max(options.max_width - indent, 1)), pad=False)
        for number, line in enumerate(lines):
            yield from icon.render(console) if number == 0 else [Segment(" " * icon.cell_len)]
            yield Segment(" ")
            yield from line
            yield Segment.line()


def icon_line(icon: str, text: Text, style: str = "") -> IconLine:
    return IconLine(icon, text, style)


def notes(result: ExerciseResult, t: Translator) -> list[IconLine]:
    """Advice that costs no points."""
    return [icon_line("💡", Text(t(note)), "cyan") for note in result.notes]


def check_line(check: CheckResult, t: Translator) -> IconLine:
    """The check's icon and title."""
    return icon_line(STATUS_ICON[check.outcome], Text(t(check.title)), STATUS_STYLE[check.outcome])


@dataclass
class FileProblemView:
    """A student file that does not import: the error once, with its line and a caret, and
    the exercises that could not run."""

    problem: FileProblem
    t: Translator

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t = self.t
        body = CheckDetails(self.problem.check, t).renderables(indent=0, where=False)
        body.append(Text(t("report.not_run_list", exercises=", ".join(self.problem.exercises)), style="bold"))
        yield panel(Group(*body), t("report.file_problem", file=display_path(self.problem.file)), "red")


@dataclass
class ExerciseView:
    """One exercise, check by check: ✔ or ✘ with its reason; the first failure in full (every
    failure with `verbose`). `standalone` explains a broken file here (no report above it)."""

    result: ExerciseResult
    course: Course
    t: Translator
    verbose: bool = False
    standalone: bool = False
    hints_used: int | None = None
    compact: bool = False
    """Passing checks in one line (watch mode, when the screen is short)."""
    only_first: bool = False
    """With `compact`: of the failing checks, only the one explained in full (shorter still)."""
    keys: bool = False
    """In watch mode: say which key shows more, not which command."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        result, t = self.result, self.t
        title = f"{result.id} · {t.text(self.course.exercise(result.id).title)}"
        yield panel(Group(*self.body()), title, STATUS_STYLE[result.status], hints_line(self.hints_used, t))

    def body(self) -> list:
        result, t = self.result, self.t
        broken = not_run(result)
        if broken and not self.standalone:
            return [Text(t("report.not_run_here", file=display_path(broken)), style="red")]
        if broken:
            check = next(c for c in result.checks if not c.passed)
            return [*CheckDetails(check, t).renderables(indent=0),
                    Text(t("report.not_run_checks", count=len(result.checks)), style="bold")]
        body = self.checks()
        if result.missed_rules:
            body += [Text(""), *contract_block(result, t)]
        body += waiting_lines(result, t)
        gradients = next((c for c in result.checks if c.gradients), None)
        if gradients is not None and not any(c.gradients and self.expanded(c) for c in result.checks):
            body += [Text(""), Padding(GradientView(gradients.gradients, t), (0, 0, 0, 2))]
        body += notes(result, t)
        failing = [c for c in result.checks if c.outcome == "failed" and not c.contract_miss]
        if not self.verbose and len(failing) > 1:
            key = "report.verbose_for_more"
            if self.keys:
                key = "watch.expand_hidden" if self.only_first else "watch.expand_for_more"
            body.append(Text(t(key, count=len(failing) - 1, exercise=result.id), style="dim"))
        return body

    def expanded(self, check: CheckResult) -> bool:
        """Explained in full where it is listed (a missed contract rule is explained once, in
        the block of rules below the list)."""
        return check.outcome == "failed" and not check.contract_miss and (
            self.verbose or check is first_explained(self.result))

    def checks(self) -> list:
        """Every check; the reasons of consecutive checks that failed alike are said once
        (`compact`: the passing checks in one line first)."""
        t, lines, checks = self.t, [], self.result.checks
        passing = [check for check in checks if check.passed]
        if self.compact and passing:
            summary = Text(t("report.passing", count=len(passing), total=len(checks)))
            lines.append(icon_line(STATUS_ICON["passed"], summary, "green"))
            checks = [check for check in checks if not check.passed]
        if self.compact and self.only_first and first_explained(self.result) is not None:
            checks = [first_explained(self.result)]
        explained: set[str] = set()  # a misconception met again is named, not explained again
        for reason, run in groupby(checks, key=self.reason):
            run = list(run)
            for check in run:
                lines.append(check_line(check, t))
                if self.expanded(check):
                    lines += CheckDetails(check, t).renderables(explained=explained)
            if reason is not None:
                text = reason if len(run) == 1 else t("report.same_reason", count=len(run), reason=reason)
                style = "yellow" if run[0].outcome == "blocked" or run[0].contract_miss else ""
                lines.append(Padding(Text(text, style=style), (0, 0, 0, 2)))
        return lines

    def reason(self, check: CheckResult) -> str | None:
        """The one-line reason shown under a check that is not explained in full (None for
        checks that need none)."""
        if check.passed or check.outcome == "not_started" or self.expanded(check):
            return None
        return CheckDetails(check, self.t).summary(listed=True).plain or self.t("report.no_reason")


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

    def renderables(self, indent: int = 2, *, where: bool = True, explained: set[str] | None = None) -> list:
        """The summary, the numbers that teach something, where in the code (the file and
        line unless `where` is False: the caller names them), the misconception (only named
        when it is in `explained` already; added to it), the gradient check, the prints."""
        t, check, feedback = self.t, self.check, self.check.feedback
        lines: list = [self.summary()]
        if check.contract_miss:  # the rule, what happened and the fix: never the numbers of a value
            lines.append(Text(t("contract.happened", summary=t(feedback.summary))))
            if feedback.location:
                lines.append(self.location(feedback.location, where=where))
            if feedback.misconception:
                lines.append(self.misconception(feedback.misconception))
            lines.append(Text(t("contract.fix", fix=t(f"contract.rules.{feedback.rule}.fix")), style="cyan"))
        elif check.outcome != "blocked" and feedback is not None:
            lines += [Text(t(detail), style="dim") for detail in feedback.details if teaches(detail, feedback)]
            if feedback.location:
                lines.append(self.location(feedback.location, where=where))
            if feedback.misconception:
                again = explained is not None and feedback.misconception in explained
                lines.append(self.misconception(feedback.misconception, again=again))
                if explained is not None:
                    explained.add(feedback.misconception)
        if check.gradients:
            lines.append(GradientView(check.gradients, t))
        if check.output:
            lines.append(self.output())
        return [Padding(line, (0, 0, 0, indent)) for line in lines]

    def misconception(self, misconception: str, *, again: bool = False) -> Text:
        """The named mistake and what to do about it (`again`: named only, explained above)."""
        t = self.t
        title = t(f"misconceptions.{misconception}.title")
        if again:
            return Text(t("report.misconception_again", title=title), style="magenta")
        text = Text(t("report.misconception", title=title), style="bold magenta")
        text.append("\n" + t(f"misconceptions.{misconception}.explanation"), style="magenta")
        return text

    def location(self, location: dict, *, where: bool = True) -> Text:
        """→ file, line N (in function), the line of code and, for a syntax error, a caret
        under the place Python stopped reading."""
        key = "report.location" if location.get("function") else "report.location_module"
        text = Text("→ " + self.t(key, file=display_path(location["file"]), line=location["line"],
                                   function=location.get("function")) if where else "", style="cyan")
        code = location.get("code") or ""
        if code.strip():
            shown = code.strip()
            text.append(("\n" if where else "") + "    " + shown, style="bold")
            column = location.get("column")
            if isinstance(column, int) and column > 0:
                caret = column - 1 - (len(code) - len(code.lstrip()))
                text.append("\n    " + " " * min(max(caret, 0), len(shown)) + "^", style="bold red")
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
    misconception_hints: dict | None = None
    """Per exercise, the misconceptions whose hint was shown."""

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
                         Text(self.hint_count(exercise), style="dim")))
        yield exercise_table(t, rows, options.max_width)
        yield Text(t("list.summary", done=int(done), total=len(self.course.exercises), score=points(score),
                     max=points(self.course.total_points)), style="bold")
        if self.course.quiz is not None:
            yield self.quiz_line()

    def hint_count(self, exercise: Exercise) -> str:
        """"2/3 hints", and "+1" for each hint about a mistake."""
        text = self.t("list.hint_count", shown=self.hints.get(exercise.id, 0), total=len(exercise.hints))
        extra = len((self.misconception_hints or {}).get(exercise.id, []))
        return f"{text} +{extra}" if extra else text

    def quiz_line(self) -> Text:
        quiz = self.quiz or {}
        if not quiz.get("total"):
            return Text(self.t("quiz.list_none"), style="dim")
        return Text(self.t("quiz.list_line", correct=quiz.get("correct", 0), total=quiz["total"],
                           score=points(float(quiz.get("score", 0))), max=points(self.course.quiz.points)))
