"""The interactive quiz: ask, judge, save; then offer practice on the questions still open.

Questions never attempted come first, in the bank's order: that first attempt is the one that
scores. A wrong one gets the feedback on the answer given, and the question stays open for
practice, where ``?`` shows the answer. A question's explanation appears once it is closed.
Every attempt is saved at once (the state file is written atomically), so Ctrl-C or ``q``
loses nothing and the next run resumes.
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
from autograder.quiz.bank import LETTERS, Matching, Multiple, Ordering, Question, Single
from autograder.quiz.check import FALSE_WORDS, TRUE_WORDS, AnswerError, judge, parse, parse_option, variant_of
from autograder.quiz.numbers import fmt
from autograder.quiz.order import Shown, view_order
from autograder.quiz.views import AnswerView, QuestionView, QuizSummaryView, VerdictView

QUIT_WORDS = {"q", "quit", "exit", "salir"}
REVEAL_WORDS = {"?", "??"}


class Quit(Exception):
    """The student typed q."""


class Reveal(Exception):
    """The student typed ? (practice only): show the answer."""


@dataclass
class QuizSession:
    """One run of ``grade quiz`` over a selection of questions."""

    store: QuizStore
    t: Translator
    console: Console

    def run(self, questions: list[Question]) -> None:
        """Ask what was never attempted, then offer practice until all is closed or the
        student stops."""
        self.header()
        new = [q for q in questions if self.store.is_new(q)]
        if new:
            done = len(questions) - len(new)
            self.ask_round(new, "quiz.question", start=done + 1, total=len(questions), scored=True)
        while True:
            still_open = [q for q in questions if not self.store.is_new(q) and not self.store.is_closed(q)]
            if not still_open:
                self.console.print(Text(self.t("quiz.all_closed", count=len(questions)), style="bold green"))
                break
            if not self.confirm(self.t("quiz.practise_prompt", count=len(still_open))):
                break
            self.ask_round(still_open, "quiz.practice", start=1, total=len(still_open), scored=False)
        self.summary()

    def header(self) -> None:
        result = self.store.result()
        self.console.print(Text(self.t("quiz.header", answered=result.answered, total=len(result.questions),
                                       score=fmt(float(result.score)), max=fmt(float(result.max_points))),
                                style="bold"))
        self.console.print(Text(self.t("quiz.rule"), style="cyan"))
        self.console.print(Text(self.t("quiz.keys"), style="dim"))
        if self.store.damaged:
            self.console.print(Text(self.t("quiz.damaged", count=self.store.damaged), style="yellow"))

    def summary(self) -> None:
        self.console.print(Rule())
        self.console.print(QuizSummaryView(self.store.result(), self.store.bank, self.t))

    def ask_round(self, questions: list[Question], title_key: str, start: int, total: int, scored: bool) -> None:
        for offset, question in enumerate(questions):
            self.ask(question, self.t(title_key, number=start + offset, total=total), scored)

    def ask(self, question: Question, title: str, scored: bool) -> None:
        numbers = variant_of(question, self.store.seed)
        shown = view_order(question, self.store.seed)
        topic = self.t.text(self.store.bank.topic(question.topic).title)
        self.console.print()
        self.console.print(QuestionView(question, numbers, shown, self.t, title, topic))
        try:
            answer = self.read(question, shown, practice=not scored)
        except Reveal:
            self.store.reveal(question)
            self.console.print(AnswerView(self.store.opened(question), numbers, shown, self.t, right=False))
            return
        verdict = self.store.record(question, answer)
        closed = self.store.is_closed(question)
        if closed and question.sealed:  # a student release: the whole question, now that it is closed
            question = self.store.opened(question)
            verdict = judge(question, answer, numbers)
        self.console.print(VerdictView(question, verdict, numbers, shown, self.t, scored=scored, closed=closed))

    def read(self, question: Question, shown: Shown, practice: bool) -> Any:
        """Ask until the answer can be read; a matching question asks statement by statement."""
        if isinstance(question, Matching):
            letters = self.letters(len(question.options))
            return {pid: self.read_one(question, shown, self.t("quiz.ask.matching", number=number, letters=letters),
                                       practice and number == 1, option=True)
                    for number, pid in enumerate(shown.ids, 1)}
        return self.read_one(question, shown, self.label(question), practice)

    def read_one(self, question: Question, shown: Shown, label: str, practice: bool, option: bool = False) -> Any:
        while True:
            raw = Prompt.ask(Text(label, style="bold"), console=self.console)
            word = raw.strip().lower()
            if word in QUIT_WORDS:
                raise Quit
            if word in REVEAL_WORDS:
                if practice:
                    raise Reveal
                self.console.print(Text(self.t("quiz.answer_first"), style="yellow"))
                continue
            try:
                return parse_option(question, raw, shown) if option else parse(question, raw, shown)
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
        return confirm(self.console, question, self.t)

    @staticmethod
    def letters(count: int) -> str:
        return f"a-{LETTERS[count - 1]}"


def confirm(console: Console, question: str, t: Translator) -> bool:
    """Ask a yes/no question until the answer is one; q or the end of the input mean no."""
    while True:
        try:
            raw = Prompt.ask(Text(f"{question} {t('quiz.yes_no')}", style="bold"), console=console)
        except EOFError:
            return False
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS or word in QUIT_WORDS:
            return False
