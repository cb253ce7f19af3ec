"""Rich views of the quiz and the lessons: a question, the verdict on an answer, the score by
topic, the list of topics, one lesson. Each renders itself (``__rich_console__``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.markdown import Markdown
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from autograder.course import Text as CourseText
from autograder.grading.results import QuizResult
from autograder.i18n import Msg, Translator
from autograder.quiz.bank import (
    LETTERS,
    Bank,
    Matching,
    Multiple,
    Numeric,
    Ordering,
    Question,
    Single,
)
from autograder.quiz.check import Verdict
from autograder.quiz.numbers import Variant, fmt


def say(t: Translator, item: CourseText | Msg | str, numbers: Variant | None = None) -> str:
    """A bank text (with the student's numbers filled in), a catalog message or a string."""
    if isinstance(item, Msg):
        return t(item)
    if isinstance(item, CourseText):
        text = t.text(item)
        return text.format_map(numbers.values) if numbers is not None else text
    return str(item)


def tolerance_text(question: Numeric) -> str:
    parts = []
    if question.tolerance.abs:
        parts.append(fmt(question.tolerance.abs))
    if question.tolerance.rel:
        parts.append(f"{question.tolerance.rel:.0%}")
    return " / ".join(parts)


@dataclass
class QuestionView:
    """One question: its topic and place in the round, the prompt and what to choose from."""

    question: Question
    numbers: Variant | None
    t: Translator
    title: str
    """"Question 3 of 12" or "Retry 1 of 2"."""
    topic: str

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, q = self.t, self.question
        body: list[Any] = [Markdown(say(t, q.prompt, self.numbers))]
        listing = self.listing()
        if listing is not None:
            body += [Text(""), listing]
        subtitle = t(f"quiz.kind.{q.kind}")
        if q.exercise:
            subtitle += " · " + t("quiz.checkpoint", exercise=q.exercise)
        if isinstance(q, Numeric) and tolerance_text(q):
            body += [Text(""), Text(t("quiz.tolerance", tolerance=tolerance_text(q)), style="dim")]
        yield Panel(Group(*body), title=f"{self.title} · {self.topic}", title_align="left",
                    subtitle=subtitle, subtitle_align="right", border_style="cyan")

    def listing(self) -> Table | None:
        t, q = self.t, self.question
        if isinstance(q, (Single, Multiple)):
            rows = [(f"{LETTERS[i]})", choice.text) for i, choice in enumerate(q.choices)]
        elif isinstance(q, Ordering):
            rows = [(f"{i}.", item.text) for i, item in enumerate(q.items, 1)]
        elif isinstance(q, Matching):
            rows = [(f"{i}.", pair.text) for i, pair in enumerate(q.pairs, 1)]
            rows += [("", "")] + [(f"{LETTERS[i]})", option.text) for i, option in enumerate(q.options)]
        else:
            return None
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column()
        for label, text in rows:
            grid.add_row(label, Markdown(say(t, text, self.numbers)) if text else Text(""))
        return grid


@dataclass
class VerdictView:
    """After an answer: right or not, the feedback on what was wrong, the explanation."""

    question: Question
    verdict: Verdict
    numbers: Variant | None
    t: Translator

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, q = self.t, self.question
        if self.verdict.correct:
            yield Text(t("quiz.right"), style="bold green")
        else:
            yield Text(t("quiz.wrong"), style="bold red")
            bullet = "- " if len(self.verdict.feedback) > 1 else ""
            for item in self.verdict.feedback:
                yield Padding(Markdown(bullet + say(t, item, self.numbers)), (0, 0, 0, 2))
        yield Panel(Markdown(say(t, q.explanation, self.numbers)), title=t("quiz.explanation"),
                    title_align="left", border_style="green" if self.verdict.correct else "yellow")
        if not self.verdict.correct:
            yield Text(t("quiz.read_more", topic=q.topic), style="dim")


@dataclass
class QuizSummaryView:
    """The score, and right / answered / total per topic."""

    result: QuizResult
    bank: Bank
    t: Translator

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, result = self.t, self.result
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column(t("quiz.summary.topic"))
        table.add_column(t("quiz.summary.right"), justify="right")
        table.add_column(t("quiz.summary.answered"), justify="right")
        for topic in self.bank.topics:
            mine = [q for q in result.questions if q.topic == topic.id]
            right = sum(q.correct for q in mine)
            style = "green" if right == len(mine) else ("dim" if not any(q.answered for q in mine) else "")
            table.add_row(Text(t.text(topic.title), style=style), f"{right}/{len(mine)}",
                          f"{sum(q.answered for q in mine)}/{len(mine)}")
        yield table
        first = sum(q.first_try for q in result.questions)
        yield Text(t("quiz.summary.score", score=fmt(float(result.score)), max=fmt(float(result.max_points)),
                     correct=result.correct, total=len(result.questions), first=first), style="bold")


@dataclass
class AnswersView:
    """``grade quiz --answers FILE``: the wrong answers with their feedback, then the questions
    left unanswered (the right ones only count, in the summary)."""

    bank: Bank
    verdicts: dict[str, Verdict]
    numbers: dict[str, Variant | None]
    t: Translator

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t = self.t
        wrong = [q for q in self.bank.questions if q.id in self.verdicts and not self.verdicts[q.id].correct]
        if wrong:
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            table.add_column(t("quiz.answers.question"), no_wrap=True)
            table.add_column(t("quiz.answers.result"))
            for question in wrong:
                reasons = " ".join(say(t, item, self.numbers[question.id]) for item in self.verdicts[question.id].feedback)
                verdict = t("quiz.wrong") if self.verdicts[question.id].readable else t("quiz.answers.unreadable")
                table.add_row(question.id, Markdown(f"{verdict} {reasons}"))
            yield table
        missing = [q.id for q in self.bank.questions if q.id not in self.verdicts]
        if missing:
            yield Text(t("quiz.answers.unanswered", count=len(missing), ids=", ".join(missing)), style="dim")
        right = len(self.verdicts) - len(wrong)
        yield Text(("✔ " if right else "") + t("quiz.answers.right", count=right), style="green" if right else "")


@dataclass
class TopicsView:
    """``grade learn``: the topics in teaching order, their questions and the student's answers."""

    bank: Bank
    result: QuizResult
    t: Translator

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t = self.t
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("#", justify="right")
        table.add_column(t("learn.topic"), no_wrap=True, style="bold")
        table.add_column("")
        table.add_column(t("learn.progress"), justify="right", no_wrap=True)
        for number, topic in enumerate(self.bank.topics, 1):
            mine = [q for q in self.result.questions if q.topic == topic.id]
            right = sum(q.correct for q in mine)
            style = "green" if right == len(mine) else "dim"
            table.add_row(str(number), topic.id, t.text(topic.title),
                          Text(t("learn.right", right=right, total=len(mine)), style=style))
        yield table
        yield Text(t("learn.how"), style="cyan")


@dataclass
class LessonView:
    """One lesson (Markdown), then how to practise it."""

    markdown: str
    topic: str
    questions: int
    t: Translator

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Markdown(self.markdown)
        yield Text("")
        yield Text(self.t("learn.practise", topic=self.topic, count=self.questions), style="bold cyan")
