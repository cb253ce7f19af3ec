"""One grading run: a folder of student code in, a `GradeReport` out."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from autograder.kit import CHECKS_DIR, Kit
from autograder.plugin import GradingPlugin, OnCheck
from autograder.reference import Reference
from autograder.results import ExerciseResult, GradeReport
from autograder.sandbox import Sandbox
from autograder.stubs import not_started

PYTEST_ARGS = [
    "-c", str(CHECKS_DIR / "pytest.ini"), "--rootdir", str(CHECKS_DIR),
    "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:logging", "-p", "no:junitxml",
    "-p", "no:pastebin", "-p", "no:doctest", "-p", "no:unraisableexception", "-p", "no:threadexception",
    "-p", "no:faulthandler", "--disable-plugin-autoload", "--assert=plain",
    "-W", "ignore",
]


class ExceptionValueOnly:
    """The grading plugin reads each failing check's exception, never pytest's report of it.
    pytest would format a traceback with source for every failure (parsing the check file
    again each time, about 60 ms per failing check): ask for the exception's value only."""

    @staticmethod
    def pytest_configure(config: pytest.Config) -> None:
        config.option.tbstyle = "value"


def make_reference(kit: Kit, seed: int) -> Reference:
    """Disk-cached for the course's own seed; memory only for any other seed, so expected
    values for a grader's private seed are never written where student code could read them."""
    if seed == kit.course.policy.seed and not os.environ.get("GRADE_NO_CACHE"):
        return Reference(kit.state_dir / "cache")
    return Reference(None)


def grade(kit: Kit, directory: Path, *, exercises: list[str] | None = None, seed: int | None = None,
          sandbox: Sandbox | None = None, reference: Reference | None = None,
          on_check: OnCheck | None = None, advice: bool = False) -> GradeReport:
    """Grade the student code in `directory`: the given exercises (all by default) and the
    exercises they require. The report lists only the exercises asked for."""
    started = time.perf_counter()
    course = kit.course
    seed = course.policy.seed if seed is None else seed
    wanted = exercises or course.ids
    run = course.with_requirements(wanted)
    stubs = not_started(kit.course, directory)
    own_sandbox = sandbox is None
    sandbox = sandbox or kit.sandbox(directory)
    if run != [e for e in run if e in stubs]:
        sandbox.start()  # the worker boots while pytest collects
    plugin = GradingPlugin(course, sandbox, reference or make_reference(kit, seed), seed=seed, run=run,
                           not_started=stubs, on_check=on_check, advice=advice)
    files = [str(CHECKS_DIR / f"{course.exercise(e).checks}.py") for e in run]
    try:
        code = pytest.main([*files, *PYTEST_ARGS], plugins=[plugin, ExceptionValueOnly])
    finally:
        if own_sandbox:
            sandbox.close()
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"the checks could not run (pytest exit code {int(code)})")
    results: list[ExerciseResult] = [plugin.results[e] for e in wanted]
    return GradeReport(str(directory), seed, results, duration=time.perf_counter() - started)
