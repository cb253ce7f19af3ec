"""``grade export student DIR``: the repository that students of a graded course clone.

The release is the kit as a student uses it, the same ``grade`` (exercises graded in the
sandbox, the quiz, the lessons), without what would hand out the answers::

    DIR/
      autograder/  course.yml  pyproject.toml  constraints.txt  Makefile  README.md
      exercises/   the untouched stubs (refused if any function is already written)
      lessons/     the lessons
      quiz.yml     the bank sealed (`autograder.quiz.seal`): no key, no explanation in clear
      docs/        the guides (the README links to them)
      .gitignore   .grade/ (the student's state and caches) stays out of their commits

Left out: solutions/, tests/ (their mutants and alternatives are solutions too), benchmarks/,
caches and state. ``grade lab`` needs the reference solutions, so it
is not part of a release.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import msgspec
import yaml

from autograder.grading.stubs import not_started
from autograder.kit import PACKAGE_DIR, Kit
from autograder.quiz.seal import seal_bank

MARKER = ".grade-release"
"""Written into every release: ``--force`` replaces only a folder that has it."""
TOP_FILES = ("pyproject.toml", "constraints.txt", "Makefile", "README.md")
DOCS = ("docs/student-guide.md", "docs/instructor-guide.md", "docs/how-it-works.md", "docs/contributing.md")
"""The guides, so that the README's links work (none holds an answer: tests/test_teaching_texts.py)."""
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".ipynb_checkpoints", ".DS_Store")
SEALED_HEADER = ("# The theory quiz of a student release, sealed: answers are checked against digests, and\n"
                 "# the explanations open once a question is answered right (see autograder/quiz/seal.py).\n")


class ReleaseError(Exception):
    """The release cannot be written; the message says why (one line)."""


@dataclass(frozen=True)
class Release:
    root: Path
    files: int
    sealed: int
    """Questions sealed (the numeric ones are computed, not sealed)."""


def export_student(kit: Kit, root: Path, *, force: bool = False, messages=None) -> Release:
    """Write the student release of `kit` into `root` (new, empty, or an earlier release with
    `force`). `messages(key, **params)` words the errors (the CLI's translator)."""
    say = messages or (lambda key, **params: f"{key}: {params}")
    _check_target(root, force, say)
    unsolved = set(kit.course.ids) - not_started(kit.course, kit.exercises_dir)
    if unsolved:
        raise ReleaseError(say("export.errors.exercises_not_stubs", exercises=", ".join(sorted(unsolved)),
                               path=kit.exercises_dir))
    staging = root.with_name(f".{root.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        sealed = _write(kit, staging)
        if root.exists():
            shutil.rmtree(root)
        staging.rename(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Release(root, sum(1 for path in root.rglob("*") if path.is_file()), sealed)


def _check_target(root: Path, force: bool, say) -> None:
    if root.exists() and not root.is_dir():
        raise ReleaseError(say("export.errors.not_a_folder", path=root))
    if root.is_dir() and any(root.iterdir()):
        if not force:
            raise ReleaseError(say("export.errors.exists", path=root))
        if not (root / MARKER).is_file():
            raise ReleaseError(say("export.errors.not_a_release", path=root))


def _write(kit: Kit, folder: Path) -> int:
    folder.mkdir(parents=True)
    shutil.copytree(PACKAGE_DIR, folder / "autograder", ignore=SKIPPED)
    for name in TOP_FILES:
        if (PACKAGE_DIR.parent / name).is_file():
            shutil.copy2(PACKAGE_DIR.parent / name, folder / name)
    for name in DOCS:
        if (PACKAGE_DIR.parent / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PACKAGE_DIR.parent / name, folder / name)
    shutil.copy2(kit.root / "course.yml", folder / "course.yml")
    shutil.copytree(kit.exercises_dir, folder / kit.course.exercises_dir, ignore=SKIPPED)
    sealed = 0
    if kit.course.quiz is not None:
        from autograder.quiz.bank import load_bank

        shutil.copytree(kit.root / kit.course.quiz.lessons, folder / kit.course.quiz.lessons, ignore=SKIPPED)
        bank = seal_bank(load_bank(kit))
        sealed = sum(question.sealed for question in bank.questions)
        text = yaml.safe_dump(_plain(msgspec.to_builtins(bank)), allow_unicode=True, sort_keys=False, width=1000)
        (folder / kit.course.quiz.bank).write_text(SEALED_HEADER + text, encoding="utf-8")
    (folder / ".gitignore").write_text(".grade/\n__pycache__/\n.venv/\n*.egg-info/\n")
    (folder / MARKER).write_text("A student release written by grade export student; --force may replace it.\n")
    return sealed


def _plain(value):
    """Builtins without the fields a sealed bank leaves empty (None, ``correct: false``, empty
    strings and lists), so that the file shows only what it holds, each question's id first."""
    if isinstance(value, dict):
        kept = {key: _plain(item) for key, item in value.items()
                if item not in (None, "", [], {}) and not (key == "correct" and item is False)}
        first = [key for key in ("id", "type", "topic", "exercise") if key in kept]
        return {key: kept[key] for key in first + [key for key in kept if key not in first]}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
