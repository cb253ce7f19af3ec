"""Dependent points: a check that fails only because a function it builds on is wrong is
"blocked by" that function's exercise, and the results say how many points wait for it; a
dependent check runs on inputs where the earlier function is right whenever it can."""

from __future__ import annotations

import test_checks_spatial_bn as spatial_checks
from support import failures, mutate

from autograder.grading.dependencies import builds_on

REUSE = spatial_checks.ALTERNATIVES["reuses batchnorm.py through transpose and reshape"]
UNBIASED = mutate("batchnorm.py", "x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps")
NO_GAMMA_IN_DX = mutate("batchnorm.py", "dx_hat = dout * gamma", "dx_hat = dout")
NO_SINGLE_SAMPLE_ERROR = mutate("batchnorm.py", 'raise ValueError(f"batch normalisation needs',
                                'print(f"batch normalisation needs')


def test_what_a_file_builds_on_is_read_from_its_code(kit, tmp_path):
    (tmp_path / "spatial_batchnorm.py").write_text("import helper\n")
    (tmp_path / "helper.py").write_text("import batchnorm\nf = batchnorm.batchnorm_forward\n")
    (tmp_path / "batchnorm.py").write_text("")
    assert builds_on(kit.course, tmp_path, "spatial_bn") == {"batchnorm_forward"}
    (tmp_path / "spatial_batchnorm.py").write_text("def spatial_batchnorm_forward(): pass\n")
    assert builds_on(kit.course, tmp_path, "spatial_bn") == set()


def test_spatial_bn_built_on_a_wrong_forward_is_blocked_by_it(grade_files):
    report = grade_files({"spatial_batchnorm.py": REUSE, "batchnorm.py": UNBIASED}, ["spatial_bn"])
    result = report.exercise("spatial_bn")
    assert {c.outcome for c in result.checks} == {"blocked"}
    assert {c.blocked_by for c in result.checks} == {"bn_forward"}
    assert result.waiting == {"bn_forward": 15} and result.status == "blocked"


def test_spatial_bn_built_on_a_wrong_backward_is_blocked_only_where_it_is_used(grade_files):
    report = grade_files({"spatial_batchnorm.py": REUSE, "batchnorm.py": NO_GAMMA_IN_DX}, ["spatial_bn"])
    result = report.exercise("spatial_bn")
    blocked = {name for name, stage in failures(report, "spatial_bn").items() if stage == "blocked"}
    assert blocked == set(failures(report, "spatial_bn"))  # nothing else fails
    assert blocked == {*spatial_checks.backward(*spatial_checks.BACKWARD_CASES), "float32_stays_float32",
                       "inputs_not_modified"}
    assert {c.blocked_by for c in result.checks if not c.passed} == {"bn_backward"}
    assert result.waiting == {"bn_backward": round(sum(result.worth(c) for c in result.checks if not c.passed), 2)}


def test_its_own_mistake_is_not_blamed_on_a_forward_that_only_misses_the_contract(grade_files):
    """batchnorm_forward fails its exercise (no error for N = 1) but is right on the data
    spatial_bn gives it: the reshape without a transpose is spatial_bn's own mistake."""
    report = grade_files({"spatial_batchnorm.py": spatial_checks.RESHAPE_WITHOUT_TRANSPOSE,
                          "batchnorm.py": NO_SINGLE_SAMPLE_ERROR}, ["bn_forward", "spatial_bn"])
    assert report.exercise("bn_forward").status == "failed"
    assert "blocked" not in failures(report, "spatial_bn").values()
    assert report.exercise("spatial_bn").waiting == {}


def test_a_wrong_default_in_an_earlier_function_blocks_nothing_later(grade_files):
    """The dependent exercises pass eps and momentum explicitly: inputs where those are right."""
    defaults = mutate("batchnorm.py", "def batchnorm_forward(x, gamma, beta, eps=1e-5):",
                      "def batchnorm_forward(x, gamma, beta, eps=1e-3):")
    defaults = defaults.replace("x, momentum=0.1):", "x, momentum=0.9):")
    defaults = defaults.replace("running_mean, running_var, eps=1e-5):", "running_mean, running_var, eps=1e-3):")
    graded = ["bn_forward", "bn_backward", "bn_running_stats", "spatial_bn", "bn_layer_training"]
    report = grade_files({"batchnorm.py": defaults, "spatial_batchnorm.py": REUSE}, graded)
    assert failures(report, "bn_forward") and failures(report, "bn_running_stats")
    assert {e: failures(report, e) for e in ("bn_backward", "spatial_bn", "bn_layer_training")} == \
        {"bn_backward": {}, "spatial_bn": {}, "bn_layer_training": {}}

