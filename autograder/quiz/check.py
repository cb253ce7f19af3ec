"""Judging quiz answers: read an answer, decide if it is right, say why not.

An answer is stored in a canonical form, by id, whatever order the student saw (JSON-ready,
and the same for every student)::

    single      "running_weight"              a choice id
    multiple    ["batch_noise", "higher_lr"]  choice ids, sorted
    true_false  true
    numeric     0.25
    ordering    ["linear", "bn", ...]         item ids, in the student's order
    matching    {statement_id: option_id}

Typed in the terminal (or written in an exported notebook), letters and numbers are read
through the order the student was shown (`autograder.quiz.order.Shown`): ``b``, ``"a c"``,
``3 1 4 2``, ``a b a c``. Without a shown order only ids are read.

A `Verdict` separates what may be said while the question is still open (why the answer given
is wrong) from what waits until it is closed (which right choices were left out, where the
misplaced items belong), so that feedback never hands out the answer before it is closed.
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
from autograder.quiz import seal
from autograder.quiz.numbers import Variant, fmt, variant
from autograder.quiz.order import Shown

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
    """Whether an answer is right, and what was wrong in it."""

    correct: bool
    feedback: list[Text | Msg] = field(default_factory=list)
    """Why the answer given is wrong; never names the right answer (safe while open)."""
    wrong: tuple[str, ...] = ()
    """Ids of what was wrong: right choices left out (multiple), misplaced items (ordering),
    statements matched wrong (matching). Named while open, explained once closed."""
    readable: bool = True
    """False when the answer could not be read at all (a letter out of range, not a number)."""


def variant_of(question: Question, seed: int | None) -> Variant | None:
    """The student's numbers for a numeric question (None for the other types, or without a
    seed)."""
    if not isinstance(question, Numeric) or seed is None:
        return None
    return variant(question.generator, seed, question.id)


def check(question: Question, raw: Any, seed: int | None, shown: Shown | None = None) -> Verdict:
    """Read `raw` (letters through `shown`, if given) and judge it; an unreadable answer is
    wrong, with the reason. A numeric answer needs the seed its numbers came from."""
    if seed is None and isinstance(question, Numeric):
        return Verdict(False, [msg("quiz.answers.no_seed")], readable=False)
    try:
        answer = parse(question, raw, shown)
    except AnswerError as error:
        return Verdict(False, [error.message], readable=False)
    return judge(question, answer, variant_of(question, seed))


# -- reading ---------------------------------------------------------------------------------------


@singledispatch
def parse(question: Question, raw: Any, shown: Shown | None = None) -> Any:
    """The canonical form of `raw`; raises `AnswerError` when it cannot be read."""
    raise TypeError(type(question).__name__)


@parse.register
def _(question: Single, raw: Any, shown: Shown | None = None) -> str:
    return _choice(question, raw, shown)


@parse.register
def _(question: Multiple, raw: Any, shown: Shown | None = None) -> list[str]:
    parts = _parts(raw)
    if shown is not None and len(parts) == 1 and parts[0].isalpha() and parts[0] not in _ids(question):
        parts = list(parts[0])  # "ac"
    if not parts:
        raise AnswerError(_expect_choice(question, shown, multiple=True))
    chosen = [_choice(question, part, shown, multiple=True) for part in parts]
    if len(set(chosen)) != len(chosen):
        raise AnswerError(msg("quiz.expect.repeated"))
    return sorted(chosen)


@parse.register
def _(question: TrueFalse, raw: Any, shown: Shown | None = None) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower().rstrip(".")
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise AnswerError(msg("quiz.expect.true_false"))


@parse.register
def _(question: Numeric, raw: Any, shown: Shown | None = None) -> float:
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
def _(question: Ordering, raw: Any, shown: Shown | None = None) -> list[str]:
    ids = [item.id for item in question.items]
    parts = _parts(raw)
    if shown is not None:
        if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) == len(ids):
            parts = list(parts[0])  # "3142"
        if parts and all(part.isdigit() for part in parts):
            parts = [shown.by_number(int(part)) or "?" for part in parts]
    if sorted(parts) != sorted(ids):
        key = "quiz.expect.ordering" if shown is not None else "quiz.expect.ordering_ids"
        raise AnswerError(msg(key, count=len(ids), ids=", ".join(ids)))
    return parts


@parse.register
def _(question: Matching, raw: Any, shown: Shown | None = None) -> dict[str, str]:
    statements = [pair.id for pair in question.pairs]
    if isinstance(raw, dict):
        if set(map(str, raw)) != set(statements):
            raise AnswerError(msg("quiz.expect.matching_ids", ids=", ".join(statements)))
        return {str(key): parse_option(question, value, shown) for key, value in raw.items()}
    if shown is None:
        raise AnswerError(msg("quiz.expect.matching_ids", ids=", ".join(statements)))
    parts = _parts(raw)
    if len(parts) != len(statements):
        raise AnswerError(msg("quiz.expect.matching", count=len(statements)))
    return {statement: parse_option(question, part, shown) for statement, part in zip(shown.ids, parts)}


def parse_option(question: Matching, raw: Any, shown: Shown | None = None) -> str:
    """One statement's option, from its id or the letter it is shown with."""
    value = str(raw).strip().lower().rstrip(")")
    ids = [option.id for option in question.options]
    if value in ids:
        return value
    found = shown.by_letter(value, option=True) if shown is not None else None
    if found is not None:
        return found
    if shown is None:
        raise AnswerError(msg("quiz.expect.option_id", ids=", ".join(ids)))
    raise AnswerError(msg("quiz.expect.option", last=LETTERS[len(ids) - 1]))


def _parts(raw: Any) -> list[str]:
    if isinstance(raw, (list, tuple)):
        return [str(part).strip().lower().rstrip(")") for part in raw if str(part).strip()]
    return [part.rstrip(")") for part in SEPARATORS.split(str(raw).strip().lower()) if part.rstrip(")")]


def _ids(question: Single | Multiple) -> list[str]:
    return [choice.id for choice in question.choices]


def _choice(question: Single | Multiple, raw: Any, shown: Shown | None, multiple: bool = False) -> str:
    value = str(raw).strip().lower().rstrip(")")
    if value in _ids(question):
        return value
    found = shown.by_letter(value) if shown is not None else None
    if found is None:
        raise AnswerError(_expect_choice(question, shown, multiple))
    return found


def _expect_choice(question: Single | Multiple, shown: Shown | None, multiple: bool) -> Msg:
    if shown is None:
        return msg("quiz.expect.choice_ids", ids=", ".join(_ids(question)))
    return msg("quiz.expect.multiple" if multiple else "quiz.expect.single", last=LETTERS[len(question.choices) - 1])


# -- judging ---------------------------------------------------------------------------------------


def judge(question: Question, answer: Any, numbers: Variant | None) -> Verdict:
    """Judge a canonical answer (of a sealed question too: `judge_sealed`)."""
    if question.sealed:
        return judge_sealed(question, answer)
    return _judge(question, answer, numbers)


def judge_sealed(question: Question, answer: Any) -> Verdict:
    """The same verdict as unsealed, from the seal's digests and notes (`autograder.quiz.seal`).
    A wrong true/false answer gives the right one away (it closes the question), so that
    question is opened and judged whole."""
    if seal.is_right(question, answer):
        return Verdict(True)
    if isinstance(question, TrueFalse):
        return _judge(seal.open_question(question, not answer), answer, None)
    if isinstance(question, Single):
        feedback = seal.note(question, answer)
        return Verdict(False, [feedback] if feedback is not None else [])
    if isinstance(question, Multiple):
        wrong = seal.wrong_choices(question)
        feedback: list[Text | Msg] = [seal.note(question, c.id) for c in question.choices
                                      if c.id in answer and c.id in wrong]
        missed = tuple(c.id for c in question.choices if c.id not in wrong and c.id not in answer)
        if missed:
            feedback.append(msg("quiz.missing_some"))
        return Verdict(False, [item for item in feedback if item is not None], missed)
    if isinstance(question, Ordering):
        return Verdict(False, [], seal.misplaced(question, answer))
    return Verdict(False, [], seal.mismatched(question, answer))


@singledispatch
def _judge(question: Question, answer: Any, numbers: Variant | None) -> Verdict:
    raise TypeError(type(question).__name__)


@_judge.register
def _(question: Single, answer: str, numbers: Variant | None) -> Verdict:
    choice = next(c for c in question.choices if c.id == answer)
    return Verdict(True) if choice.correct else Verdict(False, [choice.feedback])


@_judge.register
def _(question: Multiple, answer: list[str], numbers: Variant | None) -> Verdict:
    """Each wrong pick with its feedback; the right choices left out are named only once the
    question is closed (`Verdict.wrong`)."""
    feedback: list[Text | Msg] = [c.feedback for c in question.choices if c.id in answer and not c.correct]
    missed = tuple(c.id for c in question.choices if c.correct and c.id not in answer)
    if missed:
        feedback.append(msg("quiz.missing_some"))
    return Verdict(not feedback, feedback, missed)


@_judge.register
def _(question: TrueFalse, answer: bool, numbers: Variant | None) -> Verdict:
    return Verdict(True) if answer == question.answer else Verdict(False, [question.feedback])


@_judge.register
def _(question: Numeric, answer: float, numbers: Variant | None) -> Verdict:
    if question.tolerance.accepts(answer, numbers.answer):
        return Verdict(True)
    for name, value in numbers.mistakes.items():
        if question.tolerance.accepts(answer, value):
            return Verdict(False, [question.mistakes[name]])
    return Verdict(False, [msg("quiz.numeric_off", got=fmt(answer))])


@_judge.register
def _(question: Ordering, answer: list[str], numbers: Variant | None) -> Verdict:
    misplaced = tuple(got for got, right in zip(answer, question.order) if got != right)
    return Verdict(not misplaced, [], misplaced)


@_judge.register
def _(question: Matching, answer: dict[str, str], numbers: Variant | None) -> Verdict:
    wrong = tuple(pair.id for pair in question.pairs if answer.get(pair.id) != pair.match)
    return Verdict(not wrong, [], wrong)


# -- the key ---------------------------------------------------------------------------------------


def key(question: Question, numbers: Variant | None) -> Any:
    """The right answer in canonical form (a sealed question must be opened first:
    `autograder.quiz.seal.open_question`)."""
    if question.sealed:
        raise seal.SealError(f"{question.id}: the answer of a sealed question is not in the bank")
    return _key(question, numbers)


@singledispatch
def _key(question: Question, numbers: Variant | None) -> Any:
    raise TypeError(type(question).__name__)


@_key.register
def _(question: Single, numbers: Variant | None) -> str:
    return next(choice.id for choice in question.choices if choice.correct)


@_key.register
def _(question: Multiple, numbers: Variant | None) -> list[str]:
    return sorted(choice.id for choice in question.choices if choice.correct)


@_key.register
def _(question: TrueFalse, numbers: Variant | None) -> bool:
    return question.answer


@_key.register
def _(question: Numeric, numbers: Variant | None) -> float:
    return numbers.answer


@_key.register
def _(question: Ordering, numbers: Variant | None) -> list[str]:
    return list(question.order)


@_key.register
def _(question: Matching, numbers: Variant | None) -> dict[str, str]:
    return {pair.id: pair.match for pair in question.pairs}

