"""Results of exercises whose code cannot have changed since they were last graded.

An exercise's result depends only on: its student file, the student files that file imports
(found by reading the import statements), the same for every exercise it requires, the kit's
own code and course.yml, the seed, whether timing advice was asked for, and the Python, NumPy
and torch versions. Their hash is the exercise's key; a result stored under that key is reused
instead of running the exercise's checks again, so re-grading after editing ``optim.py`` runs
only the exercises that depend on it.

Only clean results are stored: none with a timeout, a crash, an exit or an internal error,
which can depend on the machine rather than the code. The cache is a cache: deleting its folder
changes nothing but speed, and an entry that cannot be read is ignored and replaced.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from autograder.course import Course
from autograder.grading.feedback import Feedback
from autograder.grading.gradcheck import GradientRow
from autograder.grading.results import CheckResult, ExerciseResult
from autograder.i18n import Msg
from autograder.state import atomic_write

PACKAGE_DIR = Path(__file__).resolve().parents[1]
TRANSIENT_STAGES = {"timeout", "crash", "exit", "internal"}


class ResultCache:
    """Stored exercise results for the student code in `directory` (see the module docstring)."""

    def __init__(self, folder: Path, course: Course, course_file: Path, directory: Path, seed: int,
                 advice: bool = False) -> None:
        self.folder = folder
        self.course = course
        self.directory = Path(directory)
        self.salt = f"{kit_fingerprint(course_file)}|{seed}|{advice}"
        self._keys: dict[str, str] = {}
        self._loaded: dict[str, ExerciseResult | None] = {}

    def key(self, exercise_id: str) -> str:
        if exercise_id not in self._keys:
            digest = hashlib.blake2b(self.salt.encode(), digest_size=20)
            digest.update(exercise_id.encode())
            for name in sorted(self.files(exercise_id)):
                path = self.directory / name
                digest.update(f"|{name}|".encode())
                digest.update(path.read_bytes() if path.is_file() else b"<missing>")
            self._keys[exercise_id] = digest.hexdigest()
        return self._keys[exercise_id]

    def files(self, exercise_id: str) -> set[str]:
        """The student files an exercise's result can depend on."""
        exercises = self.course.with_requirements([exercise_id])
        pending = {self.course.exercise(e).file for e in exercises} - {None}
        found: set[str] = set()
        while pending:
            name = pending.pop()
            found.add(name)
            pending |= local_imports(self.directory / name) - found
        return found

    def load(self, exercise_id: str) -> ExerciseResult | None:
        if exercise_id not in self._loaded:
            self._loaded[exercise_id] = self._read(exercise_id)
        return self._loaded[exercise_id]

    def _read(self, exercise_id: str) -> ExerciseResult | None:
        try:
            data = json.loads((self.folder / f"{self.key(exercise_id)}.json").read_text(encoding="utf-8"))
            result = exercise_from_json(data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        return result if result.id == exercise_id else None

    def store(self, result: ExerciseResult) -> None:
        if any(c.feedback is not None and c.feedback.stage in TRANSIENT_STAGES for c in result.checks):
            return
        try:
            data = json.dumps(exercise_to_json(result), ensure_ascii=False).encode()
            atomic_write(self.folder / f"{self.key(result.id)}.json", data, durable=False)
        except (OSError, TypeError, ValueError):
            pass  # an unwritable or unserialisable result is simply graded again next time


def local_imports(path: Path) -> set[str]:
    """Files next to `path` that its import statements name (``import batchnorm``,
    ``from batchnorm import ...``)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.partition(".")[0])
    return {f"{name}.py" for name in names if (path.parent / f"{name}.py").is_file()}


@functools.cache
def kit_fingerprint(course_file: Path) -> str:
    """The kit's code, its course file, and the library versions the results depend on."""
    import numpy

    from autograder.grading.reference import torch_version

    digest = hashlib.blake2b(digest_size=20)
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(Path(course_file).read_bytes())
    digest.update(f"{sys.version}|{numpy.__version__}|{torch_version()}".encode())
    return digest.hexdigest()


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
            "notes": [msg_to_json(n) for n in result.notes], "checks": [_check_to_json(c) for c in result.checks]}


def exercise_from_json(data: dict) -> ExerciseResult:
    return ExerciseResult(data["id"], float(data["max_points"]), [_check_from_json(c) for c in data["checks"]],
                          not_started=bool(data["not_started"]), notes=[msg_from_json(n) for n in data["notes"]])


def _check_to_json(check: CheckResult) -> dict:
    feedback = check.feedback
    return {
        "id": check.id, "exercise": check.exercise, "title": msg_to_json(check.title), "outcome": check.outcome,
        "feedback": None if feedback is None else {
            "stage": feedback.stage, "summary": msg_to_json(feedback.summary),
            "details": [msg_to_json(d) for d in feedback.details], "location": feedback.location,
            "misconception": feedback.misconception, "data": feedback.data},
        "blocked_by": check.blocked_by, "output": check.output, "output_bytes": check.output_bytes,
        "duration": check.duration,
        "gradients": [[r.name, r.vs_autograd, r.vs_numerical] for r in check.gradients],
    }


def _check_from_json(data: dict) -> CheckResult:
    raw = data["feedback"]
    feedback = None if raw is None else Feedback(
        raw["stage"], msg_from_json(raw["summary"]), [msg_from_json(d) for d in raw["details"]],
        location=raw["location"], misconception=raw["misconception"], data=raw["data"])
    return CheckResult(data["id"], data["exercise"], msg_from_json(data["title"]), data["outcome"], feedback,
                       blocked_by=data["blocked_by"], output=data["output"], output_bytes=int(data["output_bytes"]),
                       duration=float(data["duration"]),
                       gradients=[GradientRow(name, a, n) for name, a, n in data["gradients"]])
