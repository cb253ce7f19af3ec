"""The order a student sees: each student's own shuffle of a question's choices, ordering items,
matching statements and matching options.

The shuffle is drawn from the student's seed and the question id, so a student sees the same
order on every run and another student another one; letters typed in the terminal (or in an
exported notebook) are read through it, and answers are stored by id, never by letter. Without
a seed the bank's own order is shown (nothing is shuffled)::

    shown = view_order(question, seed)
    shown.ids        ("ema", "biased", "keras", "every_ten")   a) b) c) d)  (items: 1. 2. 3. ...)
    shown.options    matching options, in their shown order   a) b) c) ...
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from autograder.quiz import seal
from autograder.quiz.bank import LETTERS, Matching, Multiple, Ordering, Question, Single


@dataclass(frozen=True)
class Shown:
    """What one student sees of one question, as ids in the shown order."""

    ids: tuple[str, ...] = ()
    """Choices (single, multiple), items (ordering) or statements (matching)."""
    options: tuple[str, ...] = ()
    """Matching options."""

    def letter(self, element_id: str, *, option: bool = False) -> str:
        """The letter a choice (or a matching option) is shown with."""
        return LETTERS[(self.options if option else self.ids).index(element_id)]

    def by_letter(self, letter: str, *, option: bool = False) -> str | None:
        """The id shown under `letter` (None when there is no such letter)."""
        ids = self.options if option else self.ids
        index = LETTERS.find(letter)
        return ids[index] if len(letter) == 1 and 0 <= index < len(ids) else None

    def by_number(self, number: int) -> str | None:
        """The ordering item shown as `number` (1-based)."""
        return self.ids[number - 1] if 1 <= number <= len(self.ids) else None


def view_order(question: Question, seed: int | None) -> Shown:
    """The order in which the student with `seed` sees `question` (the bank's without a seed)."""
    rng = random.Random(f"{seed}:{question.id}:order") if seed is not None else None
    if isinstance(question, (Single, Multiple)):
        return Shown(_shuffled([c.id for c in question.choices], rng))
    if isinstance(question, Ordering):
        ids = [item.id for item in question.items]
        shuffled = _shuffled(ids, rng)
        while rng is not None and _in_order(question, list(shuffled)):  # never shown already in order
            shuffled = _shuffled(ids, rng)
        return Shown(shuffled)
    if isinstance(question, Matching):
        return Shown(_shuffled([p.id for p in question.pairs], rng), _shuffled([o.id for o in question.options], rng))
    return Shown()


def _in_order(question: Ordering, ids: list[str]) -> bool:
    return seal.is_right(question, ids) if question.sealed else ids == question.order


def _shuffled(ids: list[str], rng: random.Random | None) -> tuple[str, ...]:
    ids = list(ids)
    if rng is not None:
        rng.shuffle(ids)
    return tuple(ids)


def as_shown(question: Question, answer: object, shown: Shown) -> object:
    """A canonical answer written as the student types it with this order: letters for
    choices, the shown numbers for ordering items, ``"a b a c"`` for matching (one option letter
    per statement, in the shown order); the other types unchanged."""
    if isinstance(question, Single):
        return shown.letter(answer)
    if isinstance(question, Multiple):
        return sorted(shown.letter(cid) for cid in answer)
    if isinstance(question, Ordering):
        return [shown.ids.index(item) + 1 for item in answer]
    if isinstance(question, Matching):
        return " ".join(shown.letter(answer[pid], option=True) for pid in shown.ids)
    return answer
