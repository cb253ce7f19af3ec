"""Every named misconception is recognised in a buggy implementation that makes it, and only
there: right answers, different-but-correct code and unknown bugs are never given a name."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from autograder import misconceptions
from autograder.i18n import Translator, catalog
from support import mutate


@dataclass(frozen=True)
class Named:
    """A wrong implementation (a change to a solution file) and the misconception it shows."""

    misconception: str
    exercise: str
    file: str
    old: str
    new: str

    def source(self) -> str:
        return mutate(self.file, self.old, self.new)


BN = "batchnorm.py"
FORWARD_NORMALISE = "x_hat = (x - mean) * inv_std"
FORWARD_STATS = "mean = x.mean(axis=0)\n    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)"

CASES = [
    Named("unbiased_variance", "bn_forward", BN, "x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps"),
    Named("eps_outside_sqrt", "bn_forward", BN, "np.sqrt(x.var(axis=0) + eps)", "(np.sqrt(x.var(axis=0)) + eps)"),
    Named("no_eps", "bn_forward", BN, "np.sqrt(x.var(axis=0) + eps)", "np.sqrt(x.var(axis=0))"),
    Named("statistics_over_features", "bn_forward", BN, FORWARD_STATS,
          "mean = x.mean(axis=1, keepdims=True)\n    inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + eps)"),
    Named("gamma_beta_swapped", "bn_forward", BN, "out = gamma * x_hat + beta", "out = beta * x_hat + gamma"),
    Named("gamma_beta_missing", "bn_forward", BN, "out = gamma * x_hat + beta", "out = x_hat"),
    Named("std_instead_of_variance", "bn_forward", BN, "np.sqrt(x.var(axis=0) + eps)", "np.sqrt(x.std(axis=0) + eps)"),
    Named("missing_square_root", "bn_forward", BN, "1.0 / np.sqrt(x.var(axis=0) + eps)", "1.0 / (x.var(axis=0) + eps)"),
    Named("eps_hard_coded", "bn_forward", BN, "np.sqrt(x.var(axis=0) + eps)", "np.sqrt(x.var(axis=0) + 1e-5)"),
    Named("naive_variance", "bn_forward", BN, "np.sqrt(x.var(axis=0) + eps)",
          "np.sqrt((x * x).mean(axis=0) - mean ** 2 + eps)"),
]

UNKNOWN_BUGS = [
    ("bn_forward", BN, "out = gamma * x_hat + beta", "out = 1.001 * gamma * x_hat + beta"),
    ("bn_forward", BN, "out = gamma * x_hat + beta", "out = gamma * x_hat + beta + 0.01"),
    ("bn_forward", BN, "out = gamma * x_hat + beta", "out = gamma * x_hat[::-1] + beta"),
]


def named(report, exercise: str) -> set[str]:
    return {c.feedback.misconception for c in report.exercise(exercise).checks
            if c.feedback is not None and c.feedback.misconception}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.misconception)
def test_the_misconception_is_named(case, grade_files):
    report = grade_files({case.file: case.source()}, [case.exercise])
    assert named(report, case.exercise) == {case.misconception}


def test_every_misconception_has_a_buggy_implementation_in_these_tests():
    covered = {case.misconception for case in CASES}
    assert misconceptions.ids() - covered == set()


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_misconception_has_a_title_and_an_explanation(language):
    messages = catalog(language)
    for misconception in misconceptions.ids():
        assert f"misconceptions.{misconception}.title" in messages, misconception
        assert f"misconceptions.{misconception}.explanation" in messages, misconception


def test_at_least_25_misconceptions():
    assert len(misconceptions.ids()) >= 25


@pytest.mark.parametrize("exercise, file, old, new", UNKNOWN_BUGS)
def test_an_unknown_bug_gets_the_numbers_not_a_wrong_name(exercise, file, old, new, grade_files):
    report = grade_files({file: mutate(file, old, new)}, [exercise])
    failing = [c for c in report.exercise(exercise).checks if c.outcome == "failed"]
    assert failing
    assert named(report, exercise) == set()
    t = Translator("en")
    values = [c for c in failing if c.feedback.stage == "values"]
    assert values and all("No known mistake reproduces these numbers" in " ".join(t(d) for d in c.feedback.details)
                          for c in values)


def test_right_answers_name_nothing(solutions_report):
    assert all(c.feedback is None for e in solutions_report.exercises for c in e.checks)
