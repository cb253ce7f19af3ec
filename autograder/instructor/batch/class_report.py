"""Class analytics of `grade batch`: how the class did, as data, and its two renderings.

`summarize` reads the batch's records (each holding a `grade --json` report) into a
`ClassSummary`: how many students are in each status; the score distribution of the total, of
each exercise and of the quiz; why the students who failed an exercise failed it, grouped by
cause (`Cause`: the named misconception, else the stage of the first failing check, so seven
checks failing for one mistake are one row); how many students hit each named misconception;
and, passed in, the clusters of near-identical submissions and the students whose nbgrader
score differs. `ClassReportView` shows it in the terminal (Rich) and `markdown` writes it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from autograder.course import Course
from autograder.grading.results import points
from autograder.i18n import Translator
from autograder.instructor.batch.gradebook import error_text, problem_text

BINS = 10
SPARK = " ▁▂▃▄▅▆▇█"
BAR_WIDTH = 30
HARDEST = 10


@dataclass
class Distribution:
    """Scores out of `maximum` over the graded students."""

    maximum: float
    scores: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return round(statistics.fmean(self.scores), 2) if self.scores else 0.0

    @property
    def median(self) -> float:
        return round(statistics.median(self.scores), 2) if self.scores else 0.0

    @property
    def low(self) -> float:
        return min(self.scores, default=0.0)

    @property
    def high(self) -> float:
        return max(self.scores, default=0.0)

    def histogram(self, bins: int = BINS) -> list[int]:
        """Students per bin of equal width over [0, maximum]; full marks fall in the last bin."""
        counts = [0] * bins
        for score in self.scores:
            share = score / self.maximum if self.maximum else 0.0
            counts[min(bins - 1, max(0, int(share * bins + 1e-9)))] += 1
        return counts


@dataclass
class ExerciseStats:
    id: str
    scores: Distribution
    full: int = 0
    """Students with every check passing."""
    zero: int = 0
    """Students who started it and scored 0."""
    not_started: int = 0


@dataclass
class CheckStats:
    id: str
    exercise: str
    title: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    """Not reached: its exercise not started, or blocked by a failing prerequisite."""

    @property
    def reached(self) -> int:
        return self.passed + self.failed

    @property
    def rate(self) -> float:
        return self.passed / self.reached if self.reached else 1.0


@dataclass
class Cause:
    """Why some students failed an exercise: a named misconception, or (when none is named)
    the stage of the first failing check (``values``, ``shape``, ``timeout``...)."""

    exercise: str
    kind: str
    """"misconception" or "stage"."""
    id: str
    students: set[str] = field(default_factory=set)
    checks: set[str] = field(default_factory=set)
    """The failing checks of those students' exercise."""
    reached: int = 0
    """Students whose code reached the exercise's checks."""


@dataclass
class MisconceptionStats:
    id: str
    exercises: set[str] = field(default_factory=set)
    students: set[str] = field(default_factory=set)


@dataclass
class ClassSummary:
    students: int
    graded: int
    total: Distribution
    exercises: list[ExerciseStats]
    quiz: Distribution | None
    checks: list[CheckStats]
    misconceptions: list[MisconceptionStats]
    """Sorted by the number of students, most first."""
    not_graded: list[dict] = field(default_factory=list)
    """The records of the students who could not be graded."""
    causes: list[Cause] = field(default_factory=list)
    """Sorted by the number of students, most first."""
    statuses: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[str, dict]] = field(default_factory=list)
    """(student, problem) for every file of an upload that was not used."""
    clusters: list = field(default_factory=list)
    """`autograder.instructor.batch.similarity.Cluster`s."""
    differences: list = field(default_factory=list)
    """`autograder.instructor.batch.nbgrader_check.Difference`s."""

    def hardest(self, limit: int = HARDEST) -> list[CheckStats]:
        """The checks with the lowest pass rate (below 100 %) among the students who reached them."""
        failing = [c for c in self.checks if c.reached and c.failed]
        return sorted(failing, key=lambda c: (c.rate, -c.reached, c.id))[:limit]

    def hardest_causes(self, limit: int = HARDEST) -> list[Cause]:
        return self.causes[:limit]


STATUSES = ("graded", "not_started", "not_submitted", "error")


def summarize(records: list[dict], course: Course, *, clusters: list = (), differences: list = ()) -> ClassSummary:
    graded = [r for r in records if r.get("report")]
    causes: dict[tuple[str, str, str], Cause] = {}
    reached: dict[str, int] = {}
    exercises = {e.id: ExerciseStats(e.id, Distribution(float(e.points))) for e in course.exercises}
    checks: dict[str, CheckStats] = {}
    misconceptions: dict[str, MisconceptionStats] = {}
    total = Distribution(0.0)
    quiz = Distribution(float(course.quiz.points)) if course.quiz else None
    for record in graded:
        report = record["report"]
        total.maximum = max(total.maximum, float(report["max_score"]))
        total.scores.append(float(report["score"]))
        if quiz is not None and report.get("quiz"):
            quiz.scores.append(float(report["quiz"]["score"]))
        for exercise in report["exercises"]:
            stats = exercises.get(exercise["id"])
            if stats is None:
                continue
            stats.scores.scores.append(float(exercise["score"]))
            stats.full += exercise["status"] == "passed"
            stats.not_started += exercise["status"] == "not_started"
            stats.zero += exercise["status"] != "not_started" and float(exercise["score"]) == 0
            if any(c["outcome"] in ("passed", "failed") for c in exercise["checks"]):
                reached[exercise["id"]] = reached.get(exercise["id"], 0) + 1
            cause = cause_of(exercise)
            if cause is not None:
                entry = causes.setdefault((exercise["id"], *cause), Cause(exercise["id"], *cause))
                entry.students.add(record["student"])
                entry.checks |= {c["id"] for c in exercise["checks"] if c["outcome"] == "failed"}
            for check in exercise["checks"]:
                item = checks.setdefault(check["id"], CheckStats(check["id"], exercise["id"], check.get("title", "")))
                if check["outcome"] == "passed":
                    item.passed += 1
                elif check["outcome"] == "failed":
                    item.failed += 1
                else:
                    item.skipped += 1
                if check.get("misconception"):
                    entry = misconceptions.setdefault(check["misconception"], MisconceptionStats(check["misconception"]))
                    entry.exercises.add(exercise["id"])
                    entry.students.add(record["student"])
    if not graded:
        total.maximum = float(sum(e.points for e in course.exercises) + (course.quiz.points if course.quiz else 0))
    ranked = sorted(misconceptions.values(), key=lambda m: (-len(m.students), m.id))
    for cause in causes.values():
        cause.reached = reached.get(cause.exercise, 0)
    return ClassSummary(len(records), len(graded), total, list(exercises.values()),
                        quiz if quiz is not None and quiz.scores else None, list(checks.values()), ranked,
                        [r for r in records if r.get("error")],
                        causes=sorted(causes.values(), key=lambda c: (-len(c.students), c.exercise, c.id)),
                        statuses={s: sum(r.get("status", "graded") == s for r in records) for s in STATUSES},
                        problems=[(r["student"], p) for r in records for p in r.get("problems", [])],
                        clusters=list(clusters), differences=list(differences))


def cause_of(exercise: dict) -> tuple[str, str] | None:
    """Why this exercise failed, for the class report: its first named misconception, else the
    stage of its first failing check (None when no check failed on its own)."""
    failing = [c for c in exercise["checks"] if c["outcome"] == "failed"]
    if not failing:
        return None
    named = next((c["misconception"] for c in failing if c.get("misconception")), None)
    return ("misconception", named) if named else ("stage", failing[0].get("stage") or "values")


# -- rendering ------------------------------------------------------------------------------------


def percent(value: float) -> str:
    return f"{100 * value:.0f} %"


def bin_labels(maximum: float, bins: int = BINS) -> list[str]:
    edges = [maximum * i / bins for i in range(bins + 1)]
    return [f"{points(round(edges[i], 1))}–{points(round(edges[i + 1], 1))}" for i in range(bins)]


def sparkline(counts: list[int]) -> str:
    top = max(counts, default=0)
    if not top:
        return " " * len(counts)
    return "".join(SPARK[math.ceil(count / top * (len(SPARK) - 1))] for count in counts)


def bar(count: int, top: int) -> str:
    return "█" * (math.ceil(count / top * BAR_WIDTH) if top else 0)


class _Rows:
    """The report's tables as plain rows, shared by both renderings."""

    def __init__(self, summary: ClassSummary, course: Course, t: Translator) -> None:
        self.summary, self.course, self.t = summary, course, t

    def overview(self) -> str:
        s, t = self.summary, self.t
        return t("batch.report.overview", graded=s.graded, students=s.students, mean=points(s.total.mean),
                 max=points(s.total.maximum), median=points(s.total.median), low=points(s.total.low),
                 high=points(s.total.high))

    def statuses(self) -> str:
        return " · ".join(f"{self.t(f'batch.status.{status}')}: {count}"
                          for status, count in self.summary.statuses.items() if count)

    def distribution(self) -> list[tuple[str, int, str]]:
        counts = self.summary.total.histogram()
        top = max(counts, default=0)
        return [(label, count, bar(count, top)) for label, count in zip(bin_labels(self.summary.total.maximum), counts)]

    def exercises(self) -> list[tuple[str, ...]]:
        rows = [(e.id, points(e.scores.maximum), points(e.scores.mean), points(e.scores.median), str(e.full),
                 str(e.zero), str(e.not_started), sparkline(e.scores.histogram(5))) for e in self.summary.exercises]
        quiz = self.summary.quiz
        if quiz is not None:
            rows.append((self.t("batch.report.quiz"), points(quiz.maximum), points(quiz.mean), points(quiz.median),
                         str(sum(s == quiz.maximum for s in quiz.scores)), str(sum(s == 0 for s in quiz.scores)),
                         "", sparkline(quiz.histogram(5))))
        return rows

    def cause_label(self, cause: Cause) -> str:
        if cause.kind == "misconception":
            return f"{cause.id}: {self.t(f'misconceptions.{cause.id}.title')}"
        return self.t("batch.report.stage", stage=self.t(f"batch.stages.{cause.id}"))

    def causes(self) -> list[tuple[str, str, str, str, str]]:
        """(exercise, cause, students / reached, share, failing checks)."""
        return [(c.exercise, self.cause_label(c), f"{len(c.students)} / {c.reached}",
                 percent(len(c.students) / c.reached if c.reached else 0), _checks(c.checks))
                for c in self.summary.hardest_causes()]

    def misconceptions(self) -> list[tuple[str, str, str]]:
        t = self.t
        return [(m.id, t(f"misconceptions.{m.id}.title"), str(len(m.students))) for m in self.summary.misconceptions]

    def not_graded(self) -> list[tuple[str, str]]:
        return [(r["student"], error_text(r, self.t)) for r in self.summary.not_graded]

    def problems(self) -> list[tuple[str, str]]:
        return [(student, problem_text(problem, self.t)) for student, problem in self.summary.problems]

    def clusters(self) -> list[tuple[str, str, str]]:
        return [(str(i), f"{c.similarity:.2f}", ", ".join(c.students)) for i, c in enumerate(self.summary.clusters, 1)]

    def differences(self) -> list[tuple[str, str, str, str]]:
        return [(d.student, d.test, points(d.nbgrader) if d.nbgrader is not None else "-",
                 points(d.kit) if d.kit is not None else "-") for d in self.summary.differences]

    def exercise_header(self) -> list[str]:
        t = self.t
        return [t("batch.report.exercise"), t("batch.report.max"), t("batch.report.mean"), t("batch.report.median"),
                t("batch.report.full"), t("batch.report.zero"), t("batch.report.not_started"),
                t("batch.report.spread")]

    def cause_header(self) -> list[str]:
        t = self.t
        return [t("batch.report.exercise"), t("batch.report.cause"), t("batch.report.students"),
                t("batch.report.share"), t("batch.report.failing_checks")]


def _checks(ids: set[str], shown: int = 3) -> str:
    names = sorted(i.split("::", 1)[-1] for i in ids)
    more = f" +{len(names) - shown}" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


@dataclass
class ClassReportView:
    """The class report in the terminal."""

    summary: ClassSummary
    course: Course
    t: Translator

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, rows = self.t, _Rows(self.summary, self.course, self.t)
        yield Text(t("batch.report.heading", course=t.text(self.course.title)), style="bold")
        yield Text(rows.overview())
        yield Text(rows.statuses(), style="dim")
        if self.summary.graded:
            yield Text("\n" + t("batch.report.distribution"), style="bold")
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            table.add_column(t("batch.report.range"), justify="right", no_wrap=True)
            table.add_column(t("batch.report.students"), justify="right")
            table.add_column("", style="cyan", no_wrap=True)
            for label, count, histogram_bar in rows.distribution():
                table.add_row(label, str(count), histogram_bar)
            yield table
            yield Text(t("batch.report.per_exercise"), style="bold")
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            for i, header in enumerate(rows.exercise_header()):  # the numbers' headers wrap at 80 columns
                table.add_column(header, justify="left" if i in (0, 7) else "right", no_wrap=i == 0,
                                 style="cyan" if i == 7 else None, min_width=max(map(len, header.split())))
            for row in rows.exercises():
                table.add_row(*row)
            yield table
            yield Text(t("batch.report.hardest"), style="bold")
            causes = rows.causes()
            if causes:
                table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
                header = rows.cause_header()
                table.add_column(header[0], no_wrap=True, style="bold")
                table.add_column(header[1], overflow="fold", ratio=1)
                table.add_column(header[2], justify="right", no_wrap=True)
                table.add_column(header[3], justify="right", no_wrap=True)
                table.add_column(header[4], overflow="fold", style="dim", ratio=1)
                for row in causes:
                    table.add_row(*row)
                yield table
            else:
                yield Text(t("batch.report.all_pass") + "\n")
            yield Text(t("batch.report.misconceptions"), style="bold")
            found = rows.misconceptions()
            if found:
                table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
                table.add_column(t("batch.report.misconception"), no_wrap=True, style="bold")
                table.add_column("", overflow="fold", ratio=1)
                table.add_column(t("batch.report.students"), justify="right", no_wrap=True)
                for row in found:
                    table.add_row(*row)
                yield table
            else:
                yield Text(t("batch.report.no_misconceptions") + "\n")
        yield from self._lists(rows)

    def _lists(self, rows: _Rows) -> RenderResult:
        t = self.t
        if self.summary.clusters:
            yield Text(t("batch.report.similar"), style="bold")
            yield Text(t("batch.report.similar_note"), style="dim")
            for number, similarity, students in rows.clusters():
                yield Text(f"  {number}. {similarity}  {students}")
            yield Text("")
        if self.summary.differences:
            yield Text(t("batch.report.differences", count=len({d.student for d in self.summary.differences})),
                       style="bold yellow")
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            for header in (t("batch.report.student"), t("batch.report.test"), "nbgrader", t("batch.report.kit")):
                table.add_column(header, no_wrap=True)
            for row in rows.differences():
                table.add_row(*row)
            yield table
        problems = rows.problems()
        if problems:
            yield Text(t("batch.report.problems"), style="bold yellow")
            for student, text in problems:
                yield Text(f"  {student}: {text}", style="yellow")
        missing = rows.not_graded()
        if missing:
            yield Text(t("batch.report.not_graded"), style="bold red")
            for student, error in missing:
                yield Text(f"  {student}: {error}", style="red")


def markdown(summary: ClassSummary, course: Course, t: Translator) -> str:
    """The class report as a Markdown file."""
    rows = _Rows(summary, course, t)
    lines = [f"# {t('batch.report.heading', course=t.text(course.title))}", "", rows.overview(), "",
             rows.statuses(), ""]
    if summary.graded:
        lines += [f"## {t('batch.report.distribution')}", ""]
        lines += _table([t("batch.report.range"), t("batch.report.students"), ""], rows.distribution(), "rr-")
        lines += [f"## {t('batch.report.per_exercise')}", ""]
        lines += _table(rows.exercise_header(), rows.exercises(), "-rrrrrr-")
        lines += [f"## {t('batch.report.hardest')}", ""]
        causes = rows.causes()
        lines += _table(rows.cause_header(), causes, "--rr-") if causes else [t("batch.report.all_pass"), ""]
        lines += [f"## {t('batch.report.misconceptions')}", ""]
        found = [(f"`{m}`", title, count) for m, title, count in rows.misconceptions()]
        lines += _table([t("batch.report.misconception"), t("batch.report.meaning"), t("batch.report.students")],
                        found, "--r") if found else [t("batch.report.no_misconceptions"), ""]
    if summary.clusters:
        lines += [f"## {t('batch.report.similar')}", "", t("batch.report.similar_note"), ""]
        lines += _table(["#", t("batch.report.similarity"), t("batch.report.students")], rows.clusters(), "rr-")
    if summary.differences:
        count = len({d.student for d in summary.differences})
        lines += [f"## {t('batch.report.differences', count=count)}", ""]
        lines += _table([t("batch.report.student"), t("batch.report.test"), "nbgrader", t("batch.report.kit")],
                        rows.differences(), "--rr")
    problems = rows.problems()
    if problems:
        lines += [f"## {t('batch.report.problems')}", ""] + [f"- {s}: {p}" for s, p in problems] + [""]
    missing = rows.not_graded()
    if missing:
        lines += [f"## {t('batch.report.not_graded')}", ""] + [f"- {s}: {e}" for s, e in missing] + [""]
    lines += [t("batch.report.reproduce"), ""]
    return "\n".join(lines)


def _table(header: list[str], rows: list[tuple], align: str) -> list[str]:
    def cell(value) -> str:
        return str(value).replace("|", "\\|") or " "

    rule = {"-": "---", "r": "--:"}
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines + [""]
