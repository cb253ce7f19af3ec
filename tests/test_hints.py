"""Hints: one at a time, the one about a recognised mistake first, nothing for an exercise that
passes, every reveal counted; the texts about mistakes state ideas and formulas, never code."""

import io
import re

import pytest
from rich.console import Console
from support import mutate

from autograder.grading.misconceptions import ids
from autograder.i18n import LANGUAGES, Translator, catalog
from autograder.state import State
from autograder.ui.hints import HintView, recognised_misconception, reveal_next

CODE = re.compile(r"\bnp\.|\w+\.\w+\(|\baxis\s*=|\bddof\b|\bkeepdims\b|\brng\.|\bimport\b|\[:|==|\w\[\d")


def render(view) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None, highlight=False)
    console.print(view)
    return " ".join(console.file.getvalue().replace("│", " ").split())


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_misconception_has_a_hint_without_code(language):
    texts = catalog(language)
    missing = sorted(m for m in ids() if f"misconceptions.{m}.hint" not in texts)
    assert missing == []
    with_code = {m: texts[f"misconceptions.{m}.hint"] for m in ids() if CODE.search(texts[f"misconceptions.{m}.hint"])}
    assert with_code == {}


def test_the_code_pattern_would_catch_code():
    for text in ("use x.var(axis=0, ddof=1)", "np.sqrt(var + eps)", "keep = rng.random(x.shape) >= p"):
        assert CODE.search(text), text


@pytest.fixture
def unbiased(grade_files):
    """bn_forward normalising with the unbiased variance, graded for real."""
    source = mutate("batchnorm.py", "inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)",
                    "inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=1) + eps)")
    return grade_files({"batchnorm.py": source}, ["bn_forward"]).exercise("bn_forward")


def test_the_hint_about_the_recognised_mistake_comes_first_then_the_course_hints(kit, unbiased, tmp_path):
    assert recognised_misconception(unbiased) == "unbiased_variance"
    exercise = kit.course.exercise("bn_forward")
    state = State.load(tmp_path)
    first = reveal_next(state, exercise, unbiased)
    assert first.newest == "unbiased_variance" and first.shown == 0 and first.used == 1
    text = render(HintView(first, Translator("en")))
    assert "About your mistake · bn_forward" in text
    assert "Looks like the batch was normalised with the unbiased variance" in text
    assert "not N − 1" in text and "Hint 1 of 3" not in text
    second = reveal_next(state, exercise, unbiased)  # the same mistake: on to the course's hints
    assert second.newest == 1 and second.used == 2
    text = render(HintView(second, Translator("en")))
    assert "Hint 1 of 3 · the idea · bn_forward" in text and "About your mistake" in text
    assert text.index("About your mistake") < text.index("Hint 1 of 3")  # the newest last
    assert "(2 used so far)" in text
    state.save()
    assert State.load(tmp_path).hints_used("bn_forward") == 2


def test_hints_are_progressive_and_stop_at_the_last(kit, tmp_path):
    exercise = kit.course.exercise("bn_running_stats")
    state = State.load(tmp_path)
    reveals = [reveal_next(state, exercise, None) for _ in range(4)]
    assert [r.newest for r in reveals] == [1, 2, 3, None]
    assert [r.shown for r in reveals] == [1, 2, 3, 3]
    text = render(HintView(reveals[-1], Translator("es")))
    assert "Pista 3 de 3 · paso a paso" in text and "Era la última pista de bn_running_stats (llevas 3)." in text


def test_nothing_is_revealed_for_an_exercise_that_passes(kit, solutions_report, tmp_path):
    state = State.load(tmp_path)
    reveal = reveal_next(state, kit.course.exercise("dropout"), solutions_report.exercise("dropout"))
    assert reveal.passed and reveal.newest is None and state.hints_used("dropout") == 0
    assert render(HintView(reveal, Translator("en"))) == "dropout passes: no hint needed, none revealed."
