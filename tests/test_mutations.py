"""Every check of every exercise fails on some wrong implementation, each wrong implementation
fails exactly the checks it should, at the right stage, and different-but-correct
implementations (a corpus of styles found in the wild) pass them all, with full marks and no
misconception named. The mutants and alternatives live next to each exercise's other tests, in
tests/test_checks_<exercise>.py (collected by `support.mutant_cases`)."""

import pytest
from support import alternative_cases, check_ids, check_modules, contract_misses, failures, mutant_cases


@pytest.mark.parametrize("exercise, mutant", mutant_cases())
def test_a_mutant_fails_exactly_its_checks(exercise, mutant, grade_files):
    """... at the right stage, and as a contract miss exactly where it breaks a contract rule."""
    report = grade_files({mutant.file: mutant.source()}, [exercise])
    assert failures(report, exercise) == mutant.fails
    assert contract_misses(report, exercise) == mutant.rules


@pytest.mark.parametrize("module", check_modules(), ids=lambda module: module.EXERCISE)
def test_every_check_is_failed_by_some_mutant(module, solutions_report):
    caught = set().union(*(mutant.fails for mutant in module.MUTANTS))
    assert check_ids(solutions_report, module.EXERCISE) <= caught


@pytest.mark.parametrize("exercise, source", alternative_cases())
def test_a_different_correct_implementation_gets_full_marks(exercise, source, kit, grade_files):
    """Graded with what the exercise requires (an alternative file holds their functions too)."""
    graded = [*kit.course.exercise(exercise).requires, exercise]
    report = grade_files({kit.course.exercise(exercise).file: source}, graded)
    assert {e: failures(report, e) for e in graded} == dict.fromkeys(graded, {})
    assert report.exercise(exercise).score == kit.course.exercise(exercise).points
    assert not any(c.feedback for c in report.exercise(exercise).checks)  # so no misconception is named


def test_the_corpus_of_correct_implementations():
    """At least 12 beyond the reference solutions, in every exercise with a file of its own."""
    counts = {module.EXERCISE: len(module.ALTERNATIVES) for module in check_modules()}
    assert sum(counts.values()) >= 12 and min(counts.values()) >= 2
