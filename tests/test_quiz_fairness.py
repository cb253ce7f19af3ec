"""The quiz score measures knowledge: no strategy that ignores the questions' content scores
more than a quarter of the points, played through the real grader (answers files judged by
`autograder.quiz.answers`, the code ``grade``, ``grade --submission`` and Gradescope use), and
the bank carries no cue in the length, position or wording of its answers."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
from collections import Counter

import pytest
import yaml
from support import ROOT

from autograder.quiz.answers import FORMAT, AnswersFile, file_result, write_answers
from autograder.quiz.bank import LETTERS, Multiple, Single, TrueFalse, load_bank
from autograder.quiz.order import view_order

STUDENTS = range(60)
LIMIT = 0.25
ABSOLUTE = {"en": r"\b(only|never|always|exactly|completely|impossible|all|every|none)\b",
            "es": r"\b(solo|nunca|siempre|exactamente|por completo|imposible|todos|todas|ninguno|ninguna)\b"}


@pytest.fixture(scope="module")
def bank(kit):
    return load_bank(kit)


def by_length(question, seed, language, pick):
    """The letter of the choice `pick` (max or min) selects by length, as shown to the student."""
    shown = view_order(question, seed)
    texts = {c.id: c.text(language) for c in question.choices}
    return shown.letter(pick(shown.ids, key=lambda cid: len(texts[cid])))


STRATEGIES = {
    # name -> (single, multiple, true_false): what a student with no knowledge types
    "longest choice, a b c, true": (lambda q, s: by_length(q, s, "en", max), lambda q, s: "a b c", True),
    "longest choice (es), a b c, true": (lambda q, s: by_length(q, s, "es", max), lambda q, s: "a b c", True),
    "shortest choice, a b, false": (lambda q, s: by_length(q, s, "en", min), lambda q, s: "a b", False),
    **{f"always {letter}, true": (lambda q, s, x=letter: x, lambda q, s, x=letter: x, True) for letter in "abcd"},
    "always a, false": (lambda q, s: "a", lambda q, s: "a b", False),
}


def play(bank, strategy, seed: int) -> AnswersFile:
    """The answers file of a student with `seed` who follows `strategy`, letters as they were
    shown to them (numeric, ordering and matching questions skipped)."""
    single, multiple, true_false = strategy
    answers = {}
    for question in bank.questions:
        if isinstance(question, Single):
            answers[question.id] = single(question, seed)
        elif isinstance(question, Multiple):
            answers[question.id] = multiple(question, seed)
        elif isinstance(question, TrueFalse):
            answers[question.id] = true_false
    return AnswersFile(FORMAT, seed, answers, shown_order=True)


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_no_knowledge_scores_at_most_a_quarter_of_the_points(bank, name):
    """Over many students (each with their own order of choices), the mean share of the quiz
    points stays at or below 25 %; a deterministic cue (length) would show in every student."""
    points = 10
    shares = [file_result(bank, points, play(bank, STRATEGIES[name], seed)).score / points for seed in STUDENTS]
    assert statistics.mean(shares) <= LIMIT, (name, statistics.mean(shares))
    assert max(shares) <= LIMIT + 0.08, (name, max(shares))


def test_the_bank_order_gives_nothing_away_either(bank):
    """Without a shuffle (no seed: the order in quiz.yml), always answering the same letter
    still scores at most a quarter."""
    for letter in "abcd":
        answers = {q.id: letter for q in bank.questions if isinstance(q, (Single, Multiple))}
        answers |= {q.id: True for q in bank.questions if isinstance(q, TrueFalse)}
        result = file_result(bank, 10, AnswersFile(FORMAT, None, answers, shown_order=True))
        assert result.correct / len(bank.questions) <= LIMIT, letter


def test_a_strategy_through_the_command_line_grader(bank, tmp_path):
    """The same, end to end: `grade quiz --answers FILE --json`."""
    strategy = play(bank, STRATEGIES["longest choice, a b c, true"], seed=3)
    path = tmp_path / "answers.yml"
    write_answers(path, 3, strategy.answers, shown_order=True)
    result = subprocess.run([sys.executable, "-m", "autograder", "quiz", "--answers", str(path), "--json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    report = yaml.safe_load(result.stdout)
    assert result.returncode == 1 and report["answered"] == len(strategy.answers)
    assert report["score"] <= LIMIT * report["max"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_right_choice_is_rarely_the_longest_or_the_shortest(bank, language):
    singles = [q for q in bank.questions if isinstance(q, Single)]
    ranks = Counter()
    for question in singles:
        lengths = [len(c.text(language)) for c in question.choices]
        right = next(i for i, c in enumerate(question.choices) if c.correct)
        if lengths.count(lengths[right]) == 1:
            ranks["longest" if lengths[right] == max(lengths) else "shortest" if lengths[right] == min(lengths)
                  else "middle"] += 1
    assert ranks["longest"] <= 0.30 * len(singles), ranks
    assert ranks["shortest"] <= 0.30 * len(singles), ranks


def test_the_right_choice_is_spread_over_the_positions_of_the_bank(bank):
    positions = Counter(next(i for i, c in enumerate(q.choices) if c.correct)
                        for q in bank.questions if isinstance(q, Single))
    assert len(positions) >= 4 and max(positions.values()) <= 0.30 * sum(positions.values())


def test_multiple_select_keys_vary_in_size_and_are_not_prefixes(bank):
    keys = [[i for i, c in enumerate(q.choices) if c.correct] for q in bank.questions if isinstance(q, Multiple)]
    assert len({len(k) for k in keys}) >= 3
    assert [k for k in keys if k == list(range(len(k)))] == []
    assert Counter(i for k in keys for i in k)[0] < len(keys)  # not every key holds the first choice


def test_true_false_is_balanced(bank):
    statements = [q for q in bank.questions if isinstance(q, TrueFalse)]
    false = sum(not q.answer for q in statements)
    assert 0.4 <= false / len(statements) <= 0.6


@pytest.mark.parametrize("language", ["en", "es"])
def test_absolute_words_appear_in_right_and_wrong_answers_alike(bank, language):
    absolute = re.compile(ABSOLUTE[language], re.IGNORECASE)
    choices = [c for q in bank.questions if isinstance(q, (Single, Multiple)) for c in q.choices]
    right = [c for c in choices if c.correct]
    wrong = [c for c in choices if not c.correct]
    rate_right = sum(bool(absolute.search(c.text(language))) for c in right) / len(right)
    rate_wrong = sum(bool(absolute.search(c.text(language))) for c in wrong) / len(wrong)
    assert min(rate_right, rate_wrong) > 0.05
    assert max(rate_right, rate_wrong) <= 2 * min(rate_right, rate_wrong) + 0.05, (rate_right, rate_wrong)
    statements = [q for q in bank.questions if isinstance(q, TrueFalse)]
    absolute_true = [q.id for q in statements if q.answer and absolute.search(q.prompt(language))]
    absolute_false = [q.id for q in statements if not q.answer and absolute.search(q.prompt(language))]
    assert absolute_true and absolute_false, (absolute_true, absolute_false)


def test_the_letters_of_a_strategy_mean_different_choices_for_different_students(bank):
    """Sharing "b, a c, ..." across a class is worthless: the same letters name other choices."""
    question = next(q for q in bank.questions if isinstance(q, Single))
    chosen = {view_order(question, seed).by_letter("b") for seed in STUDENTS}
    assert len(chosen) == len(question.choices) == len(LETTERS[:len(question.choices)])
