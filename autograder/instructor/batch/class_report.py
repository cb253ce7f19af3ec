"""Class analytics of `grade batch`: how the class did, as data, and its two renderings.

`summarize` reads the batch's records (each holding a `grade --json` report) into a
`ClassSummary`: the score distribution of the total, of each exercise and of the quiz; every
check's pass rate among the students who reached it (a check that did not run because its
exercise was not started, or was blocked by a failing prerequisite, is left out); and how many
students hit each named misconception. `ClassReportView` shows it in the terminal (Rich) and
`markdown` writes it as a file.
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
from autograder.instructor.batch.gradebook import error_text

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

    def hardest(self, limit: int = HARDEST) -> list[CheckStats]:
        """The checks with the lowest pass rate (below 100 %) among the students who reached them."""
        failing = [c for c in self.checks if c.reached and c.failed]
        return sorted(failing, key=lambda c: (c.rate, -c.reached, c.id))[:limit]


def summarize(records: list[dict], course: Course) -> ClassSummary:
    graded = [r for r in records if r.get("report")]
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
    return ClassSummary(len(records), len(graded), total, list(exercises.values()),
                        quiz if quiz is not None and quiz.scores else None, list(checks.values()), ranked,
                        [r for r in records if not r.get("report")])


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

    def hardest(self) -> list[tuple[str, str, str, str]]:
        return [(c.id, c.title, f"{c.passed} / {c.reached}", percent(c.rate)) for c in self.summary.hardest()]

    def misconceptions(self) -> list[tuple[str, str, str]]:
        t = self.t
        return [(m.id, t(f"misconceptions.{m.id}.title"), str(len(m.students))) for m in self.summary.misconceptions]

    def not_graded(self) -> list[tuple[str, str]]:
        return [(r["student"], error_text(r, self.t)) for r in self.summary.not_graded]

    def exercise_header(self) -> list[str]:
        t = self.t
        return [t("batch.report.exercise"), t("batch.report.max"), t("batch.report.mean"), t("batch.report.median"),
                t("batch.report.full"), t("batch.report.zero"), t("batch.report.not_started"),
                t("batch.report.spread")]


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
            for i, header in enumerate(rows.exercise_header()):
                table.add_column(header, justify="left" if i in (0, 7) else "right", no_wrap=True,
                                 style="cyan" if i == 7 else None)
            for row in rows.exercises():
                table.add_row(*row)
            yield table
            yield Text(t("batch.report.hardest"), style="bold")
            hardest = rows.hardest()
            if hardest:
                table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
                table.add_column(t("batch.report.rate"), justify="right", no_wrap=True)
                table.add_column(t("batch.report.passed"), justify="right", no_wrap=True)
                table.add_column(t("batch.report.check"), overflow="fold")
                for check, title, passed, rate in hardest:
                    table.add_row(rate, passed, Text.assemble((check, "bold"), "\n", (title, "dim")))
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
        missing = rows.not_graded()
        if missing:
            yield Text(t("batch.report.not_graded"), style="bold red")
            for student, error in missing:
                yield Text(f"  {student}: {error}", style="red")


def markdown(summary: ClassSummary, course: Course, t: Translator) -> str:
    """The class report as a Markdown file."""
    rows = _Rows(summary, course, t)
    lines = [f"# {t('batch.report.heading', course=t.text(course.title))}", "", rows.overview(), ""]
    if summary.graded:
        lines += [f"## {t('batch.report.distribution')}", ""]
        lines += _table([t("batch.report.range"), t("batch.report.students"), ""], rows.distribution(), "rr-")
        lines += [f"## {t('batch.report.per_exercise')}", ""]
        lines += _table(rows.exercise_header(), rows.exercises(), "-rrrrrr-")
        lines += [f"## {t('batch.report.hardest')}", ""]
        hardest = [(f"`{check}`", title, passed, rate) for check, title, passed, rate in rows.hardest()]
        lines += _table([t("batch.report.check"), t("batch.report.title"), t("batch.report.passed"),
                         t("batch.report.rate")], hardest, "--rr") if hardest else [t("batch.report.all_pass"), ""]
        lines += [f"## {t('batch.report.misconceptions')}", ""]
        found = [(f"`{m}`", title, count) for m, title, count in rows.misconceptions()]
        lines += _table([t("batch.report.misconception"), t("batch.report.meaning"), t("batch.report.students")],
                        found, "--r") if found else [t("batch.report.no_misconceptions"), ""]
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
