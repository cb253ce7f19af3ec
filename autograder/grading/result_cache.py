"""Results of exercises whose code cannot have changed since they were last graded.

Student code can read any file of its folder (an import, ``importlib``, ``exec`` of a file it
opens, a data file), so an exercise's result is keyed on everything it could depend on: the
contents and names of every file in the submission folder (``__pycache__`` and the kit's own
state folder aside), the kit's code and version, the course (points, tolerances, contract
share...), the seed, whether timing advice was asked for, and the Python, NumPy and torch
versions. Any change to the folder re-grades every exercise. A folder too large to hash
quickly (`MAX_FILES`, `MAX_BYTES`) is not cached at all. Files outside the folder are not part
of the key: student code that reads them is graded again only when something else changes.

A result is stored as data without the folder it was graded in: every mention of that folder
(in a location, a message, what the code printed) is replaced by a placeholder, and the folder
being graded is put back when the result is reused. Two folders holding the same files share
a result, and neither report shows the other's paths.

A result is stored only if the folder still holds, once graded, what its key was made from
(a file saved during the grading keeps it out), and a worker kept from an earlier grading is
restarted when its copy of the submission is no longer current (`Sandbox.copy_is_current`).

Only clean results are stored: none with a timeout, a crash, an exit or an internal error,
which can depend on the machine rather than the code. The cache is a cache: deleting its folder
changes nothing but speed, and an entry that cannot be read is ignored and replaced.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec

from autograder.course import Course
from autograder.grading.feedback import Feedback
from autograder.grading.gradcheck import GradientRow
from autograder.grading.results import CheckResult, ExerciseResult
from autograder.i18n import Msg
from autograder.state import atomic_write

PACKAGE_DIR = Path(__file__).resolve().parents[1]
TRANSIENT_STAGES = {"timeout", "crash", "exit", "internal"}
MAX_FILES = 500
MAX_BYTES = 32 * 1024 * 1024
PLACEHOLDER = "\x00submission\x00"
"""Stands for the graded folder in a stored result (a character no path or message holds)."""


class ResultCache:
    """Stored exercise results for the student code in `directory` (see the module docstring)."""

    def __init__(self, folder: Path, course: Course, course_file: Path, directory: Path, seed: int,
                 advice: bool = False) -> None:
        self.folder = folder
        self.directory = Path(directory)
        self.salt = f"{kit_fingerprint(course_file)}|{course_fingerprint(course)}|{seed}|{advice}"
        self._contents: str | None = None
        self._loaded: dict[str, ExerciseResult | None] = {}

    def contents(self) -> str | None:
        """The digest of the folder's files (None when it is too large to be cached)."""
        if self._contents is None:
            self._contents = folder_digest(self.directory, skip=self.folder) or ""
        return self._contents or None

    def unchanged(self) -> bool:
        """Whether the folder still holds what the keys were made from (a result graded while
        a file was being saved is not stored under the key of either version)."""
        return self.contents() is not None and folder_digest(self.directory, skip=self.folder) == self._contents

    def key(self, exercise_id: str) -> str | None:
        contents = self.contents()
        if contents is None:
            return None
        return hashlib.blake2b(f"{self.salt}|{exercise_id}|{contents}".encode(), digest_size=20).hexdigest()

    def load(self, exercise_id: str) -> ExerciseResult | None:
        if exercise_id not in self._loaded:
            self._loaded[exercise_id] = self._read(exercise_id)
        return self._loaded[exercise_id]

    def _read(self, exercise_id: str) -> ExerciseResult | None:
        key = self.key(exercise_id)
        if key is None:
            return None
        try:
            data = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            result = exercise_from_json(relocate(data, {PLACEHOLDER: folder_forms(self.directory)[0]}))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return result if result.id == exercise_id else None

    def store(self, result: ExerciseResult) -> None:
        key = self.key(result.id)
        if key is None or any(c.feedback is not None and c.feedback.stage in TRANSIENT_STAGES for c in result.checks):
            return
        try:
            data = relocate(exercise_to_json(result), dict.fromkeys(folder_forms(self.directory), PLACEHOLDER))
            atomic_write(self.folder / f"{key}.json", json.dumps(data, ensure_ascii=False).encode(), durable=False)
        except (OSError, TypeError, ValueError):
            pass  # an unwritable or unserialisable result is simply graded again next time


def folder_digest(directory: Path, *, skip: Path | None = None) -> str | None:
    """A digest of the relative name and contents of every file under `directory` (following
    links to files, not to folders), without ``__pycache__`` folders and without the folder
    that holds `skip` (the kit's state, when it lives inside); None for more than `MAX_FILES`
    files or `MAX_BYTES` bytes."""
    root = Path(directory).resolve()
    inside = _top_folder_holding(root, skip)
    digest = hashlib.blake2b(digest_size=20)
    files = size = 0
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__" and Path(folder, d) != inside)
        for name in sorted(names):
            path = Path(folder, name)
            files += 1
            try:
                data = path.read_bytes() if path.is_file() else b"<not a file>"
            except OSError:
                data = b"<unreadable>"
            size += len(data)
            if files > MAX_FILES or size > MAX_BYTES:
                return None
            digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def _top_folder_holding(root: Path, path: Path | None) -> Path | None:
    """The folder directly under `root` that holds `path`, if `path` is inside `root`."""
    if path is None:
        return None
    try:
        relative = Path(path).resolve().relative_to(root)
    except (ValueError, OSError):
        return None
    return root / relative.parts[0] if relative.parts else None


def folder_forms(directory: Path) -> list[str]:
    """The absolute ways a folder is written (as given and with links resolved), longest first."""
    forms = {str(Path(directory).absolute()), str(Path(directory).resolve())}
    return sorted((f.rstrip(os.sep) or os.sep for f in forms), key=len, reverse=True)


def relocate(data: Any, replacements: dict[str, str]) -> Any:
    """`data` (JSON-like) with each key of `replacements` replaced in every string, where it
    stands for a whole path component (``/a/s`` in ``/a/s/x.py``, not in ``/a/s2``)."""
    pattern = re.compile("|".join(f"{re.escape(old)}(?![\\w.-])" for old in replacements))

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(lambda found: replacements[found.group(0)], value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {walk(k): walk(v) for k, v in value.items()}
        return value

    return walk(data)


@functools.cache
def kit_fingerprint(course_file: Path) -> str:
    """The kit's code and version, its course file, and the library versions the results
    depend on."""
    import numpy

    from autograder.grading.reference_cache import torch_version

    digest = hashlib.blake2b(digest_size=20)
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(Path(course_file).read_bytes())
    digest.update(f"{kit_version()}|{sys.version}|{numpy.__version__}|{torch_version()}".encode())
    return digest.hexdigest()


def kit_version() -> str:
    try:
        return metadata.version("bn-dropout-kit")
    except metadata.PackageNotFoundError:
        return "unknown"


def course_fingerprint(course: Course) -> str:
    """The course as loaded (tolerances, contract share, points...), which may differ from
    its file when a caller adjusts the policy."""
    return hashlib.blake2b(msgspec.json.encode(course), digest_size=20).hexdigest()


# -- a faithful JSON form of an exercise's result ----------------------------------------------


def msg_to_json(message: Msg) -> dict:
    return {"key": message.key, "params": {k: _param_to_json(v) for k, v in message.params.items()}}


def _param_to_json(value: Any) -> Any:
    return {"$msg": msg_to_json(value)} if isinstance(value, Msg) else value


def msg_from_json(data: dict) -> Msg:
    params = {k: msg_from_json(v["$msg"]) if isinstance(v, dict) and "$msg" in v else v
              for k, v in data["params"].items()}
    return Msg(data["key"], params)


def exercise_to_json(result: ExerciseResult) -> dict:
    return {"id": result.id, "max_points": result.max_points, "not_started": result.not_started,
            "contract_share": result.contract_share, "notes": [msg_to_json(n) for n in result.notes],
            "checks": [_check_to_json(c) for c in result.checks]}


def exercise_from_json(data: dict) -> ExerciseResult:
    return ExerciseResult(data["id"], float(data["max_points"]), [_check_from_json(c) for c in data["checks"]],
                          not_started=bool(data["not_started"]), notes=[msg_from_json(n) for n in data["notes"]],
                          contract_share=float(data["contract_share"]))


def _check_to_json(check: CheckResult) -> dict:
    feedback = check.feedback
    return {
        "id": check.id, "exercise": check.exercise, "title": msg_to_json(check.title), "outcome": check.outcome,
        "feedback": None if feedback is None else {
            "stage": feedback.stage, "summary": msg_to_json(feedback.summary),
            "details": [msg_to_json(d) for d in feedback.details], "location": feedback.location,
            "misconception": feedback.misconception, "data": feedback.data, "rule": feedback.rule},
        "blocked_by": check.blocked_by, "output": check.output, "output_bytes": check.output_bytes,
        "duration": check.duration, "kind": check.kind,
        "gradients": [[r.name, r.vs_autograd, r.vs_numerical] for r in check.gradients],
    }


def _check_from_json(data: dict) -> CheckResult:
    raw = data["feedback"]
    feedback = None if raw is None else Feedback(
        raw["stage"], msg_from_json(raw["summary"]), [msg_from_json(d) for d in raw["details"]],
        location=raw["location"], misconception=raw["misconception"], data=raw["data"], rule=raw["rule"])
    return CheckResult(data["id"], data["exercise"], msg_from_json(data["title"]), data["outcome"], feedback,
                       blocked_by=data["blocked_by"], output=data["output"], output_bytes=int(data["output_bytes"]),
                       duration=float(data["duration"]), kind=data["kind"],
                       gradients=[GradientRow(name, a, n) for name, a, n in data["gradients"]])
