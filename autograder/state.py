"""The kit's own state: progress, hints revealed, quiz answers. One small JSON file.

Writes are atomic (a temporary file in the same folder, then a rename), so an interrupted
write never leaves a half-written state. Several `grade` processes may share the file (watch
mode in one terminal, the quiz in another): each saves only the sections it used, merged into
the file as it is at that moment, under a lock.

Damage is kept and reported, never silently repaired: a state file that cannot be read is
moved aside (``state.json.damaged-<time>``) and a new one is started; a file with sections of
the wrong shape is copied aside before those sections are dropped. Either way `State.damage`
says where the old file went and what was lost, for the command to tell the student; neither
is ever a reason to stop grading. A file that can be neither read nor moved is never written.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

VERSION = 1
SECTIONS = ("progress", "hints", "misconception_hints", "quiz")
EVERYTHING = "everything"


def timestamp() -> str:
    """Now, in UTC, to the second (ISO 8601): how the kit's files record when."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` so that readers see the old or the new file, never a mix; and,
    unless not `durable` (a cache entry, which is checked when read), on the disk before the
    rename (a few milliseconds each)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


@dataclass(frozen=True)
class Damage:
    """A state file that could not be used as it was."""

    path: Path
    backup: Path | None
    """Where the old file was moved or copied (None: it could not be moved, so it is left
    alone and this process writes no state)."""
    lost: tuple[str, ...]
    """The sections that could not be used (`SECTIONS`), or (`EVERYTHING`,)."""


class State:
    """Progress of one student, stored in ``<state dir>/state.json``."""

    def __init__(self, path: Path, data: dict[str, Any] | None = None, damage: Damage | None = None) -> None:
        self.path = path
        self.data = data or {"version": VERSION}
        self.used: set[str] = set()  # the sections this process read or wrote
        self.damage = damage
        self.writable = damage is None or damage.backup is not None

    @classmethod
    def load(cls, state_dir: Path) -> State:
        path = state_dir / "state.json"
        data, damage = _read(path)
        return cls(path, data, damage)

    def save(self) -> None:
        """Write the sections this process used; the others stay as they are in the file."""
        if not self.writable:
            return
        with _locked(self.path):
            current, damage = _read(self.path)
            self.damage = self.damage or damage
            current = current or {"version": VERSION}
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
        """Per exercise: how many of its course.yml hints have been revealed."""
        return self.section("hints")

    @property
    def misconception_hints(self) -> dict[str, list[str]]:
        """Per exercise: the misconceptions whose hint has been revealed, in order."""
        return self.section("misconception_hints")

    def hints_used(self, exercise_id: str) -> int:
        """Every hint revealed for an exercise: course hints and misconception hints."""
        return int(self.hints.get(exercise_id, 0)) + len(self.misconception_hints.get(exercise_id, []))

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

    def reveal_misconception_hint(self, exercise_id: str, misconception: str) -> bool:
        """Record that the hint about `misconception` was shown for an exercise; False when it
        had been shown before."""
        shown = self.misconception_hints.setdefault(exercise_id, [])
        if misconception in shown:
            return False
        shown.append(misconception)
        return True


def _read(path: Path) -> tuple[dict[str, Any] | None, Damage | None]:
    """The state in `path` (None when there is none) and the damage found, if any: a file
    that is not a JSON object is moved aside; sections of the wrong shape are dropped after
    the file is copied aside, and the file is written again without them."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError):
        backup = _backup_name(path)
        try:
            os.replace(path, backup)
        except OSError:
            backup = None
        return None, Damage(path, backup, (EVERYTHING,))
    lost = _drop_damaged_sections(data)
    if not lost:
        return data, None
    backup = _backup_name(path)
    try:
        shutil.copy2(path, backup)
        atomic_write(path, json.dumps(data, indent=1, sort_keys=True).encode())
    except OSError:
        backup = None
    return data, Damage(path, backup, tuple(lost))


def _drop_damaged_sections(data: dict[str, Any]) -> list[str]:
    """Remove the sections of `data` (and the entries of a section) that have the wrong
    shape; returns the names of the sections that lost something."""
    valid = {
        "progress": lambda v: isinstance(v, dict),
        "hints": lambda v: type(v) is int and v >= 0,
        "misconception_hints": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    }
    lost = []
    for name in SECTIONS:
        if name not in data:
            continue
        if not isinstance(data[name], dict):
            del data[name]
            lost.append(name)
        elif name in valid:
            kept = {k: v for k, v in data[name].items() if valid[name](v)}
            if len(kept) != len(data[name]):
                data[name] = kept
                lost.append(name)
    return lost


def _backup_name(path: Path) -> Path:
    """``state.json.damaged-<UTC time>``, not yet taken."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.damaged-{stamp}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.damaged-{stamp}-{number}")
    return candidate


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
