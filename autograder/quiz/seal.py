"""Sealed questions: a student release checks answers without holding them in readable form.

``grade export student`` writes the bank sealed (`seal_bank`): each question keeps its prompt and
the ids and texts of its choices, items, statements and options, and loses everything that
states or marks its answer (``correct``, ``answer``, ``order``, ``match``, the explanation, the
feedback of every choice, item and statement), which goes into its `Seal`:

- ``digest``: SHA-256 of a key derived from the release's random salt, the question id and the
  canonical right answer (`autograder.quiz.check`: by id, order-independent): a right answer is
  recognised, not stated;
- ``question``: the whole question, encrypted (Fernet: AES with an HMAC) under that same key, so
  the explanation can only be read once the right answer is known: "no answer before a question
  is closed" holds by construction;
- ``notes``: each choice's feedback, padded to one length and encrypted under a key derived from
  the choice (a wrong choice's feedback is shown when it is picked) or, for the right ones, from
  the answer, so that no choice stands out by carrying no feedback;
- ``positions``, ``pairs``: digests of each ordering position and each matching statement, so
  that the quiz can still say which items are out of place, as it does unsealed.

The choices, items, statements and options are listed in an order of their own, drawn from the
salt: the bank's order might hint (options listed in the order the statements match them).
Each student sees them in their own order anyway (`autograder.quiz.order`).

Numeric questions are not sealed: their numbers and answers are computed per student by
`autograder.quiz.numbers`, and computing them is the knowledge being tested.

What this protects: nothing in the release *reads* as an answer (files, the bank cache, a
debugger's view of the loaded bank). What it cannot: grading runs on the student's machine, so
the checker itself is an oracle. A student who writes code to try every choice against the
digests and notes finds any key, as `search` does for a question that is already closed
(``?`` in practice). Scores that count come from the exported answers file graded with the
instructor's kit (first attempts only), not from the release's own report.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import secrets
from typing import TYPE_CHECKING, Any

import msgspec

from autograder.course import Text
from autograder.quiz.bank import (
    AnyQuestion,
    Bank,
    Choice,
    Item,
    Matching,
    Multiple,
    Numeric,
    Ordering,
    Pair,
    Question,
    Seal,
    Single,
    TrueFalse,
)

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

NOTE_BLOCK = 64
"""Notes are padded to a multiple of this many bytes, and all notes of a question to one length."""


class SealError(ValueError):
    """The answer of a sealed question was asked for before it could be known."""


def canonical(answer: Any) -> str:
    """An answer in canonical form as one string (the same for every student and order)."""
    return json.dumps(answer, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _hash(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def _answer_key(seal_salt: str, question_id: str, answer: Any) -> bytes:
    return _hash(seal_salt, question_id, "answer", canonical(answer))


def _digest(key: bytes) -> str:
    return hashlib.sha256(b"digest" + key).hexdigest()


def _cipher(key: bytes) -> Fernet:
    from cryptography.fernet import Fernet  # 15 ms to import: only where a question is sealed or opened

    return Fernet(base64.urlsafe_b64encode(key))


def _decrypt(key: bytes, token: str) -> bytes | None:
    """`token` decrypted with `key`; None when that key does not open it."""
    from cryptography.fernet import InvalidToken

    try:
        return _cipher(key).decrypt(token.encode())
    except InvalidToken:
        return None


# -- sealing (the instructor's side) ------------------------------------------------------------------


def seal_bank(bank: Bank, salt: str | None = None) -> Bank:
    """The bank with every question but the numeric ones sealed under `salt` (random by default)."""
    salt = salt or secrets.token_hex(16)
    return Bank(topics=bank.topics, questions=[seal_question(q, salt) for q in bank.questions])


def right_answer(question: Question) -> Any:
    """The canonical right answer of an unsealed question (as `autograder.quiz.check.key`)."""
    if isinstance(question, Single):
        return next(c.id for c in question.choices if c.correct)
    if isinstance(question, Multiple):
        return sorted(c.id for c in question.choices if c.correct)
    if isinstance(question, TrueFalse):
        return question.answer
    if isinstance(question, Ordering):
        return list(question.order)
    if isinstance(question, Matching):
        return {pair.id: pair.match for pair in question.pairs}
    raise SealError(f"{question.id}: a {question.kind} question is not sealed")


def seal_question(question: AnyQuestion, salt: str) -> AnyQuestion:
    """`question` with its answer and answer-bearing texts moved into a `Seal` (numeric ones
    are returned as they are)."""
    if isinstance(question, Numeric) or question.sealed:
        return question
    key = _answer_key(salt, question.id, right_answer(question))
    seal = Seal(salt=salt, digest=_digest(key), question=_cipher(key).encrypt(msgspec.json.encode(question)).decode(),
                notes=_notes(question, salt, key), positions=_positions(question, salt),
                pairs=_pairs(question, salt))
    common = {"explanation": None, "seal": seal}
    rng = random.Random(f"{salt}:{question.id}")  # the bank's own order may hint (options listed as the pairs match)
    if isinstance(question, (Single, Multiple)):
        choices = _shuffled([Choice(id=c.id, text=c.text) for c in question.choices], rng)
        return msgspec.structs.replace(question, choices=choices, **common)
    if isinstance(question, TrueFalse):
        return msgspec.structs.replace(question, answer=None, feedback=None, **common)
    if isinstance(question, Ordering):
        items = _shuffled([Item(id=i.id, text=i.text) for i in question.items], rng)
        while [item.id for item in items] == question.order:
            items = _shuffled(items, rng)
        return msgspec.structs.replace(question, items=items, order=[], **common)
    return msgspec.structs.replace(question, pairs=_shuffled([Pair(id=p.id, text=p.text) for p in question.pairs], rng),
                                   options=_shuffled(list(question.options), rng), **common)


def _shuffled(elements: list, rng: random.Random) -> list:
    elements = list(elements)
    rng.shuffle(elements)
    return elements


def _notes(question: Question, salt: str, answer_key: bytes) -> dict[str, str]:
    if not isinstance(question, (Single, Multiple)):
        return {}
    texts = {c.id: json.dumps(msgspec.to_builtins(c.feedback), ensure_ascii=False) for c in question.choices}
    length = -(-max(len(text.encode()) for text in texts.values()) // NOTE_BLOCK) * NOTE_BLOCK
    notes = {}
    for choice in question.choices:
        key = answer_key if choice.correct else _hash(salt, question.id, "choice", choice.id)
        padded = texts[choice.id].encode().ljust(length)
        notes[choice.id] = _cipher(key).encrypt(padded).decode()
    return notes


def _positions(question: Question, salt: str) -> list[str]:
    if not isinstance(question, Ordering):
        return []
    return [_hash(salt, question.id, "position", str(i), item).hex() for i, item in enumerate(question.order)]


def _pairs(question: Question, salt: str) -> dict[str, str]:
    if not isinstance(question, Matching):
        return {}
    return {pair.id: _hash(salt, question.id, "pair", pair.id, pair.match).hex() for pair in question.pairs}


# -- reading (the release's side) -----------------------------------------------------------------------


def is_right(question: Question, answer: Any) -> bool:
    """Whether `answer` (canonical) is the sealed question's right answer."""
    return _digest(_answer_key(question.seal.salt, question.id, answer)) == question.seal.digest


def open_question(question: AnyQuestion, answer: Any) -> AnyQuestion | None:
    """The whole question, key and explanation included, if `answer` is its right answer
    (None otherwise); an unsealed question as it is."""
    if not question.sealed:
        return question
    if not is_right(question, answer):
        return None
    key = _answer_key(question.seal.salt, question.id, answer)
    return msgspec.json.decode(_cipher(key).decrypt(question.seal.question.encode()), type=AnyQuestion)


def note(question: Single | Multiple, choice_id: str) -> Text | None:
    """Why choice `choice_id` is wrong; None when it is a right choice (its note is sealed
    under the answer) or has no note."""
    token = question.seal.notes.get(choice_id)
    if token is None:
        return None
    plain = _decrypt(_hash(question.seal.salt, question.id, "choice", choice_id), token)
    if plain is None:
        return None
    data = json.loads(plain.decode().rstrip())
    return Text(**data) if data else None


def wrong_choices(question: Single | Multiple) -> set[str]:
    """The choices whose notes open with their own key: the wrong ones."""
    return {c.id for c in question.choices if _opens(question, c.id)}


def _opens(question: Single | Multiple, choice_id: str) -> bool:
    token = question.seal.notes.get(choice_id)
    return token is not None and _decrypt(_hash(question.seal.salt, question.id, "choice", choice_id), token) is not None


def misplaced(question: Ordering, answer: list[str]) -> tuple[str, ...]:
    """The items of `answer` that are not where they belong."""
    return tuple(item for i, item in enumerate(answer) if not _in_place(question, i, item))


def mismatched(question: Matching, answer: dict[str, str]) -> tuple[str, ...]:
    """The statements of `question` that `answer` matches with the wrong option."""
    return tuple(pair.id for pair in question.pairs if not _matched(question, pair.id, answer.get(pair.id)))


def _in_place(question: Ordering, position: int, item: str) -> bool:
    positions = question.seal.positions
    return position < len(positions) and \
        _hash(question.seal.salt, question.id, "position", str(position), str(item)).hex() == positions[position]


def _matched(question: Matching, statement: str, option: Any) -> bool:
    return _hash(question.seal.salt, question.id, "pair", statement, str(option)).hex() == \
        question.seal.pairs.get(statement)


def search(question: AnyQuestion) -> Any:
    """The right answer of a sealed question, found with the same checks the quiz makes (for
    ``?`` on a question that is already closed); None when none is found."""
    if isinstance(question, Single):
        answers = [c.id for c in question.choices if c.id not in wrong_choices(question)]
    elif isinstance(question, Multiple):
        answers = [sorted(c.id for c in question.choices if c.id not in wrong_choices(question))]
    elif isinstance(question, TrueFalse):
        answers = [True, False]
    elif isinstance(question, Ordering):
        ids = [item.id for item in question.items]
        answers = [[next((item for item in ids if _in_place(question, i, item)), "") for i in range(len(ids))]]
    elif isinstance(question, Matching):
        options = [option.id for option in question.options]
        answers = [{pair.id: next((o for o in options if _matched(question, pair.id, o)), "")
                    for pair in question.pairs}]
    else:
        return None
    return next((answer for answer in answers if is_right(question, answer)), None)
