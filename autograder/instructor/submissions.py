"""The submissions of a class: one folder per student, found and made gradable.

A class folder holds one folder per student, in either layout:

    DIR/<student>/batchnorm.py ...                 laid out like exercises/
    DIR/<student>/<assignment>/01_batchnorm.ipynb ... an nbgrader ``submitted/`` tree

Folders are graded in place (the student's files are read, never written). The notebooks
of an nbgrader submission (as `grade export nbgrader` names them) are first turned back into
exercise files and ``quiz_answers.yml`` by `autograder.instructor.notebooks`, written under the
batch's own output folder, never next to the student's notebooks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Course
from autograder.instructor.notebooks import notebook_names

IGNORED = {"__pycache__", ".ipynb_checkpoints"}


class SubmissionError(Exception):
    """A student folder that cannot be turned into exercise files (the student gets 0)."""


class AssignmentError(Exception):
    """The class folder does not say which nbgrader assignment to grade: several hold the
    course's notebooks and none was named, or the one named is in no student's folder."""

    def __init__(self, asked: str | None, found: list[str]) -> None:
        super().__init__(asked, found)
        self.asked, self.found = asked, found


@dataclass(frozen=True)
class Submission:
    student: str
    source: Path
    """The student's own folder, DIR/<student>."""
    notebooks: Path | None = None
    """For an nbgrader submission: the folder of its notebooks."""
    problem: str | None = None
    """Why its notebooks cannot be chosen (several assignments, none named)."""

    @property
    def kind(self) -> str:
        return "folder" if self.notebooks is None else "nbgrader"


def find_submissions(directory: Path, course: Course, *, exclude: list[Path] = (),
                     assignment: str | None = None) -> list[Submission]:
    """Every student folder in `directory`, sorted by name (hidden folders and `exclude` skipped)."""
    excluded = {p.resolve() for p in exclude}
    found = []
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")) or folder.resolve() in excluded:
            continue
        found.append(_submission(folder.resolve(), course, assignment))
    return found


def resolve_assignment(directory: Path, course: Course, asked: str | None, *,
                       exclude: list[Path] = ()) -> str | None:
    """The nbgrader assignment to grade in every student folder: `asked`, or the only one that
    holds the course's notebooks (None when no student folder has assignment subfolders).
    Raises `AssignmentError` when that is ambiguous or `asked` is nowhere."""
    excluded = {p.resolve() for p in exclude}
    notebooks = {f"{name}.ipynb" for name in notebook_names(course).values()}
    found = set()
    for folder in (p for p in directory.iterdir() if p.is_dir() and p.resolve() not in excluded):
        found |= {c.name for c in _notebook_folders(folder)
                  if c != folder and {n.name for n in c.glob("*.ipynb")} & notebooks}
    if asked is not None:
        if found and asked not in found:
            raise AssignmentError(asked, sorted(found))
        return asked
    if len(found) > 1:
        raise AssignmentError(None, sorted(found))
    return found.pop() if found else None


def _submission(folder: Path, course: Course, assignment: str | None) -> Submission:
    files = {e.file for e in course.exercises if e.file}
    candidates = _notebook_folders(folder)
    notebooks = {f"{name}.ipynb" for name in notebook_names(course).values()}
    if any((folder / name).is_file() for name in files) or not candidates:
        return Submission(folder.name, folder)
    if assignment is not None:
        candidates = [c for c in candidates if c.name == assignment]
    if len(candidates) > 1:  # several assignments: the one whose notebooks are the course's
        matching = [c for c in candidates if {p.name for p in c.glob("*.ipynb")} & notebooks]
        candidates = matching if len(matching) == 1 else candidates
    if len(candidates) == 1:
        return Submission(folder.name, folder, candidates[0])
    names = ", ".join(c.name for c in candidates) or "-"
    return Submission(folder.name, folder, folder, problem=f"{len(candidates)} assignment folders ({names})")


def _notebook_folders(folder: Path) -> list[Path]:
    """The folder itself and its subfolders, those that hold notebooks."""
    places = [folder, *sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in IGNORED)]
    return [p for p in places if any(p.glob("*.ipynb"))]


def digest(folder: Path) -> str:
    """A fingerprint of every file in `folder` (names and contents; symbolic links are not
    followed): a changed submission is graded again when a batch resumes."""
    hasher = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED)
        for name in sorted(files):
            path = Path(root, name)
            hasher.update(f"{path.relative_to(folder).as_posix()}\0".encode())
            if path.is_symlink():
                hasher.update(f"-> {os.readlink(path)}\0".encode())
                continue
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    hasher.update(chunk)
            hasher.update(b"\0")
    return hasher.hexdigest()[:32]


def stage(submission: Submission, course: Course, target: Path) -> Path:
    """The folder to grade: the student's own for a folder submission; for notebooks, `target`
    filled with one exercise file per notebook (replacing what an earlier run left there)."""
    if submission.notebooks is None:
        return submission.source
    if submission.problem:
        raise SubmissionError(submission.problem)
    from autograder.instructor.notebooks import write_submission

    if target.exists():
        shutil.rmtree(target)
    write_submission(course, submission.notebooks, target)
    return target
