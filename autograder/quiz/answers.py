"""Where quiz answers live, and the quiz's score from them.

**Only the first attempt at a question scores.** Later attempts are practice: they are kept and
shown ("right in practice"), never scored. A question is *closed* once it is answered right,
once the student asks for the answer, or after one attempt when a second would be no test
(true/false); only then is its explanation shown.

- The student's own attempts are in the kit's state file, section ``quiz`` (format 2), saved
  atomically after every attempt::

      "quiz": {"format": 2, "seed": 1234567,
               "questions": {"<question id>": {
                   "attempts": [{"answer": "ema_weight", "correct": false, "at": "..."}, ...],
                   "closed": "right" | "shown" | "final" | null,
                   "set_aside": [{"at": "...", "attempts": [...], "closed": ...}]}},
               "answered": 12, "correct": 9, "practised": 2, "score": 1.02, "max": 10, "total": 88}

  Answers are canonical and stored by id (`autograder.quiz.check`); ``attempts[0]`` is the one
  that scores; ``grade quiz --reset`` moves the practice attempts to ``set_aside`` and reopens
  the question. ``seed`` is drawn once, on first use: the student's order of choices and
  numbers. A state written before format 2 is converted on reading (`autograder.quiz.legacy`)
  and its old answers are kept, untouched, under ``answers_v1``.
- A graded submission carries an answers file (``quiz_answers.yml`` in the submission folder,
  or any file given to ``grade quiz --answers``), which ``grade quiz --export FILE`` writes::

      format: 2
      seed: 1234567            # the student's numbers (numeric questions) and order
      answers:                 # first attempts: what scores
        some_question: some_choice_id
        other_question: [choice_id, other_choice_id]
      practice:                # later attempts, oldest first: shown, not scored
        some_question: [another_choice_id]

  ``shown_order: true`` marks a file whose letters and numbers are as the student saw them
  with that seed (an exported notebook); a file without ``format`` is read as written before
  format 2 (letters in the bank's old order, `autograder.quiz.legacy`).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import msgspec

from autograder.course import CourseError, load_yaml
from autograder.grading.results import QuestionResult, QuizResult
from autograder.quiz import legacy, seal
from autograder.quiz.bank import Bank, Question
from autograder.quiz.check import AnswerError, Verdict, check, judge, key, variant_of
from autograder.quiz.order import view_order
from autograder.state import State, atomic_write, timestamp

ANSWERS_FILE = "quiz_answers.yml"
FORMAT = 2
CLOSED = ("right", "shown", "final")
"""Why a question is closed: answered right, the answer asked for, its one attempt given."""

Judged = dict[str, list[Verdict]]
"""Question id -> the verdict on each attempt, the first (the one that scores) first."""


class AnswersFile(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """The contents of an answers file."""

    format: int = 1
    """2 for answers stored by id; 1 (no ``format`` key) for files written before."""
    seed: int | None = None
    """The student's seed; needed by numeric answers (and by `shown_order`)."""
    answers: dict[str, Any] = msgspec.field(default_factory=dict)
    """Question id -> the first attempt."""
    practice: dict[str, list[Any]] = msgspec.field(default_factory=dict)
    """Question id -> the later attempts, oldest first (not scored)."""
    shown_order: bool = False
    """Letters and numbers refer to the order shown with `seed` (an exported notebook)."""

    def judged(self, bank: Bank) -> Judged:
        """Every attempt in the file judged; ids not in the bank are left out."""
        result: Judged = {}
        for question in bank.questions:
            if question.id in self.answers:
                attempts = [self.answers[question.id], *self.practice.get(question.id, [])]
                result[question.id] = [self.judge(question, raw) for raw in attempts]
        return result

    def judge(self, question: Question, raw: Any) -> Verdict:
        if self.format < FORMAT:
            try:
                raw = legacy.canonical(question, raw)
            except AnswerError as error:
                return Verdict(False, [error.message], readable=False)
        shown = view_order(question, self.seed) if self.shown_order else None  # no seed: the bank's order
        return check(question, raw, self.seed, shown)

    def unknown(self, bank: Bank) -> list[str]:
        return sorted(set(self.answers) - {q.id for q in bank.questions})


def read_answers(path: Path) -> AnswersFile:
    """Read an answers file; a mistake raises `CourseError` naming the file, line and key."""
    answers, _ = load_yaml(path, AnswersFile)
    return answers


def write_answers(path: Path, seed: int, answers: dict[str, Any], *, practice: dict[str, list[Any]] | None = None,
                  header: str = "", shown_order: bool = False) -> None:
    """Write an answers file (atomically) that `read_answers` reads back."""
    data: dict[str, Any] = {"format": FORMAT, "seed": seed}
    if shown_order:
        data["shown_order"] = True
    data["answers"] = answers
    if practice:
        data["practice"] = practice
    import yaml  # only to write: grading reads no YAML when its caches are warm

    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None)
    atomic_write(path, (header + body).encode())


def quiz_result(bank: Bank, points: float, judged: Judged, *, seed: int | None, source: str,
                closed: set[str] | None = None) -> QuizResult:
    """The quiz's result from judged attempts: a question scores when its first attempt is right."""
    results = []
    for question in bank.questions:
        verdicts = judged.get(question.id, [])
        right = bool(verdicts) and verdicts[0].correct
        results.append(QuestionResult(
            question.id, question.topic, question.exercise, answered=bool(verdicts), correct=right,
            practised=not right and any(v.correct for v in verdicts[1:]), attempts=len(verdicts),
            closed=question.id in closed if closed is not None else right))
    return QuizResult(points, results, source=source, seed=seed)


def file_result(bank: Bank, points: float, answers: AnswersFile, source: str = "file") -> QuizResult:
    return quiz_result(bank, points, answers.judged(bank), seed=answers.seed, source=source)


def key_result(bank: Bank, points: float, seed: int = 0) -> QuizResult:
    """The quiz answered with its own key (``grade --solutions``): full marks."""
    answers = {q.id: key(q, variant_of(q, seed)) for q in bank.questions}
    return file_result(bank, points, AnswersFile(FORMAT, seed, answers), source="key")


class QuizStore:
    """The student's attempts in the kit's state file, for one bank."""

    def __init__(self, state: State, bank: Bank, points: float) -> None:
        self.state, self.bank, self.points = state, bank, points
        legacy.migrate(self.section, bank)

    @property
    def section(self) -> dict[str, Any]:
        return self.state.section("quiz")

    @property
    def seed(self) -> int:
        """The student's seed, drawn (and saved) on first use."""
        seed = self.section.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            seed = self.section["seed"] = secrets.randbelow(2**31)
            self.state.save()  # merged into the file: other sections written meanwhile stay
        return seed

    @property
    def entries(self) -> dict[str, Any]:
        entries = self.section.setdefault("questions", {})
        if not isinstance(entries, dict):
            self.section.setdefault("damaged", {})["questions"] = entries
            entries = self.section["questions"] = {}
        return entries

    @property
    def damaged(self) -> int:
        """Damaged entries in the state file: set aside under ``damaged``, or still in place
        (they count as not answered and are set aside on the next attempt)."""
        aside = self.section.get("damaged")
        in_place = [qid for qid in self.entries if qid not in (aside or {}) and not self.attempts(qid)]
        return (len(aside) if isinstance(aside, dict) else 0) + len(in_place)

    def attempts(self, question_id: str) -> list[dict[str, Any]]:
        """The attempts at a question, the scored one first ([] for none, or a damaged entry)."""
        entry = self.entries.get(question_id)
        attempts = entry.get("attempts") if isinstance(entry, dict) else None
        if not isinstance(attempts, list) or not all(isinstance(a, dict) for a in attempts):
            return []
        return attempts

    def is_new(self, question: Question) -> bool:
        """Not attempted yet: the next attempt is the one that scores."""
        return not self.attempts(question.id)

    def is_closed(self, question: Question) -> bool:
        entry = self.entries.get(question.id)
        return bool(self.attempts(question.id)) and entry.get("closed") in CLOSED

    def record(self, question: Question, answer: Any) -> Verdict:
        """Keep an attempt (`answer` canonical), close the question when it is right (or needs
        no second attempt), save atomically. The verdict on it."""
        verdict = judge(question, answer, variant_of(question, self.seed))
        entry = self.entries.get(question.id)
        if not self.attempts(question.id):
            if entry is not None:  # a damaged entry is kept, never overwritten
                self.section.setdefault("damaged", {})[question.id] = entry
            entry = self.entries[question.id] = {"attempts": [], "closed": None}
        entry["attempts"].append({"answer": answer, "correct": verdict.correct, "at": timestamp()})
        if verdict.correct:
            entry["closed"] = "right"
        elif question.one_attempt:
            entry["closed"] = "final"
        self.save()
        return verdict

    def reveal(self, question: Question) -> None:
        """Close an attempted question at the student's request (the answer is then shown)."""
        if self.attempts(question.id) and not self.is_closed(question):
            self.entries[question.id]["closed"] = "shown"
            self.save()

    def opened(self, question: Question) -> Question | None:
        """The whole question, for showing its answer and explanation: itself, or, sealed (a
        student release), opened with its right answer once it is closed (None before)."""
        if not question.sealed:
            return question
        if not self.is_closed(question):
            return None
        answers = [a.get("answer") for a in self.attempts(question.id) if a.get("correct")] or [seal.search(question)]
        return next((q for q in (seal.open_question(question, a) for a in answers if a is not None) if q), None)

    def reset(self, questions: list[Question]) -> int:
        """Reopen `questions` for practice: their later attempts are set aside (kept in the
        file); the first attempt, and so the score, stays. Returns how many were reopened."""
        reopened = 0
        for question in questions:
            attempts = self.attempts(question.id)
            if not attempts:
                continue
            entry = self.entries[question.id]
            entry.setdefault("set_aside", []).append({"at": timestamp(), "attempts": attempts[1:],
                                                       "closed": entry.get("closed")})
            entry["attempts"], entry["closed"] = attempts[:1], None
            reopened += 1
        self.save()
        return reopened

    def judged(self) -> Judged:
        seed = self.section.get("seed")
        result: Judged = {}
        for question in self.bank.questions:
            attempts = self.attempts(question.id)
            if attempts:
                result[question.id] = [self._judge(question, attempt.get("answer"), seed) for attempt in attempts]
        return result

    @staticmethod
    def _judge(question: Question, answer: Any, seed: int | None) -> Verdict:
        if answer is None:  # an attempt whose answer is not known (converted from format 1): wrong
            return Verdict(False)
        return check(question, answer, seed)

    def result(self) -> QuizResult:
        closed = {q.id for q in self.bank.questions if self.is_closed(q)}
        return quiz_result(self.bank, self.points, self.judged(), seed=self.section.get("seed"), source="state",
                           closed=closed)

    def save(self) -> None:
        result = self.result()
        self.section.update(format=FORMAT, answered=result.answered, correct=result.correct, practised=result.practised,
                            score=result.score, max=result.max_points, total=len(result.questions))
        self.state.save()

    def export(self, path: Path, header: str = "") -> int:
        """Write the attempts to an answers file; returns how many questions it answers."""
        first, practice = {}, {}
        for question in self.bank.questions:
            answers = [attempt.get("answer") for attempt in self.attempts(question.id)]
            if answers and answers[0] is not None:
                first[question.id] = answers[0]
                if answers[1:]:
                    practice[question.id] = answers[1:]
        write_answers(path, self.seed, first, practice=practice, header=header)
        return len(first)


def quiz_for_report(kit, directory: Path, *, solutions: bool = False, bank=None) -> QuizResult | None:
    """The quiz part of a whole-course `grade`: the key for the solutions, the state file for
    the student's own exercises folder, ``quiz_answers.yml`` for any other folder (none: 0).
    `bank`: the course's bank, when the caller keeps it loaded (a class graded in one process)."""
    if kit.course.quiz is None:
        return None
    from autograder.quiz.bank import load_bank

    bank, points = bank or load_bank(kit), kit.course.quiz.points
    if solutions:
        return key_result(bank, points)
    if directory == kit.exercises_dir.resolve():
        return QuizStore(State.load(kit.state_dir), bank, points).result()
    path = directory / ANSWERS_FILE
    if not path.is_file():
        return quiz_result(bank, points, {}, seed=None, source="none")
    try:
        answers = read_answers(path)
    except CourseError as error:
        result = quiz_result(bank, points, {}, seed=None, source="file")
        result.error = str(error)
        return result
    return file_result(bank, points, answers)


def quiz_to_json(quiz: QuizResult) -> dict[str, Any]:
    """The theory quiz: score, counts and each question's outcome (no answers, no key)."""
    return {
        "score": quiz.score,
        "max": quiz.max_points,
        "questions": len(quiz.questions),
        "answered": quiz.answered,
        "correct": quiz.correct,
        "practised": quiz.practised,
        "source": quiz.source,
        "seed": quiz.seed,
        "error": quiz.error,
        "results": [{"id": q.id, "topic": q.topic, "exercise": q.exercise, "answered": q.answered,
                     "correct": q.correct, "practised": q.practised, "attempts": q.attempts}
                    for q in quiz.questions],
    }
