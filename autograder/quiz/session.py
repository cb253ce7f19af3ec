"""The interactive quiz: ask, judge, explain, save; then offer to retry the wrong ones.

Unanswered questions come first, in the bank's order; every answer is saved at once (the
state file is written atomically), so Ctrl-C or ``q`` loses nothing and the next run resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.prompt import Prompt
from rich.rule import Rule
from rich.text import Text

from autograder.i18n import Translator
from autograder.quiz.answers import QuizStore
from autograder.quiz.bank import LETTERS, Bank, Matching, Multiple, Ordering, Question, Single
from autograder.quiz.check import (
    FALSE_WORDS,
    TRUE_WORDS,
    AnswerError,
    judge,
    parse,
    parse_option,
    variant_of,
)
from autograder.quiz.numbers import fmt
from autograder.quiz.views import QuestionView, QuizSummaryView, VerdictView

QUIT_WORDS = {"q", "quit", "exit", "salir"}


class Quit(Exception):
    """The student typed q."""


@dataclass
class QuizSession:
    """One run of ``grade quiz`` over a selection of questions."""

    bank: Bank
    store: QuizStore
    points: float
    t: Translator
    console: Console

    def run(self, questions: list[Question]) -> None:
        """Ask what is unanswered, then offer retries until all is right or the student stops."""
        self.header()
        pending = [q for q in questions if self.store.entry(q.id) is None]
        if pending:
            done = len(questions) - len(pending)
            self.ask_round(pending, "quiz.question", start=done + 1, total=len(questions))
        while True:
            wrong = [q for q in questions if self.store.entry(q.id) is not None and not self.store.is_right(q)]
            if not wrong:
                self.console.print(Text(self.t("quiz.all_right", count=len(questions)), style="bold green"))
                break
            if not self.confirm(self.t("quiz.retry_prompt", count=len(wrong))):
                break
            self.ask_round(wrong, "quiz.retry", start=1, total=len(wrong))
        self.summary()

    def header(self) -> None:
        result = self.store.result(self.bank, self.points)
        self.console.print(Text(self.t("quiz.header", answered=result.answered, total=len(result.questions),
                                       score=fmt(float(result.score)), max=fmt(float(self.points))), style="bold"))
        self.console.print(Text(self.t("quiz.keys"), style="dim"))

    def summary(self) -> None:
        self.console.print(Rule())
        self.console.print(QuizSummaryView(self.store.result(self.bank, self.points), self.bank, self.t))

    def ask_round(self, questions: list[Question], title_key: str, start: int, total: int) -> None:
        for offset, question in enumerate(questions):
            title = self.t(title_key, number=start + offset, total=total)
            self.ask(question, title)

    def ask(self, question: Question, title: str) -> None:
        numbers = variant_of(question, self.store.seed)
        topic = self.t.text(self.bank.topic(question.topic).title)
        self.console.print()
        self.console.print(QuestionView(question, numbers, self.t, title, topic))
        answer = self.read(question)
        self.store.record(question, answer, self.bank, self.points)
        self.console.print(VerdictView(question, judge(question, answer, numbers), numbers, self.t))

    def read(self, question: Question) -> Any:
        """Ask until the answer can be read; a matching question asks statement by statement."""
        if isinstance(question, Matching):
            letters = self.letters(len(question.options))
            return {pair.id: self.read_one(question, self.t("quiz.ask.matching", number=number, letters=letters),
                                           option=True)
                    for number, pair in enumerate(question.pairs, 1)}
        return self.read_one(question, self.label(question))

    def read_one(self, question: Question, label: str, option: bool = False) -> Any:
        while True:
            raw = Prompt.ask(Text(label, style="bold"), console=self.console)
            if raw.strip().lower() in QUIT_WORDS:
                raise Quit
            try:
                return parse_option(question, raw) if option else parse(question, raw)
            except AnswerError as error:
                self.console.print(Text(self.t(error.message), style="red"))

    def label(self, question: Question) -> str:
        t = self.t
        if isinstance(question, (Single, Multiple)):
            return t(f"quiz.ask.{question.kind}", letters=self.letters(len(question.choices)))
        if isinstance(question, Ordering):
            example = " ".join(str(n) for n in reversed(range(1, len(question.items) + 1)))
            return t("quiz.ask.ordering", example=example)
        return t(f"quiz.ask.{question.kind}")

    def confirm(self, question: str) -> bool:
        while True:
            raw = Prompt.ask(Text(f"{question} {self.t('quiz.yes_no')}", style="bold"), console=self.console)
            word = raw.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS or word in QUIT_WORDS:
                return False

    @staticmethod
    def letters(count: int) -> str:
        return f"a-{LETTERS[count - 1]}"
