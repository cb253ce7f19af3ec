"""The kit's own state: progress, hints revealed, quiz answers. One small JSON file.

Writes are atomic (a temporary file in the same folder, then a rename), so an interrupted
write never leaves a half-written state. A state file that cannot be read is set aside
(renamed ``.corrupt``) and replaced, never a reason to stop grading.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

VERSION = 1


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

    @classmethod
    def load(cls, state_dir: Path) -> State:
        path = state_dir / "state.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except FileNotFoundError:
            data = None
        except (OSError, ValueError):
            try:
                os.replace(path, path.with_suffix(".json.corrupt"))
            except OSError:
                pass
            data = None
        return cls(path, data)

    def save(self) -> None:
        atomic_write(self.path, json.dumps(self.data, indent=1, sort_keys=True).encode())

    # sections

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.setdefault(name, {})
        if not isinstance(value, dict):
            value = self.data[name] = {}
        return value

    @property
    def progress(self) -> dict[str, Any]:
        """Per exercise: {"status", "score", "max", "graded_at"} from the last grading."""
        return self.section("progress")

    @property
    def hints(self) -> dict[str, int]:
        """Per exercise: how many hints have been revealed."""
        return self.section("hints")
