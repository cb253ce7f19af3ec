"""The submissions of a class, and the one rule that finds a student's files in an upload.

A class folder holds, per student, a folder, a zip, or both (``DIR/alice/``, ``DIR/bob.zip``);
hidden and ``_``-prefixed entries are skipped. An optional roster (`read_roster`) names every
student who should have a row, so a student with nothing in the class folder is listed as not
submitted instead of missing from the gradebook.

`collect` is the rule, shared by ``grade batch`` and the Gradescope runner: each expected file
(``batchnorm.py`` ..., ``quiz_answers.yml``) is the shallowest regular file of that name in the
student's upload, at any depth, zips included (zips inside a folder, or the upload itself);
a file not found is rebuilt from its exported notebook (`autograder.instructor.notebooks`) when
there is one. What was found is copied into a fresh folder, which is what gets graded: the
student's own files are never written, and never graded in place. Symbolic links are never
followed. A file that looks like an expected one under the wrong name (``batchnorm.txt``,
``Batchnorm.py``) is reported, not graded.

Zips are read, never trusted: a member with an absolute path, a ``..`` part or a link is
skipped; only the members the rule looks for are extracted; a zip with more than
`ZIP_MEMBERS` entries, or whose extracted members would pass `ZIP_BYTES`, is refused; no file
over `FILE_BYTES` is copied. Each refusal is a `Problem` in the result.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.course import Course
from autograder.instructor.notebooks import QUIZ_MODULE, convert_notebook, notebook_names, read_notebook

SKIPPED_PARTS = {"__pycache__", "__MACOSX", ".git", ".ipynb_checkpoints"}
ZIP_MEMBERS = 1000
"""Entries a zip may list (a zip bomb of tiny files is refused before anything is read)."""
ZIP_BYTES = 64 * 2**20
"""Bytes the members extracted from one zip may add up to."""
FILE_BYTES = 5 * 2**20
"""Largest file copied from an upload (a source file of the course is a few KB)."""
CHUNK = 1 << 16


class AssignmentError(Exception):
    """The class folder does not say which nbgrader assignment to grade: several hold the
    course's notebooks and none was named, or the one named is in no student's folder."""

    def __init__(self, asked: str | None, found: list[str]) -> None:
        super().__init__(asked, found)
        self.asked, self.found = asked, found


class RosterError(Exception):
    """The roster file cannot be read (the message says why)."""


@dataclass(frozen=True)
class Submission:
    """One student's entry in the class folder."""

    student: str
    sources: tuple[Path, ...] = ()
    """The student's folder and/or zip (none: on the roster, nothing submitted)."""


@dataclass(frozen=True)
class Problem:
    """Something in an upload that was not used: ``kind`` is ``wrong_name`` (`file` looks like
    `expected`), ``bad_zip``, ``zip_too_many`` (more than `ZIP_MEMBERS` entries),
    ``zip_too_large``, ``unsafe_path`` (a zip member leaving the zip), ``link`` or ``too_large``."""

    kind: str
    file: str
    expected: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "file": self.file, "expected": self.expected}


@dataclass
class Collected:
    """What `collect` found and copied."""

    found: list[str] = field(default_factory=list)
    """Names used: the expected files, or the notebooks they were rebuilt from."""
    problems: list[Problem] = field(default_factory=list)
    modified: float | None = None
    """Latest modification time (seconds since the epoch) of what was used; for a file from a
    zip, the zip's own."""


# -- the class folder ----------------------------------------------------------------------------


def find_submissions(directory: Path, *, exclude: list[Path] = (), roster: list[str] | None = None) -> list[Submission]:
    """Every student in `directory` (a folder, a zip or both), plus every roster student,
    sorted by id."""
    excluded = {p.resolve() for p in exclude}
    sources: dict[str, list[Path]] = {}
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith((".", "_")) or entry.resolve() in excluded or entry.is_symlink():
            continue
        if entry.is_dir():
            sources.setdefault(entry.name, []).append(entry)
        elif entry.is_file() and entry.suffix.lower() == ".zip":
            sources.setdefault(entry.stem, []).append(entry)
    for student in roster or []:
        sources.setdefault(student, [])
    return [Submission(student, tuple(paths)) for student, paths in sorted(sources.items())]


@dataclass(frozen=True)
class Roster:
    """The students who should have a row, with what else the roster says about them."""

    ids: list[str]
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    """Student id -> the roster's other cells, by lower-case column name (``email``...)."""


def read_roster(path: Path) -> Roster:
    """Student ids from a CSV file: the column named as in `ROSTER_COLUMNS`, else the first
    column, when the first row names none of them (then it is data too). The other columns are
    kept (the LMS exports use them)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RosterError(f"{path}: {error}") from None
    if not rows:
        raise RosterError(f"{path}: no student ids")
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(name) for name in ROSTER_COLUMNS if name in header), None)
    if column is None:
        return Roster(list(dict.fromkeys(row[0].strip() for row in rows if row and row[0].strip())))
    roster = Roster([])
    for row in rows[1:]:
        student = row[column].strip() if len(row) > column else ""
        if student and student not in roster.columns:
            roster.ids.append(student)
            roster.columns[student] = {name: cell.strip() for name, cell in zip(header, row) if name}
    return roster


ROSTER_COLUMNS = ("sis login id", "student", "id", "login", "username")
"""The id column, first found (Canvas's gradebook export names its students' logins SIS Login ID)."""


def resolve_assignment(directory: Path, course: Course, asked: str | None, *,
                       exclude: list[Path] = ()) -> str | None:
    """The nbgrader assignment to grade in every student folder: `asked`, or the only one that
    holds the course's notebooks (None when no student folder has assignment subfolders).
    Raises `AssignmentError` when that is ambiguous or `asked` is nowhere."""
    excluded = {p.resolve() for p in exclude}
    notebooks = {f"{name}.ipynb" for name in notebook_names(course).values()}
    found = set()
    for folder in (p for p in directory.iterdir() if p.is_dir() and p.resolve() not in excluded):
        found |= {c.name for c in folder.iterdir()
                  if c.is_dir() and c.name not in SKIPPED_PARTS and {n.name for n in c.glob("*.ipynb")} & notebooks}
    if asked is not None:
        if found and asked not in found:
            raise AssignmentError(asked, sorted(found))
        return asked
    if len(found) > 1:
        raise AssignmentError(None, sorted(found))
    return found.pop() if found else None


def digest(paths: tuple[Path, ...] | list[Path]) -> str:
    """A fingerprint of every file under `paths` (names and contents; symbolic links are not
    followed): a changed submission is graded again when a batch resumes."""
    hasher = hashlib.sha256()
    for top in paths:
        hasher.update(f"{top.name}\0".encode())
        for path in _files(top):
            hasher.update(f"{path.relative_to(top).as_posix() if path != top else ''}\0".encode())
            if path.is_symlink():
                hasher.update(f"-> {os.readlink(path)}\0".encode())
                continue
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    hasher.update(chunk)
            hasher.update(b"\0")
    return hasher.hexdigest()[:32]


def _files(top: Path) -> list[Path]:
    if not top.is_dir():
        return [top]
    found = []
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_PARTS)
        found += [Path(root, name) for name in sorted(files)]
    return found


def stage(submission: Submission, course: Course, target: Path, *, assignment: str | None = None) -> Collected:
    """Collect the student's files into `target` (emptied first). In an nbgrader tree, the
    named assignment's folder is searched instead of the whole student folder."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    roots = []
    for source in submission.sources:
        chosen = source / assignment if assignment and (source / assignment).is_dir() else source
        roots.append(chosen)
    return collect(course, roots, target)


# -- the rule ------------------------------------------------------------------------------------


def expected_files(course: Course) -> list[str]:
    """The files a submission is made of: each exercise file, then the quiz answers."""
    from autograder.quiz.answers import ANSWERS_FILE

    files = list(dict.fromkeys(e.file for e in course.exercises if e.file))
    return files + ([ANSWERS_FILE] if course.quiz is not None else [])


def collect(course: Course, roots: list[Path], destination: Path) -> Collected:
    """Copy the expected files found under `roots` (folders or zips) into `destination`; see
    the module docstring for the rule."""
    from autograder.quiz.answers import ANSWERS_FILE

    names = notebook_names(course)
    notebook_of = {file: f"{names[QUIZ_MODULE if file == ANSWERS_FILE else file]}.ipynb"
                   for file in expected_files(course) if (QUIZ_MODULE if file == ANSWERS_FILE else file) in names}
    wanted = set(expected_files(course)) | set(notebook_of.values())
    result = Collected()
    with contextlib.ExitStack() as stack:
        def scratch() -> Path:  # made only when a zip is read
            return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="unzipped-", dir=destination.parent)))

        index = _Index(wanted, scratch, result.problems)
        for root in roots:
            index.add(root)
        for file in expected_files(course):
            path = index.best(file)
            if path is not None:
                shutil.copyfile(path, destination / file)
                result.found.append(file)
                index.used(path)
                continue
            notebook_path = index.best(notebook_of[file]) if file in notebook_of else None
            notebook = read_notebook(notebook_path) if notebook_path else None
            module = QUIZ_MODULE if file == ANSWERS_FILE else file
            if notebook is not None and convert_notebook(module, notebook, destination):
                result.found.append(notebook_path.name)
                index.used(notebook_path)
            else:
                result.problems += [Problem("wrong_name", name, file) for name in index.lookalikes(file)]
        result.modified = index.modified
    return result


class _Index:
    """The candidate files of an upload by name, each with its depth in its root."""

    def __init__(self, wanted: set[str], scratch: Callable[[], Path], problems: list[Problem]) -> None:
        self.wanted, self.make_scratch, self.problems = wanted, scratch, problems
        self.scratch: Path | None = None
        self.candidates: dict[str, list[tuple[int, int, str, Path]]] = {}
        self.names: list[str] = []  # every file name seen, for the look-alikes
        self.origin: dict[Path, float] = {}  # file -> the modification time that counts
        self.modified: float | None = None
        self.roots = 0

    def add(self, root: Path) -> None:
        order = self.roots
        self.roots += 1
        if root.is_symlink():
            self.problems.append(Problem("link", root.name))
        elif root.is_dir():
            self._walk(root, order)
        elif root.is_file() and root.suffix.lower() == ".zip":
            self._unzip(root, order)

    def _walk(self, root: Path, order: int) -> None:
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_PARTS and not Path(folder, d).is_symlink())
            depth = len(Path(folder).relative_to(root).parts)
            for name in sorted(files):
                path = Path(folder, name)
                self.names.append(name)
                if name in self.wanted or name.lower().endswith(".zip"):
                    info = path.lstat()
                    if stat.S_ISLNK(info.st_mode):
                        self.problems.append(Problem("link", _shown(path, root)))
                    elif name.lower().endswith(".zip"):
                        self._unzip(path, order, depth + 1)
                    elif info.st_size > FILE_BYTES:
                        self.problems.append(Problem("too_large", _shown(path, root)))
                    else:
                        self._candidate(name, depth, order, path, info.st_mtime)

    def _candidate(self, name: str, depth: int, order: int, path: Path, modified: float) -> None:
        self.candidates.setdefault(name, []).append((depth, order, str(path), path))
        self.origin[path] = modified

    def _unzip(self, archive: Path, order: int, depth: int = 0) -> None:
        """Extract the wanted members of `archive` (safely) into the scratch folder."""
        self.scratch = self.scratch or self.make_scratch()
        target = self.scratch / str(len(list(self.scratch.iterdir())))
        try:
            with zipfile.ZipFile(archive) as opened:
                members = opened.infolist()
                if len(members) > ZIP_MEMBERS:
                    self.problems.append(Problem("zip_too_many", archive.name))
                    return
                budget = ZIP_BYTES
                modified = archive.stat().st_mtime
                for member in members:
                    parts = _safe_parts(member.filename)
                    if member.is_dir() or parts is None:
                        if parts is None:
                            self.problems.append(Problem("unsafe_path", f"{archive.name}: {member.filename}"))
                        continue
                    name = parts[-1]
                    self.names.append(name)
                    if SKIPPED_PARTS & set(parts) or name not in self.wanted:
                        continue
                    if stat.S_ISLNK(member.external_attr >> 16):
                        self.problems.append(Problem("link", f"{archive.name}: {member.filename}"))
                        continue
                    path = target.joinpath(*parts)
                    written = _extract(opened, member, path, min(FILE_BYTES, budget))
                    if written is None:
                        kind = "too_large" if budget > FILE_BYTES else "zip_too_large"
                        self.problems.append(Problem(kind, f"{archive.name}: {member.filename}"))
                        if kind == "zip_too_large":
                            return
                        continue
                    budget -= written
                    self._candidate(name, depth + len(parts) - 1, order, path, modified)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, ValueError):
            self.problems.append(Problem("bad_zip", archive.name))

    def best(self, name: str) -> Path | None:
        """The shallowest candidate called `name` (then the earlier root, then by path)."""
        found = self.candidates.get(name)
        return min(found)[3] if found else None

    def used(self, path: Path) -> None:
        modified = self.origin.get(path)
        if modified is not None:
            self.modified = modified if self.modified is None else max(self.modified, modified)

    def lookalikes(self, expected: str) -> list[str]:
        """Files named like `expected` but not exactly (``batchnorm.txt``, ``Batchnorm.py``)."""
        stem = expected.split(".")[0].lower()
        return sorted({n for n in self.names if n != expected and n.split(".")[0].lower() == stem
                       and not n.endswith((".pyc", ".pyo"))})


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """The path parts of a zip member, or None when it would leave the folder it is
    extracted to (absolute, a drive, ``..``)."""
    name = name.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        return None
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if not parts or ".." in parts:
        return None
    return parts


def _extract(archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path, limit: int) -> int | None:
    """Write `member` to `path`, reading at most `limit` bytes (the sizes in a zip's directory
    can lie); the bytes written, or None (nothing kept) when it is larger."""
    if member.file_size > limit:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with archive.open(member) as source, open(path, "wb") as target:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > limit:
                break
            target.write(chunk)
    if written > limit:
        path.unlink()
        return None
    return written


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else path.name
