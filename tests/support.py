"""Helpers for the kit's own tests: grade a folder made from the solutions plus changes."""

from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pytest

from autograder.grading.results import GradeReport
from autograder.kit import Kit

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


UNHOOKED = '''
def unhooked(code, wait=True):
    """Run `code` in a fresh Python that has no audit hook (the hook is a tripwire, not a
    wall): re-import subprocess and _posixsubprocess, and give subprocess a `sys` whose
    audit() does nothing."""
    import sys, types
    for name in ("subprocess", "_posixsubprocess"):
        sys.modules.pop(name, None)
    import subprocess
    quiet = types.ModuleType("sys")
    quiet.__dict__.update(sys.__dict__)
    quiet.audit = lambda *args: None
    subprocess.sys = quiet
    if not wait:
        subprocess.Popen([sys.executable, "-I", "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return ""
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=20)
    return done.stdout + done.stderr
'''
"""Submission code: ``unhooked(code, wait=True)`` runs Python `code` in a fresh process, past
the worker's audit hook (the way hostile submissions in the tests reach the walls)."""


def fast_kit(kit: Kit, seconds: float = 1.0) -> Kit:
    """The same kit with a shorter time limit per call (for hangs in tests)."""
    policy = msgspec.structs.replace(kit.course.policy, seconds_per_call=seconds)
    return Kit(kit.root, msgspec.structs.replace(kit.course, policy=policy))


def make_submission(folder: Path, files: dict[str, str] | None = None, base: Path = SOLUTIONS) -> Path:
    """A submission folder: every file of `base`, then `files` (name -> source) on top."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in base.glob("*.py"):
        shutil.copy(path, folder / path.name)
    for name, source in (files or {}).items():
        (folder / name).write_text(source)
    return folder


def mutate(file: str, old: str, new: str) -> str:
    """The solution `file` with `old` replaced by `new` (which must occur exactly once)."""
    source = (SOLUTIONS / file).read_text()
    assert source.count(old) == 1, f"{old!r} should occur once in solutions/{file}"
    return source.replace(old, new)


@dataclass(frozen=True)
class Mutant:
    """A wrong implementation and exactly the checks it must fail, with the stage of each."""

    name: str
    file: str
    old: str
    new: str
    fails: dict[str, str] = field(default_factory=dict)
    """check id (without the "<exercise>::" prefix) -> expected failure stage"""
    rules: dict[str, str] = field(default_factory=dict)
    """check id -> the contract rule it breaks there (its failure is a contract miss); every
    other failure is a wrong answer, never a contract miss"""

    def source(self) -> str:
        return mutate(self.file, self.old, self.new)


def failures(report: GradeReport, exercise: str) -> dict[str, str]:
    """check id suffix -> stage (or "blocked") of every check that did not pass."""
    result = {}
    for check in report.exercise(exercise).checks:
        if not check.passed:
            name = check.id.split("::", 1)[1]
            result[name] = "blocked" if check.outcome == "blocked" else check.feedback.stage
    return result


def contract_misses(report: GradeReport, exercise: str) -> dict[str, str]:
    """check id suffix -> rule of every check that failed as a contract miss."""
    return {check.id.split("::", 1)[1]: check.feedback.rule for check in report.exercise(exercise).checks
            if check.contract_miss}


def check_ids(report: GradeReport, exercise: str) -> set[str]:
    return {check.id.split("::", 1)[1] for check in report.exercise(exercise).checks}


def copy_kit(folder: Path) -> Path:
    """A private copy of the kit's course files (course.yml, quiz, lessons, exercises,
    solutions) whose exercises can be edited freely; returns its course.yml."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("course.yml", "quiz.yml"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, folder / name)
    for name in ("lessons", "exercises", "solutions"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, folder / name)
    return folder / "course.yml"


# The exercises whose tests/test_checks_<exercise>.py hold MUTANTS (wrong implementations with
# the checks each must fail) and ALTERNATIVES (different-but-correct sources of its file).
MUTATED = ("bn_forward", "bn_backward", "bn_running_stats", "bn_sgd_step", "spatial_bn", "dropout")


def check_modules() -> list:
    return [importlib.import_module(f"test_checks_{exercise}") for exercise in MUTATED]


def mutant_cases() -> list:
    """``(exercise, mutant)`` for every mutant, as pytest parameters."""
    return [pytest.param(module.EXERCISE, mutant, id=f"{module.EXERCISE}: {mutant.name}")
            for module in check_modules() for mutant in module.MUTANTS]


def alternative_cases() -> list:
    """``(exercise, source)`` for every different-but-correct implementation."""
    return [pytest.param(module.EXERCISE, source, id=f"{module.EXERCISE}: {label}")
            for module in check_modules() for label, source in module.ALTERNATIVES.items()]



def warm_state(state: Path, reference) -> Path:
    """A state folder whose reference cache already holds what `reference` (the session's,
    see conftest.py) computed, so that a `grade` process started by a test need not import
    torch; returns `state`."""
    shutil.copytree(reference.cache_dir, state / "cache", dirs_exist_ok=True)
    return state
