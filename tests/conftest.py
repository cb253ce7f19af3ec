"""Fixtures shared by the kit's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import ROOT, SOLUTIONS, make_submission

from autograder.grading.reference import Reference
from autograder.grading.results import GradeReport
from autograder.grading.runner import grade
from autograder.kit import Kit

# No test's `grade` in a terminal hands its run to a warm server or leaves one running, but
# test_warm_server's, which use a private one.
os.environ["GRADE_SERVER"] = "off"


@pytest.fixture(scope="session")
def kit() -> Kit:
    return Kit.locate(ROOT / "course.yml")


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> Reference:
    """One reference for the whole session: torch runs once per distinct case."""
    return Reference(tmp_path_factory.mktemp("reference-cache"))


@pytest.fixture(scope="session")
def solutions_report(kit, reference) -> GradeReport:
    return grade(kit, SOLUTIONS, reference=reference)


@pytest.fixture
def grade_files(kit, reference, tmp_path):
    """``grade_files({"batchnorm.py": source}, exercises=[...])``: grade the solutions with
    some files replaced."""

    def run(files: dict[str, str] | None = None, exercises: list[str] | None = None, *,
            base: Path = SOLUTIONS, kit_: Kit | None = None, seed: int | None = None) -> GradeReport:
        folder = make_submission(tmp_path / "submission", files, base)
        return grade(kit_ or kit, folder, exercises=exercises, reference=reference, seed=seed)

    return run
