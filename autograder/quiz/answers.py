"""Where quiz answers live, and the quiz's score from them.

- The student's own answers are in the kit's state file, section ``quiz``, saved atomically
  after every answer::

      "quiz": {"seed": 1234567, "answers": {"<question id>": {"answer": "b", "attempts": 2,
                                                            "first_try": false, "at": "..."}},
               "answered": 12, "correct": 10, "score": 2.0, "max": 10}

  ``seed`` is drawn once, on first use: it gives the student their own numbers.
- A graded submission carries an answers file (``quiz_answers.yml`` in the submission folder,
  or any file given to ``grade quiz --answers``)::

      seed: 1234567            # the numbers of the numeric questions depend on it
      answers:
        ics_definition: b
        block_order: [linear, bn, relu, dropout]
        normalised_value: 0.87

  ``grade quiz --export FILE`` writes the student's answers in this form.

The latest answer to each question counts (as with exercises, which count once they pass);
whether the first answer was right is kept and shown, not scored.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import msgspec
import yaml

from autograder.course import CourseError, load_yaml
from autograder.grading.results import QuestionResult, QuizResult
from autograder.quiz.bank import Bank, Question
from autograder.quiz.check import check, judge, key, variant_of
from autograder.state import State, atomic_write, timestamp

ANSWERS_FILE = "quiz_answers.yml"


class AnswersFile(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The contents of an answers file."""

    seed: int | None = None
    """The student's seed; needed only by numeric answers (their numbers depend on it)."""
    answers: dict[str, Any] = msgspec.field(default_factory=dict)


def read_answers(path: Path) -> AnswersFile:
    """Read an answers file; a mistake raises `CourseError` naming the file, line and key."""
    answers, _ = load_yaml(path, AnswersFile)
    return answers


def write_answers(path: Path, seed: int, answers: dict[str, Any], header: str = "") -> None:
    """Write an answers file (atomically) that `read_answers` reads back."""
    body = yaml.safe_dump({"seed": seed, "answers": answers}, allow_unicode=True, sort_keys=False,
                          default_flow_style=None)
    atomic_write(path, (header + body).encode())


def quiz_result(bank: Bank, points: float, seed: int | None, answers: dict[str, Any], *, source: str,
                first_try: dict[str, bool] | None = None) -> QuizResult:
    """Judge `answers` (question id -> answer, as typed or canonical) against the bank."""
    results = []
    for question in bank.questions:
        result = QuestionResult(question.id, question.topic, question.exercise)
        if question.id in answers:
            result.answered = True
            result.correct = check(question, answers[question.id], seed).correct
            result.first_try = result.correct if first_try is None else bool(first_try.get(question.id))
        results.append(result)
    return QuizResult(points, results, source=source, seed=seed)


def key_result(bank: Bank, points: float, seed: int = 0) -> QuizResult:
    """The quiz answered with its own key (``grade --solutions``): full marks."""
    answers = {q.id: key(q, variant_of(q, seed)) for q in bank.questions}
    return quiz_result(bank, points, seed, answers, source="key")


class QuizStore:
    """The student's quiz answers in the kit's state file."""

    def __init__(self, state: State) -> None:
        self.state = state

    @property
    def section(self) -> dict[str, Any]:
        return self.state.section("quiz")

    @property
    def seed(self) -> int:
        """The student's seed, drawn (and saved) on first use."""
        seed = self.section.get("seed")
        if not isinstance(seed, int):
            seed = self.section["seed"] = secrets.randbelow(2**31)
            self.state.save()  # merged into the file: other sections written meanwhile stay
        return seed

    @property
    def answers(self) -> dict[str, dict[str, Any]]:
        answers = self.section.setdefault("answers", {})
        if not isinstance(answers, dict):
            answers = self.section["answers"] = {}
        return answers

    def entry(self, question_id: str) -> dict[str, Any] | None:
        entry = self.answers.get(question_id)
        return entry if isinstance(entry, dict) and "answer" in entry else None

    def is_right(self, question: Question) -> bool:
        entry = self.entry(question.id)
        return entry is not None and check(question, entry["answer"], self.seed).correct

    def record(self, question: Question, answer: Any, bank: Bank, points: float) -> None:
        """Keep `answer` (canonical) and the new score; save atomically."""
        previous = self.entry(question.id)
        correct = judge(question, answer, variant_of(question, self.seed)).correct
        self.answers[question.id] = {
            "answer": answer,
            "attempts": (int(previous.get("attempts", 1)) if previous else 0) + 1,
            "first_try": bool(previous["first_try"]) if previous else correct,
            "at": timestamp(),
        }
        self.save(bank, points)

    def reset(self, bank: Bank, points: float, questions: list[Question] | None = None) -> None:
        """Forget the answers to `questions` (default: all of them); the seed stays."""
        for question in bank.questions if questions is None else questions:
            self.answers.pop(question.id, None)
        self.save(bank, points)

    def result(self, bank: Bank, points: float) -> QuizResult:
        if not self.answers:
            return quiz_result(bank, points, self.section.get("seed"), {}, source="state")
        answers = {qid: entry["answer"] for qid in self.answers if (entry := self.entry(qid))}
        first = {qid: entry.get("first_try", False) for qid in self.answers if (entry := self.entry(qid))}
        return quiz_result(bank, points, self.seed, answers, source="state", first_try=first)

    def save(self, bank: Bank, points: float) -> None:
        result = self.result(bank, points)
        self.section.update(answered=result.answered, correct=result.correct, score=result.score,
                            max=result.max_points, total=len(result.questions))
        self.state.save()

    def export(self, path: Path, header: str = "") -> int:
        """Write the answers to an answers file; returns how many."""
        answers = {qid: entry["answer"] for qid in self.answers if (entry := self.entry(qid))}
        write_answers(path, self.seed, answers, header)
        return len(answers)


def quiz_for_report(kit, directory: Path, *, solutions: bool = False) -> QuizResult | None:
    """The quiz part of a whole-course `grade`: the key for the solutions, the state file for
    the student's own exercises folder, ``quiz_answers.yml`` for any other folder (none: 0)."""
    if kit.course.quiz is None:
        return None
    from autograder.quiz.bank import load_bank

    bank, points = load_bank(kit), kit.course.quiz.points
    if solutions:
        return key_result(bank, points)
    if directory == kit.exercises_dir.resolve():
        return QuizStore(State.load(kit.state_dir)).result(bank, points)
    path = directory / ANSWERS_FILE
    if not path.is_file():
        return quiz_result(bank, points, None, {}, source="none")
    try:
        answers = read_answers(path)
    except CourseError as error:
        result = quiz_result(bank, points, None, {}, source="file")
        result.error = str(error)
        return result
    return quiz_result(bank, points, answers.seed, answers.answers, source="file")


def quiz_to_json(quiz: QuizResult) -> dict[str, Any]:
    """The theory quiz: score, counts and each question's outcome (no answers, no key)."""
    return {
        "score": quiz.score,
        "max": quiz.max_points,
        "questions": len(quiz.questions),
        "answered": quiz.answered,
        "correct": quiz.correct,
        "source": quiz.source,
        "seed": quiz.seed,
        "error": quiz.error,
        "results": [{"id": q.id, "topic": q.topic, "exercise": q.exercise, "answered": q.answered,
                     "correct": q.correct, "first_try": q.first_try} for q in quiz.questions],
    }
