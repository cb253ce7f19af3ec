"""Mathematics and contract apart: contract checks weigh course.yml's contract_share, a contract
miss is reported with its rule and fix (never as a wrong value), every rule has code that
breaks it and code that keeps it, and correct code written elsewhere, wrapped onto the kit's
API without its rules, loses nothing but the contract share."""

from __future__ import annotations

import json

import jsonschema
import msgspec
import pytest
from support import ROOT, SOLUTIONS, check_modules, make_submission

from autograder.course import CourseError, load_course
from autograder.grading.feedback import Feedback
from autograder.grading.results import CheckResult, ExerciseResult, GradeReport
from autograder.grading.runner import grade
from autograder.i18n import Translator, catalog, msg
from autograder.kit import Kit
from autograder.ui.json_report import SCHEMA_FILE, report_to_json
from autograder.ui.plain_text import plain_text
from autograder.ui.report import ExerciseView, ReportView

# The contract checks of each exercise and the rule each one tests.
CONTRACT = {
    "bn_forward::float32_stays_float32": "float32_kept",
    "bn_forward::single_sample_raises": "batch_of_one_raises",
    "bn_backward::float32_stays_float32": "float32_kept",
    "bn_running_stats::update_single_sample_raises": "batch_of_one_raises",
    "bn_running_stats::float32_stays_float32": "float32_kept",
    "bn_sgd_step::float32_stays_float32": "float32_kept",
    "spatial_bn::float32_stays_float32": "float32_kept",
    "spatial_bn::single_value_per_channel_raises": "one_value_per_channel_raises",
    "dropout::p_one_gives_zeros": "p_one_gives_zeros",
    "dropout::invalid_p_raises": "invalid_p_raises",
    "dropout::float32_stays_float32": "float32_kept",
}


def with_share(kit: Kit, share: float) -> Kit:
    policy = msgspec.structs.replace(kit.course.policy, contract_share=share)
    return Kit(kit.root, msgspec.structs.replace(kit.course, policy=policy))


# -- the share --------------------------------------------------------------------------------


def test_course_yml_sets_the_contract_share(kit):
    assert kit.course.policy.contract_share == 0.1


@pytest.mark.parametrize("share, valid", [(0, True), (0.1, True), (0.5, True), (0.6, False), (-0.1, False)])
def test_the_contract_share_is_between_0_and_one_half(share, valid, tmp_path):
    text = (ROOT / "course.yml").read_text().replace("contract_share: 0.1", f"contract_share: {share}")
    (tmp_path / "course.yml").write_text(text)
    if valid:
        assert load_course(tmp_path / "course.yml").policy.contract_share == share
    else:
        with pytest.raises(CourseError, match=r"line \d+ \(policy.contract_share\): .*between 0 and 0.5"):
            load_course(tmp_path / "course.yml")


def exercise(kinds: str, passed: str, share: float = 0.1) -> ExerciseResult:
    """Checks of the given kinds ("m" math, "c" contract), passed where `passed` says "y"."""
    checks = [CheckResult(f"e::{i}", "e", msg("x"), "passed" if ok == "y" else "failed",
                          kind="contract" if kind == "c" else "math")
              for i, (kind, ok) in enumerate(zip(kinds, passed))]
    return ExerciseResult("e", 15, checks, contract_share=share)


def test_contract_checks_share_the_contract_share_and_math_checks_the_rest():
    result = exercise("mmmcc", "yyynn")
    assert [result.worth(c) for c in result.checks] == pytest.approx([4.5, 4.5, 4.5, 0.75, 0.75])
    assert result.score == 13.5 and result.contract_points == 1.5
    assert exercise("mmmcc", "yyyyn").score == 14.25
    assert exercise("mmmcc", "nyyyy").score == 10.5
    assert exercise("mmmcc", "yyynn", share=0.0).score == 15  # a free contract
    assert exercise("mmmm", "yyyn").score == 11.25  # one kind: an equal split
    assert exercise("cc", "yn").score == 7.5
    nine = exercise("mmmmmmmcc", "y" * 9)
    assert sum(nine.worth(c) for c in nine.checks) == pytest.approx(15) and nine.score == 15


# -- the rules --------------------------------------------------------------------------------


def test_the_contract_checks_are_the_ones_listed(solutions_report):
    marked = {c.id for e in solutions_report.exercises for c in e.checks if c.kind == "contract"}
    assert marked == set(CONTRACT)
    assert all(c.passed for e in solutions_report.exercises for c in e.checks)  # the solutions keep every rule


def test_every_rule_has_a_text_a_fix_and_a_mutant_that_breaks_it():
    """The mutants' `rules` are checked by tests/test_mutations.py (a contract miss exactly there)."""
    broken = {f"{module.EXERCISE}::{check}": rule for module in check_modules() for mutant in module.MUTANTS
              for check, rule in mutant.rules.items()}
    assert broken == CONTRACT
    for language in ("en", "es"):
        rules = {key.split(".")[2] for key in catalog(language) if key.startswith("contract.rules.")}
        assert rules == set(CONTRACT.values())
        assert all(f"contract.rules.{rule}.fix" in catalog(language) for rule in rules)


def test_a_contract_miss_is_reported_with_its_rule_and_fix_not_its_numbers(kit):
    failure = Feedback("nonfinite", msg("compare.nonfinite", name="out", function="dropout_forward", count=6,
                                        total=6, index="[0, 0]", value="nan"),
                       [msg("compare.tolerance", rtol="1e-08")], misconception="division_by_zero_at_p_one",
                       rule="p_one_gives_zeros")
    checks = [CheckResult("dropout::a", "dropout", msg("checks.dropout.p_one_gives_zeros"), "failed", failure,
                          kind="contract"),
              CheckResult("dropout::b", "dropout", msg("checks.dropout.keep_rate"), "passed")]
    result = ExerciseResult("dropout", 15, checks)
    text = plain_text(ReportView(GradeReport("x", 1, [result]), kit.course, Translator("en"), "all"))
    assert "Contract rule missed (see below): out returned by dropout_forward contains 6 NaN" in text
    assert "With p = 1 every unit is dropped" in text
    assert "Fix: The survivors' scale 1 / (1 − p) divides by zero" in text
    assert "Contract rules missed: rules of this kit's API, not the mathematics." in text
    assert "weigh 1.5 of its 15 points" in text
    assert "Tolerance" not in text and "rtol" not in text  # no numbers of a wrong value


# -- correct code from elsewhere ------------------------------------------------------------------

# Correct code in the style of a well-known course assignment, wrapped onto the kit's API
# without the kit's rules: no error for a batch of one, NaN at p = 1, no check of p, a float64
# dropout mask.
ELSEWHERE = {
    "batchnorm.py": '''
import numpy as np


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    sample_mean = np.mean(x, axis=0)
    sample_var = np.var(x, axis=0)
    x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
    return gamma * x_hat + beta, (x, x_hat, sample_mean, sample_var, gamma, eps)


def batchnorm_backward(dout, cache):
    x, x_hat, mu, var, gamma, eps = cache
    N = x.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dvar = np.sum(dx_hat * (x - mu) * -0.5 * (var + eps) ** -1.5, axis=0)
    dmu = np.sum(-dx_hat / np.sqrt(var + eps), axis=0) + dvar * np.mean(-2 * (x - mu), axis=0)
    dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mu) / N + dmu / N
    return dx, dgamma, dbeta


def update_running_stats(running_mean, running_var, x, momentum=0.1):
    D = x.shape[1]
    running_mean = np.zeros(D, dtype=x.dtype) if running_mean is None else running_mean
    running_var = np.ones(D, dtype=x.dtype) if running_var is None else running_var
    with np.errstate(all="ignore"):
        batch_var = x.var(axis=0, ddof=1) if len(x) > 1 else np.full(D, np.nan, dtype=x.dtype)
    mean = (1 - momentum) * running_mean + momentum * x.mean(axis=0)
    return mean, (1 - momentum) * running_var + momentum * batch_var


def batchnorm_eval(x, gamma, beta, running_mean, running_var, eps=1e-5):
    return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
''',
    "spatial_batchnorm.py": '''
from batchnorm import batchnorm_backward, batchnorm_forward


def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    N, C, H, W = x.shape
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, C), gamma, beta, eps)
    return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta
''',
    "dropout.py": '''
import numpy as np


def dropout_forward(x, p, train, rng):
    keep = 1 - p
    mask = None
    if train:
        with np.errstate(all="ignore"):
            mask = (rng.random(x.shape) < keep) / keep
        out = (x * mask).astype(x.dtype)
    else:
        out = x
    return out, (train, mask)


def dropout_backward(dout, cache):
    train, mask = cache
    return dout * mask if train else dout
''',
}
MISSED = {
    "bn_forward": {"single_sample_raises": "batch_of_one_raises"},
    "bn_running_stats": {"update_single_sample_raises": "batch_of_one_raises"},
    "spatial_bn": {"single_value_per_channel_raises": "one_value_per_channel_raises"},
    "dropout": {"p_one_gives_zeros": "p_one_gives_zeros", "invalid_p_raises": "invalid_p_raises",
                "float32_stays_float32": "float32_kept"},
}


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> object:
    return make_submission(tmp_path_factory.mktemp("elsewhere"), ELSEWHERE, SOLUTIONS)


def test_correct_code_from_elsewhere_loses_only_the_contract_share(kit, reference, elsewhere):
    report = grade(kit, elsewhere, reference=reference)
    for result in report.exercises:
        missed = {c.id.split("::")[1]: c.feedback.rule for c in result.checks if not c.passed}
        assert missed == MISSED.get(result.id, {}), result.id
        assert all(c.contract_miss for c in result.checks if not c.passed)
        lost = sum(result.worth(c) for c in result.checks if not c.passed)
        assert result.score == round(result.max_points - lost, 2) >= result.max_points * 0.9
    t = Translator("en")
    data = report_to_json(report, kit.course, t)
    jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text()))
    rules = {c["rule"] for e in data["exercises"] for c in e["checks"] if c["rule"]}
    assert rules == {rule for checks in MISSED.values() for rule in checks.values()}
    text = "".join(plain_text(ExerciseView(e, kit.course, t)) for e in report.exercises)
    assert text.count("Contract rule missed (see below):") == 6
    assert "does not match PyTorch" not in text and "Largest error" not in text


def test_with_a_contract_share_of_0_code_from_elsewhere_gets_full_marks(kit, reference, elsewhere):
    report = grade(with_share(kit, 0.0), elsewhere, reference=reference)
    assert sum(e.score for e in report.exercises) == 100
