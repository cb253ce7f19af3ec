"""The gradient-check view: correct gradients read "correct" against both autograd and the
numerical gradient, small errors "probably a bug", real mistakes "wrong"."""

import numpy as np
import pytest
from support import mutate

from autograder.grading.cases import batch_inputs, upstream
from autograder.grading.gradcheck import GradientRow, gradient_rows, relative_error
from autograder.grading.reference import Reference

BACKWARD_EXERCISES = ["bn_backward", "spatial_bn"]


def rows_of(report, exercise: str) -> dict[str, GradientRow]:
    rows = [row for check in report.exercise(exercise).checks for row in check.gradients]
    return {row.name: row for row in rows}


@pytest.mark.parametrize("exercise", BACKWARD_EXERCISES)
def test_the_solutions_read_correct(solutions_report, exercise):
    rows = rows_of(solutions_report, exercise)
    assert set(rows) == {"dx", "dgamma", "dbeta"}
    assert {name: row.verdict for name, row in rows.items()} == dict.fromkeys(rows, "correct")


def test_a_wrong_dx_reads_wrong_and_the_rest_correct(grade_files):
    no_variance_path = mutate("batchnorm.py", " - x_hat * (dx_hat * x_hat).sum(axis=0))", ")")
    rows = rows_of(grade_files({"batchnorm.py": no_variance_path}, ["bn_forward", "bn_backward"]),
                   "bn_backward")
    assert [rows[name].verdict for name in ("dx", "dgamma", "dbeta")] == ["wrong", "correct", "correct"]


def test_many_seeds_never_flag_a_correct_gradient():
    """Entries of dx near zero must not make a correct gradient look suspicious."""
    reference = Reference(None)
    for seed in range(20):
        rng = np.random.default_rng(seed)
        x, gamma, beta, eps = batch_inputs(rng, 4 + seed % 5, 1 + seed % 4)
        dout = upstream(rng, x.shape)
        expected = reference.batchnorm(x, gamma, beta, eps=eps, dout=dout)
        numerical = reference.batchnorm_numerical(x, gamma, beta, dout, eps)
        grads = tuple(expected[name] for name in ("dx", "dgamma", "dbeta"))
        assert all(row.verdict == "correct" for row in gradient_rows(grads, expected, numerical)), seed


@pytest.mark.parametrize(("scale", "verdict"), [(1 + 1e-10, "correct"), (1 + 1e-4, "suspicious"),
                                                (1.5, "wrong")])
def test_the_bands(scale, verdict):
    expected = np.random.default_rng(0).standard_normal((6, 3))
    row = GradientRow("dx", relative_error(expected * scale, expected), relative_error(expected * scale, expected))
    assert row.verdict == verdict


def test_missing_wrong_shape_and_nan_read_wrong():
    expected = np.ones((4, 3))
    assert relative_error(None, expected) is None
    assert relative_error(np.ones((1, 3)), expected) is None
    assert relative_error(np.full((4, 3), np.nan), expected) == np.inf
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert GradientRow("dx", None, None).verdict == "wrong"
