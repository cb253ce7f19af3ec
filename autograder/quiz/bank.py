"""The quiz's question bank: ``quiz.yml`` loaded into validated, typed models.

course.yml's ``quiz:`` names the bank. The bank lists the topics (each with a lesson in
``lessons/<language>/<topic>.md``) and the questions, every text in English and Spanish::

    Question ─┬─ Single      one right choice; every wrong choice has its own feedback
              ├─ Multiple    several right choices; every wrong choice has its own feedback
              ├─ TrueFalse   a statement; feedback for the wrong verdict
              ├─ Numeric     numbers drawn per student by a named generator (quiz_numbers)
              ├─ Ordering    items to put in order; feedback for each misplaced item
              └─ Matching    each statement to one option; feedback for each wrong match

A question with ``exercise:`` is a checkpoint of that exercise. `load_bank` turns a mistake into
a `CourseError` naming the file, the line and the key, like course.yml's loader.

In a student release (``grade export student``) the questions are *sealed* (`Seal`,
`autograder.quiz.seal`): what states or marks the answer (``correct``, ``answer``, ``order``,
``match``, the explanation and the feedback that only a closed question shows) is left out
of the bank and kept, encrypted, in the question's ``seal``; the right answer opens it.
"""

from __future__ import annotations

import hashlib
import os
import string
from pathlib import Path
from typing import ClassVar, Union

import msgspec

from autograder.course import ID_PATTERN, LANGUAGES, CourseError, Text, load_yaml, located_error
from autograder.quiz.numbers import GENERATORS, MISTAKES, variant
from autograder.state import atomic_write

LETTERS = "abcdefgh"


class Topic(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A learning objective: a lesson and the questions on it."""

    id: str
    title: Text

    def __post_init__(self) -> None:
        _check_id(self.id)


class Choice(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One choice of a single- or multiple-choice question. Students see the choices shuffled
    (`autograder.quiz.order`) under the letters a, b, c...; answers are stored by `id`."""

    id: str
    text: Text
    correct: bool = False
    feedback: Text | None = None
    """Why this choice is wrong (required for wrong choices), or why it is right. Shown after a
    wrong attempt, before the question is closed: it must not give away the right choice."""

    def __post_init__(self) -> None:
        _check_element_id(self.id, "choice")


class Item(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One item of an ordering question."""

    id: str
    text: Text
    feedback: Text | None = None
    """Where the item belongs and why: shown, for a misplaced item, once the question is closed
    (required; in the seal of a sealed question)."""

    def __post_init__(self) -> None:
        _check_id(self.id)


class Pair(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A statement of a matching question and the id of the option it matches."""

    id: str
    text: Text
    match: str = ""
    """The option's id (required; in the seal of a sealed question)."""
    feedback: Text | None = None
    """Why the statement goes with its option: shown, for a wrong match, once the question is
    closed (required; in the seal of a sealed question)."""

    def __post_init__(self) -> None:
        _check_id(self.id)


class Option(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """An option of a matching question (shown as a, b, c...); several statements may share it."""

    id: str
    text: Text

    def __post_init__(self) -> None:
        _check_element_id(self.id, "option")


class Tolerance(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A numeric answer is right when ``|got - answer| <= abs`` or ``<= rel * |answer|``."""

    abs: float = 0.0
    rel: float = 0.0

    def __post_init__(self) -> None:
        if self.abs < 0 or self.rel < 0:
            raise ValueError("`abs` and `rel` must not be negative")

    def accepts(self, got: float, answer: float) -> bool:
        error = abs(got - answer)
        return error <= self.abs + 1e-12 or error <= self.rel * abs(answer)


class Seal(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """What a sealed question keeps of its answer (`autograder.quiz.seal` makes and reads it):
    digests that recognise a right answer without stating it, and encrypted texts."""

    salt: str
    """Random, per release: the same answer digests differently in every release."""
    digest: str
    """Of the right answer (canonical form): recognises it, never states it."""
    question: str
    """The whole question, key and explanation included, encrypted under a key derived from
    the right answer: readable once the question is answered right."""
    notes: dict[str, str] = msgspec.field(default_factory=dict)
    """Choice id -> its feedback, encrypted under a key derived from that choice (a wrong
    choice's feedback is shown when it is picked) or, for right choices, from the answer; all
    of one length, so that none stands out."""
    positions: list[str] = msgspec.field(default_factory=list)
    """Ordering: a digest of the item at each position (which items are out of place)."""
    pairs: dict[str, str] = msgspec.field(default_factory=dict)
    """Matching: statement id -> a digest of its option (which statements are matched wrong)."""


class Question(msgspec.Struct, tag_field="type", forbid_unknown_fields=True, frozen=True, kw_only=True):
    """What every question has; the subclasses add the answer (``type:`` picks one)."""

    kind: ClassVar[str]
    id: str
    topic: str
    prompt: Text
    explanation: Text | None = None
    """Shown once the question is closed (answered right, or the answer asked for): it may
    state the answer. Required; in the seal of a sealed question."""
    exercise: str | None = None
    """The exercise this question is a checkpoint of (``grade quiz --checkpoint``)."""
    seal: Seal | None = None
    """Set in a student release only: the answer and the texts that give it away, sealed."""

    def __post_init__(self) -> None:
        _check_id(self.id)
        _filled(self.prompt, "prompt")
        if self.seal is None:
            _required(self.explanation, "explanation")
            _filled(self.explanation, "explanation")

    @property
    def sealed(self) -> bool:
        return self.seal is not None

    @property
    def one_attempt(self) -> bool:
        """Whether a second attempt would be no test at all (two possible answers): the
        question closes after its first attempt."""
        return False


class Single(Question, tag="single"):
    """Exactly one right choice."""

    kind: ClassVar[str] = "single"
    choices: list[Choice]

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_choices(self.id, self.choices, minimum=2, sealed=self.sealed)
        right = sum(choice.correct for choice in self.choices)
        if right != 1 and not self.sealed:
            raise ValueError(f"`choices`: single-choice question {self.id!r} needs exactly one "
                             f"correct choice, has {right}")

    @property
    def one_attempt(self) -> bool:
        return len(self.choices) == 2


class Multiple(Question, tag="multiple"):
    """One or more right choices and at least one wrong one; right means the exact set."""

    kind: ClassVar[str] = "multiple"
    choices: list[Choice]

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_choices(self.id, self.choices, minimum=3, sealed=self.sealed)
        right = sum(choice.correct for choice in self.choices)
        if not 1 <= right < len(self.choices) and not self.sealed:
            raise ValueError(f"`choices`: multiple-select question {self.id!r} needs at least one "
                             "correct and one wrong choice")


class TrueFalse(Question, tag="true_false"):
    """A statement that is true or false."""

    kind: ClassVar[str] = "true_false"
    answer: bool | None = None
    """Required; in the seal of a sealed question."""
    feedback: Text | None = None
    """Why the other verdict is wrong (a true/false question closes after one attempt).
    Required; in the seal of a sealed question."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.sealed:
            _required(self.answer, "answer")
            _required(self.feedback, "feedback")

    @property
    def one_attempt(self) -> bool:
        return True


class Numeric(Question, tag="numeric"):
    """Numbers drawn per student; the answer comes from the generator, never from the YAML.
    Texts use the generator's values as ``{placeholders}`` (``{{`` for a literal brace)."""

    kind: ClassVar[str] = "numeric"
    generator: str
    tolerance: Tolerance
    mistakes: dict[str, Text]
    """Feedback for each known mistake of the generator (its wrong number is recognised)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.generator not in GENERATORS:
            raise ValueError(f"`generator`: no generator {self.generator!r} in autograder/quiz/numbers.py "
                             f"(there are: {', '.join(sorted(GENERATORS))})")
        expected = set(MISTAKES[self.generator])
        if set(self.mistakes) != expected:
            missing, extra = sorted(expected - set(self.mistakes)), sorted(set(self.mistakes) - expected)
            raise ValueError(f"`mistakes`: generator {self.generator!r} knows the mistakes "
                             f"{sorted(expected)}; missing {missing}, unknown {extra}")
        values = variant(self.generator, 0, self.id).values
        for key, text in [("prompt", self.prompt), ("explanation", self.explanation),
                          *((f"mistakes.{name}", text) for name, text in self.mistakes.items())]:
            for language in LANGUAGES:
                _check_placeholders(text(language), values, f"{key}.{language}", self.generator)


class Ordering(Question, tag="ordering"):
    """Items to be put in `order` (shown shuffled, never already in order)."""

    kind: ClassVar[str] = "ordering"
    items: list[Item]
    order: list[str] = msgspec.field(default_factory=list)
    """Required; in the seal of a sealed question."""

    def __post_init__(self) -> None:
        super().__post_init__()
        ids = [item.id for item in self.items]
        if len(ids) < 3 or len(set(ids)) != len(ids) or len(ids) > 9:
            raise ValueError(f"`items`: {self.id!r} needs 3 to 9 items with different ids")
        if self.sealed:
            return
        for index, item in enumerate(self.items):
            _required(item.feedback, f"items[{index}].feedback")
        if sorted(self.order) != sorted(ids):
            raise ValueError(f"`order` of {self.id!r} must list each item id once: {ids}")
        if self.order == ids:
            raise ValueError(f"`items` of {self.id!r} are listed in the right order: list them shuffled")


class Matching(Question, tag="matching"):
    """Each statement (``pairs``) to one of the ``options``."""

    kind: ClassVar[str] = "matching"
    pairs: list[Pair]
    options: list[Option]

    def __post_init__(self) -> None:
        super().__post_init__()
        options = [option.id for option in self.options]
        if not 2 <= len(options) <= len(LETTERS) or len(set(options)) != len(options):
            raise ValueError(f"`options`: {self.id!r} needs 2 to {len(LETTERS)} options with different ids")
        pairs = [pair.id for pair in self.pairs]
        if len(pairs) < 2 or len(set(pairs)) != len(pairs):
            raise ValueError(f"`pairs`: {self.id!r} needs at least 2 statements with different ids")
        if self.sealed:
            return
        for index, pair in enumerate(self.pairs):
            _required(pair.feedback, f"pairs[{index}].feedback")
            if pair.match not in options:
                raise ValueError(f"`pairs[{index}].match`: {pair.match!r} is not an option of {self.id!r} "
                                 f"({', '.join(options)})")
        if len({pair.match for pair in self.pairs}) < 2:
            raise ValueError(f"`pairs`: every statement of {self.id!r} matches the same option")


AnyQuestion = Union[Single, Multiple, TrueFalse, Numeric, Ordering, Matching]


class Bank(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The topics, in teaching order, and the questions."""

    topics: list[Topic]
    questions: list[AnyQuestion]

    def __post_init__(self) -> None:
        topics = [topic.id for topic in self.topics]
        for index, topic in enumerate(topics):
            if topic in topics[:index]:
                raise ValueError(f"`topics[{index}].id`: topic {topic!r} appears twice")
        seen: set[str] = set()
        for index, question in enumerate(self.questions):
            if question.id in seen:
                raise ValueError(f"`questions[{index}].id`: question id {question.id!r} appears twice")
            if question.topic not in topics:
                raise ValueError(f"`questions[{index}].topic`: unknown topic {question.topic!r} "
                                 f"(topics: {', '.join(topics)})")
            seen.add(question.id)
        if not self.questions:
            raise ValueError("`questions`: the bank has no questions")

    def question(self, question_id: str) -> AnyQuestion:
        return next(q for q in self.questions if q.id == question_id)

    def topic(self, topic_id: str) -> Topic:
        return next(topic for topic in self.topics if topic.id == topic_id)

    def on_topic(self, topic_id: str) -> list[AnyQuestion]:
        return [q for q in self.questions if q.topic == topic_id]

    def checkpoints(self, exercise_id: str) -> list[AnyQuestion]:
        return [q for q in self.questions if q.exercise == exercise_id]


# -- loading -----------------------------------------------------------------------------------


def load_bank(kit) -> Bank:
    """The bank of `kit`'s course, checked against the course (checkpoint exercises) and the
    lessons on disk. Raises `CourseError` when the course has no quiz or the bank is wrong.

    Parsing the YAML is most of the cost of a `grade` run's quiz row, so a validated bank is
    kept in the kit's cache folder under a hash of quiz.yml and of the code that reads it; a
    cache that is missing, stale or damaged is simply rebuilt ($GRADE_NO_CACHE: none)."""
    config = kit.course.quiz
    if config is None:
        raise CourseError("course.yml has no `quiz` section")
    path = kit.root / config.bank
    cache = _cache_file(kit, path)
    bank = _cached(cache)
    if bank is None or _problem(kit, bank):
        bank, root = load_yaml(path, Bank)
        problem = _problem(kit, bank)
        if problem:
            raise located_error(path.name, root, problem)
        _store(cache, bank)
    return bank


def _problem(kit, bank: Bank) -> str | None:
    """What is wrong with `bank` for this course (a checkpoint of no exercise, a missing
    lesson), as a message starting with the key in backticks; None when nothing is."""
    for index, question in enumerate(bank.questions):
        if question.exercise is not None and question.exercise not in kit.course.ids:
            return f"`questions[{index}].exercise`: no exercise {question.exercise!r} in course.yml"
    for index, topic in enumerate(bank.topics):
        for language in LANGUAGES:
            if not lesson_path(kit, topic.id, language).is_file():
                return f"`topics[{index}].id`: no lesson {kit.course.quiz.lessons}/{language}/{topic.id}.md"
    return None


def _cache_file(kit, path: Path) -> Path | None:
    if os.environ.get("GRADE_NO_CACHE"):
        return None
    digest = hashlib.sha256()
    try:
        for source in (path, Path(__file__), Path(__file__).with_name("numbers.py")):
            digest.update(source.read_bytes())
    except OSError:
        return None  # load_yaml says why the bank cannot be read
    return kit.state_dir / "cache" / f"quiz-{digest.hexdigest()[:20]}.json"


def _cached(cache: Path | None) -> Bank | None:
    try:
        return msgspec.json.decode(cache.read_bytes(), type=Bank) if cache is not None else None
    except (OSError, msgspec.DecodeError, ValueError):
        return None


def _store(cache: Path | None, bank: Bank) -> None:
    if cache is None:
        return
    try:
        for stale in cache.parent.glob("quiz-*.json"):
            stale.unlink()
        atomic_write(cache, msgspec.json.encode(bank))
    except OSError:
        pass  # a read-only kit only loses speed


def lesson_path(kit, topic_id: str, language: str) -> Path:
    return kit.root / kit.course.quiz.lessons / language / f"{topic_id}.md"


def _check_choices(question_id: str, choices: list[Choice], minimum: int, sealed: bool) -> None:
    if not minimum <= len(choices) <= len(LETTERS):
        raise ValueError(f"`choices`: {question_id!r} needs {minimum} to {len(LETTERS)} choices, has {len(choices)}")
    for index, choice in enumerate(choices):
        if not choice.correct and choice.feedback is None and not sealed:
            raise ValueError(f"`choices[{index}].feedback`: wrong choice {choice.id!r} of {question_id!r} "
                             "needs feedback saying why it is wrong")
        if choice.id in [other.id for other in choices[:index]]:
            raise ValueError(f"`choices[{index}].id`: {choice.id!r} appears twice in {question_id!r}")


def _check_element_id(value: str, what: str) -> None:
    _check_id(value)
    if len(value) < 2:
        raise ValueError(f"`id` {value!r}: {what} ids need two letters or more (a, b, c... are the shown letters)")


def _check_id(value: str) -> None:
    if not ID_PATTERN.match(value):
        raise ValueError(f"`id` {value!r} must be lower_case_with_underscores")


def _required(value: object, key: str) -> None:
    if value is None:
        raise ValueError(f"`{key}`: the key `{key.rpartition('.')[2]}` is missing")


def _filled(text: Text, key: str) -> None:
    for language in LANGUAGES:
        if not text(language).strip():
            raise ValueError(f"`{key}.{language}` is empty")


def _check_placeholders(template: str, values: dict[str, str], key: str, generator: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise ValueError(f"`{key}`: {error} (write {{{{ and }}}} for literal braces)") from None
    unknown = sorted(names - set(values))
    if unknown:
        raise ValueError(f"`{key}`: {{{unknown[0]}}} is not a value of generator {generator!r} "
                         f"(it has: {', '.join(sorted(values))})")
