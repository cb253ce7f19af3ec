"""Rich views of the quiz and the lessons: a question, the verdict on an attempt, the answer of
a closed question, the score by topic, the list of topics, one lesson. Each renders itself
(``__rich_console__``).

What a view shows depends on whether the question is closed: while it is open, the feedback
on the answer given (never the right answer); once it is closed, the answer and the
explanation.
"""

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
    Bank,
    Matching,
    Multiple,
    Numeric,
    Ordering,
    Question,
    Single,
    TrueFalse,
)
from autograder.quiz.check import Verdict, key
from autograder.quiz.numbers import Variant, fmt
from autograder.quiz.order import Shown


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


def element_text(question: Question, element_id: str) -> CourseText:
    """The text of a choice, an ordering item or a matching statement."""
    if isinstance(question, (Single, Multiple)):
        return next(c.text for c in question.choices if c.id == element_id)
    if isinstance(question, Ordering):
        return next(item.text for item in question.items if item.id == element_id)
    return next(pair.text for pair in question.pairs if pair.id == element_id)


def listing(question: Question, shown: Shown, numbers: Variant | None, t: Translator) -> list[tuple[str, str]]:
    """(label, Markdown) rows of what to choose from, in the student's order."""
    if isinstance(question, (Single, Multiple)):
        return [(f"{shown.letter(cid)})", say(t, element_text(question, cid), numbers)) for cid in shown.ids]
    if isinstance(question, Ordering):
        return [(f"{n}.", say(t, element_text(question, iid), numbers)) for n, iid in enumerate(shown.ids, 1)]
    if isinstance(question, Matching):
        options = {o.id: o.text for o in question.options}
        rows = [(f"{n}.", say(t, element_text(question, pid), numbers)) for n, pid in enumerate(shown.ids, 1)]
        return rows + [("", "")] + [(f"{shown.letter(oid, option=True)})", say(t, options[oid], numbers))
                                    for oid in shown.options]
    return []


def _grid(rows: list[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column()
    for label, text in rows:
        grid.add_row(label, Markdown(text) if text else Text(""))
    return grid


@dataclass
class QuestionView:
    """One question: its topic and place in the round, the prompt and what to choose from."""

    question: Question
    numbers: Variant | None
    shown: Shown
    t: Translator
    title: str
    """"Question 3 of 12" or "Practice 1 of 2"."""
    topic: str

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, q = self.t, self.question
        body: list[Any] = [Markdown(say(t, q.prompt, self.numbers))]
        rows = listing(q, self.shown, self.numbers, t)
        if rows:
            body += [Text(""), _grid(rows)]
        subtitle = t(f"quiz.kind.{q.kind}")
        if q.exercise:
            subtitle += " · " + t("quiz.checkpoint", exercise=q.exercise)
        if isinstance(q, Numeric) and tolerance_text(q):
            body += [Text(""), Text(t("quiz.tolerance", tolerance=tolerance_text(q)), style="dim")]
        yield Panel(Group(*body), title=f"{self.title} · {self.topic}", title_align="left",
                    subtitle=subtitle, subtitle_align="right", border_style="cyan")


def wrong_lines(question: Question, verdict: Verdict, shown: Shown, t: Translator, *, closed: bool) -> list[str]:
    """What was wrong beyond the chosen answer's feedback: while open, which items are out of
    place or matched wrong; once closed, also the right choices left out and why each misplaced
    item goes where it does."""
    lines: list[str] = []
    if not verdict.wrong:
        return lines
    if isinstance(question, Multiple):
        if closed:
            for cid in verdict.wrong:
                lines.append(t("quiz.missed", letter=shown.letter(cid)))
                choice = next(c for c in question.choices if c.id == cid)
                if choice.feedback is not None:
                    lines.append(say(t, choice.feedback))
        return lines
    if isinstance(question, Ordering):
        names = ", ".join(t.text(element_text(question, iid)) for iid in verdict.wrong)
        lines.append(t("quiz.out_of_place", items=names))
        if closed:
            lines += [say(t, item.feedback) for item in question.items if item.id in verdict.wrong]
    elif isinstance(question, Matching):
        names = ", ".join(t.text(element_text(question, pid)) for pid in verdict.wrong)
        lines.append(t("quiz.matched_wrong", items=names))
        if closed:
            lines += [say(t, pair.feedback) for pair in question.pairs if pair.id in verdict.wrong]
    return lines


@dataclass
class AnswerView:
    """A closed question: its answer (unless the student gave it) and the explanation."""

    question: Question
    numbers: Variant | None
    shown: Shown
    t: Translator
    right: bool
    """The student's answer was right (the answer need not be repeated)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, q = self.t, self.question
        if not self.right:
            yield Text(t("quiz.the_answer"), style="bold")
            yield Padding(_grid(self.answer_rows()), (0, 0, 0, 2))
        yield Panel(Markdown(say(t, q.explanation, self.numbers)), title=t("quiz.explanation"),
                    title_align="left", border_style="green" if self.right else "yellow")

    def answer_rows(self) -> list[tuple[str, str]]:
        t, q, shown, numbers = self.t, self.question, self.shown, self.numbers
        right = key(q, numbers)
        if isinstance(q, Single):
            return [(f"{shown.letter(right)})", say(t, element_text(q, right), numbers))]
        if isinstance(q, Multiple):
            return [(f"{shown.letter(cid)})", say(t, element_text(q, cid), numbers)) for cid in shown.ids
                    if cid in right]
        if isinstance(q, TrueFalse):
            return [("", t("quiz.true" if right else "quiz.false"))]
        if isinstance(q, Numeric):
            return [("", f"`{fmt(right)}`")]
        if isinstance(q, Ordering):
            return [(f"{n}.", say(t, element_text(q, iid), numbers)) for n, iid in enumerate(right, 1)]
        options = {o.id: o.text for o in q.options}
        return [(f"{shown.ids.index(pid) + 1}.", f"{say(t, element_text(q, pid), numbers)} → "
                 f"{shown.letter(right[pid], option=True)}) {say(t, options[right[pid]], numbers)}")
                for pid in shown.ids]


@dataclass
class VerdictView:
    """After an attempt: right or not, what was wrong in it; the answer and the explanation
    only if the question is now closed."""

    question: Question
    verdict: Verdict
    numbers: Variant | None
    shown: Shown
    t: Translator
    scored: bool
    """This was the first attempt, the one that counts."""
    closed: bool

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, q, verdict = self.t, self.question, self.verdict
        if verdict.correct:
            yield Text(t("quiz.right_first" if self.scored else "quiz.right_practice"), style="bold green")
        else:
            yield Text(t("quiz.wrong"), style="bold red")
            items = [say(t, item, self.numbers) for item in verdict.feedback]
            items += wrong_lines(q, verdict, self.shown, t, closed=self.closed)
            bullet = "- " if len(items) > 1 else ""
            for item in items:
                yield Padding(Markdown(bullet + item), (0, 0, 0, 2))
        if self.closed:
            yield AnswerView(q, self.numbers, self.shown, t, right=verdict.correct)
        else:
            yield Text(t("quiz.still_open_first" if self.scored else "quiz.still_open"), style="dim")
        if not verdict.correct:
            yield Text(t("quiz.read_more", topic=q.topic), style="dim")


@dataclass
class QuizSummaryView:
    """The score, and per topic: right at the first try, right later in practice, answered."""

    result: QuizResult
    bank: Bank
    t: Translator

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, result = self.t, self.result
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column(t("quiz.summary.topic"))
        table.add_column(t("quiz.summary.right"), justify="right")
        table.add_column(t("quiz.summary.practice"), justify="right")
        table.add_column(t("quiz.summary.answered"), justify="right")
        for topic in self.bank.topics:
            mine = [q for q in result.questions if q.topic == topic.id]
            right = sum(q.correct for q in mine)
            style = "green" if right == len(mine) else ("dim" if not any(q.answered for q in mine) else "")
            practised = sum(q.practised for q in mine)
            table.add_row(Text(t.text(topic.title), style=style), f"{right}/{len(mine)}",
                          f"+{practised}" if practised else "", f"{sum(q.answered for q in mine)}/{len(mine)}")
        yield table
        yield Text(t("quiz.summary.score", score=fmt(float(result.score)), max=fmt(float(result.max_points)),
                     correct=result.correct, total=len(result.questions)), style="bold")
        if result.practised:
            yield Text(t("quiz.summary.practised", count=result.practised), style="cyan")


@dataclass
class AnswersView:
    """``grade quiz --answers FILE``: the first attempts that are wrong, with the feedback on
    each (never the right answer), then the questions left unanswered."""

    bank: Bank
    judged: dict[str, list[Verdict]]
    numbers: dict[str, Variant | None]
    t: Translator

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t = self.t
        wrong = [q for q in self.bank.questions if q.id in self.judged and not self.judged[q.id][0].correct]
        if wrong:
            table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            table.add_column(t("quiz.answers.question"), no_wrap=True)
            table.add_column(t("quiz.answers.result"))
            for question in wrong:
                verdict = self.judged[question.id][0]
                reasons = [say(t, item, self.numbers[question.id]) for item in verdict.feedback]
                reasons += wrong_lines(question, verdict, Shown(), t, closed=False)
                label = t("quiz.wrong") if verdict.readable else t("quiz.answers.unreadable")
                table.add_row(question.id, Markdown(" ".join([label, *reasons])))
            yield table
        missing = [q.id for q in self.bank.questions if q.id not in self.judged]
        if missing:
            yield Text(t("quiz.answers.unanswered", count=len(missing), ids=", ".join(missing)), style="dim")
        right = len(self.judged) - len(wrong)
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
