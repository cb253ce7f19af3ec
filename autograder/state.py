"""The kit's own state: progress, hints revealed, quiz answers. One small JSON file.

Writes are atomic (a temporary file in the same folder, then a rename), so an interrupted
write never leaves a half-written state. Several `grade` processes may share the file (watch
mode in one terminal, the quiz in another): each saves only the sections it used, merged into
the file as it is at that moment, under a lock. A state file that cannot be read is set aside
(renamed ``.corrupt``) and replaced; a section of the wrong shape is dropped. Neither is ever a
reason to stop grading.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

VERSION = 1


def timestamp() -> str:
    """Now, in UTC, to the second (ISO 8601): how the kit's files record when."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


class State:
    """Progress of one student, stored in ``<state dir>/state.json``."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None) -> None:
        self.path = path
        self.data = data or {"version": VERSION}
        self.used: set[str] = set()  # the sections this process read or wrote

    @classmethod
    def load(cls, state_dir: Path) -> State:
        path = state_dir / "state.json"
        return cls(path, _read(path))

    def save(self) -> None:
        """Write the sections this process used; the others stay as they are in the file."""
        with _locked(self.path):
            current = _read(self.path) or {"version": VERSION}
            current.update({name: self.data[name] for name in self.used if name in self.data})
            atomic_write(self.path, json.dumps(current, indent=1, sort_keys=True).encode())
        self.data = current

    def try_save(self) -> None:
        """`save`, but a read-only kit still works (the state is only lost)."""
        try:
            self.save()
        except OSError:
            pass

    # sections

    def section(self, name: str) -> dict[str, Any]:
        self.used.add(name)
        value = self.data.setdefault(name, {})
        if not isinstance(value, dict):
            value = self.data[name] = {}
        return value

    @property
    def progress(self) -> dict[str, Any]:
        """Per exercise: {"status", "score", "max", "passed", "checks", "graded_at"}."""
        return self.section("progress")

    @property
    def hints(self) -> dict[str, int]:
        """Per exercise: how many hints have been revealed."""
        return self.section("hints")

    def record_progress(self, results) -> None:
        """Remember each graded exercise's outcome (`ExerciseResult`s) for `grade list`."""
        now = timestamp()
        for result in results:
            self.progress[result.id] = {"status": result.status, "score": result.score, "max": result.max_points,
                                        "passed": result.passed_checks, "checks": len(result.checks),
                                        "graded_at": now}

    def reveal_hint(self, exercise_id: str, available: int) -> int:
        """Reveal one more hint of an exercise (up to `available`); returns how many are shown."""
        shown = min(int(self.hints.get(exercise_id, 0)) + 1, available)
        self.hints[exercise_id] = shown
        return shown


def _read(path: Path) -> dict[str, Any] | None:
    """The state in `path`, with sections of the wrong shape dropped; None when there is none
    (a file that is not a JSON object is set aside as ``state.json.corrupt``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        try:
            os.replace(path, path.with_suffix(".json.corrupt"))
        except OSError:
            pass
        return None
    for name in ("progress", "hints", "quiz"):
        if name in data and not isinstance(data[name], dict):
            del data[name]
    if isinstance(data.get("progress"), dict):
        data["progress"] = {k: v for k, v in data["progress"].items() if isinstance(v, dict)}
    if isinstance(data.get("hints"), dict):
        data["hints"] = {k: v for k, v in data["hints"].items() if type(v) is int and v >= 0}
    return data


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (a read-modify-write of the state file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
