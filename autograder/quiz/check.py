"""Judging quiz answers: read an answer, decide if it is right, say why not.

An answer arrives as typed in the terminal or as written in an answers file and is read into a
canonical form that can be stored as JSON and read again:

    single      "b"                        a letter
    multiple    ["a", "c"]                 letters, sorted ("a c" and "a, c" are read too)
    true_false  true                       (also t/f, v/f, yes/no, sí/no, verdadero/falso)
    numeric     0.25                       a number ("0,25" and "1/4" are read too)
    ordering    ["linear", "bn", ...]      item ids (or the shown numbers: [3, 1, 4, 2], "3 1 4 2")
    matching    {statement_id: option_id}  (option letters are read too, or "a b a c" in order)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import singledispatch
from typing import Any

from autograder.course import Text
from autograder.i18n import Msg, msg
from autograder.quiz.bank import (
    LETTERS,
    Matching,
    Multiple,
    Numeric,
    Ordering,
    Question,
    Single,
    TrueFalse,
)
from autograder.quiz.numbers import Variant, fmt, variant

TRUE_WORDS = {"true", "t", "yes", "y", "v", "verdadero", "cierto", "s", "si", "sí", "1"}
FALSE_WORDS = {"false", "f", "no", "n", "falso", "0"}
SEPARATORS = re.compile(r"[\s,;]+")


class AnswerError(ValueError):
    """An answer that cannot be read for this question; `message` says what is expected."""

    def __init__(self, message: Msg) -> None:
        super().__init__(message.key)
        self.message = message


@dataclass(frozen=True)
class Verdict:
    """Whether an answer is right, and the feedback on what was wrong in it."""

    correct: bool
    feedback: list[Text | Msg] = field(default_factory=list)
    readable: bool = True
    """False when the answer could not be read at all (a letter out of range, not a number)."""


def variant_of(question: Question, seed: int | None) -> Variant | None:
    """The student's numbers for a numeric question (None for the other types, or without a
    seed)."""
    if not isinstance(question, Numeric) or seed is None:
        return None
    return variant(question.generator, seed, question.id)


def check(question: Question, raw: Any, seed: int | None) -> Verdict:
    """Read `raw` and judge it; an unreadable answer is wrong, with the reason. A numeric
    answer needs the seed its numbers came from."""
    if seed is None and isinstance(question, Numeric):
        return Verdict(False, [msg("quiz.answers.no_seed")], readable=False)
    try:
        answer = parse(question, raw)
    except AnswerError as error:
        return Verdict(False, [error.message], readable=False)
    return judge(question, answer, variant_of(question, seed))


# -- reading ---------------------------------------------------------------------------------------


@singledispatch
def parse(question: Question, raw: Any) -> Any:
    """The canonical form of `raw`; raises `AnswerError` when it cannot be read."""
    raise TypeError(type(question).__name__)


@parse.register
def _(question: Single, raw: Any) -> str:
    return _letter(raw, len(question.choices))


@parse.register
def _(question: Multiple, raw: Any) -> list[str]:
    parts = _parts(raw)
    if len(parts) == 1 and parts[0].isalpha():
        parts = list(parts[0])  # "ac"
    if not parts:
        raise AnswerError(msg("quiz.expect.multiple", last=LETTERS[len(question.choices) - 1]))
    letters = [_letter(part, len(question.choices), multiple=True) for part in parts]
    if len(set(letters)) != len(letters):
        raise AnswerError(msg("quiz.expect.repeated"))
    return sorted(letters)


@parse.register
def _(question: TrueFalse, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower().rstrip(".")
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise AnswerError(msg("quiz.expect.true_false"))


@parse.register
def _(question: Numeric, raw: Any) -> float:
    if isinstance(raw, bool):
        raise AnswerError(msg("quiz.expect.number"))
    if isinstance(raw, (int, float)):
        value = float(raw)
    else:
        text = str(raw).strip().replace(" ", "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        try:
            value = float(Fraction(text)) if "/" in text else float(text)
        except (ValueError, ZeroDivisionError):
            raise AnswerError(msg("quiz.expect.number")) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise AnswerError(msg("quiz.expect.number"))
    return value


@parse.register
def _(question: Ordering, raw: Any) -> list[str]:
    ids = [item.id for item in question.items]
    parts = _parts(raw)
    if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) == len(ids):
        parts = list(parts[0])  # "3142"
    if all(part.isdigit() for part in parts):
        numbers = [int(part) for part in parts]
        if not all(1 <= n <= len(ids) for n in numbers):
            raise AnswerError(msg("quiz.expect.ordering", count=len(ids)))
        parts = [ids[n - 1] for n in numbers]
    if sorted(parts) != sorted(ids):
        raise AnswerError(msg("quiz.expect.ordering", count=len(ids)))
    return parts


@parse.register
def _(question: Matching, raw: Any) -> dict[str, str]:
    statements = [pair.id for pair in question.pairs]
    if isinstance(raw, dict):
        unknown = sorted(set(map(str, raw)) - set(statements))
        if unknown or set(map(str, raw)) != set(statements):
            raise AnswerError(msg("quiz.expect.matching_ids", ids=", ".join(statements)))
        return {str(key): parse_option(question, value) for key, value in raw.items()}
    parts = _parts(raw)
    if len(parts) != len(statements):
        raise AnswerError(msg("quiz.expect.matching", count=len(statements)))
    return {statement: parse_option(question, part) for statement, part in zip(statements, parts)}


def _parts(raw: Any) -> list[str]:
    if isinstance(raw, (list, tuple)):
        return [str(part).strip().lower() for part in raw if str(part).strip()]
    return [part for part in SEPARATORS.split(str(raw).strip().lower()) if part]


def _letter(raw: Any, count: int, multiple: bool = False) -> str:
    letter = str(raw).strip().lower().rstrip(")")
    if len(letter) != 1 or letter not in LETTERS[:count]:
        key = "quiz.expect.multiple" if multiple else "quiz.expect.single"
        raise AnswerError(msg(key, last=LETTERS[count - 1]))
    return letter


def parse_option(question: Matching, raw: Any) -> str:
    """One statement's option, from its id or its shown letter."""
    value = str(raw).strip().lower().rstrip(")")
    ids = [option.id for option in question.options]
    if value in ids:
        return value
    if len(value) == 1 and value in LETTERS[: len(ids)]:
        return ids[LETTERS.index(value)]
    raise AnswerError(msg("quiz.expect.option", last=LETTERS[len(ids) - 1]))


# -- judging ---------------------------------------------------------------------------------------


@singledispatch
def judge(question: Question, answer: Any, numbers: Variant | None) -> Verdict:
    """Judge a canonical answer."""
    raise TypeError(type(question).__name__)


@judge.register
def _(question: Single, answer: str, numbers: Variant | None) -> Verdict:
    choice = question.choices[LETTERS.index(answer)]
    return Verdict(True) if choice.correct else Verdict(False, [choice.feedback])


@judge.register
def _(question: Multiple, answer: list[str], numbers: Variant | None) -> Verdict:
    """Wrong picks first (each with its feedback), then the right choices left out."""
    chosen = [(LETTERS[i] in answer, choice) for i, choice in enumerate(question.choices)]
    feedback: list[Text | Msg] = [choice.feedback for picked, choice in chosen if picked and not choice.correct]
    for index, (picked, choice) in enumerate(chosen):
        if choice.correct and not picked:
            feedback.append(msg("quiz.missed", letter=LETTERS[index]))
            if choice.feedback is not None:
                feedback.append(choice.feedback)
    return Verdict(not feedback, feedback)


@judge.register
def _(question: TrueFalse, answer: bool, numbers: Variant | None) -> Verdict:
    return Verdict(True) if answer == question.answer else Verdict(False, [question.feedback])


@judge.register
def _(question: Numeric, answer: float, numbers: Variant | None) -> Verdict:
    if question.tolerance.accepts(answer, numbers.answer):
        return Verdict(True)
    for name, value in numbers.mistakes.items():
        if question.tolerance.accepts(answer, value):
            return Verdict(False, [question.mistakes[name]])
    return Verdict(False, [msg("quiz.numeric_off", got=fmt(answer))])


@judge.register
def _(question: Ordering, answer: list[str], numbers: Variant | None) -> Verdict:
    items = {item.id: item for item in question.items}
    misplaced = [items[got] for got, right in zip(answer, question.order) if got != right]
    return Verdict(not misplaced, [item.feedback for item in misplaced])


@judge.register
def _(question: Matching, answer: dict[str, str], numbers: Variant | None) -> Verdict:
    wrong = [pair.feedback for pair in question.pairs if answer.get(pair.id) != pair.match]
    return Verdict(not wrong, wrong)


# -- the key ---------------------------------------------------------------------------------------


@singledispatch
def key(question: Question, numbers: Variant | None) -> Any:
    """The right answer in canonical form."""
    raise TypeError(type(question).__name__)


@key.register
def _(question: Single, numbers: Variant | None) -> str:
    return next(LETTERS[i] for i, choice in enumerate(question.choices) if choice.correct)


@key.register
def _(question: Multiple, numbers: Variant | None) -> list[str]:
    return [LETTERS[i] for i, choice in enumerate(question.choices) if choice.correct]


@key.register
def _(question: TrueFalse, numbers: Variant | None) -> bool:
    return question.answer


@key.register
def _(question: Numeric, numbers: Variant | None) -> float:
    return numbers.answer


@key.register
def _(question: Ordering, numbers: Variant | None) -> list[str]:
    return list(question.order)


@key.register
def _(question: Matching, numbers: Variant | None) -> dict[str, str]:
    return {pair.id: pair.match for pair in question.pairs}
