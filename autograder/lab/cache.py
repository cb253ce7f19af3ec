"""Results of training runs whose inputs cannot have changed: an unchanged rerun is instant.

A run's result depends on the driver's code, the run's spec and seed, the data, the NumPy and
Python versions, and the student files holding the functions it calls (with the files they
import). Their hash names the stored result. A result that cannot be read is run again.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from autograder.course import Course
from autograder.grading.dependencies import local_imports
from autograder.lab import data
from autograder.state import atomic_write

DRIVER = Path(__file__).with_name("driver.py")


class RunCache:
    """Stored run results under `folder` (None: nothing is stored)."""

    def __init__(self, folder: Path | None, course: Course) -> None:
        self.folder = folder
        self.course = course
        self.salt = "|".join([hashlib.blake2b(DRIVER.read_bytes()).hexdigest(), data.version(),
                              np.__version__, sys.version])

    def code(self, directory: Path, functions: tuple[str, ...]) -> str:
        """The hash of the student files that define `functions` (and what they import)."""
        pending = {owner.file for f in functions if (owner := self.course.owner(f)) and owner.file}
        found: set[str] = set()
        while pending:
            name = pending.pop()
            found.add(name)
            pending |= local_imports(directory / name) - found
        digest = hashlib.blake2b(self.salt.encode())
        for name in sorted(found):
            path = directory / name
            digest.update(f"|{name}|".encode())
            digest.update(path.read_bytes() if path.is_file() else b"<missing>")
        return digest.hexdigest()

    def path(self, code: str, spec: dict) -> Path | None:
        if self.folder is None:
            return None
        key = hashlib.blake2b(f"{code}|{json.dumps(spec, sort_keys=True)}".encode(), digest_size=20)
        return self.folder / f"{key.hexdigest()}.json"

    def load(self, code: str, spec: dict) -> dict | None:
        path = self.path(code, spec)
        try:
            result = json.loads(path.read_text(encoding="utf-8")) if path else None
        except (OSError, ValueError):
            return None
        return result if isinstance(result, dict) else None

    def store(self, code: str, spec: dict, result: dict) -> None:
        path = self.path(code, spec)
        if path is None:
            return
        try:
            atomic_write(path, json.dumps(result, allow_nan=True).encode())
        except (OSError, ValueError):
            pass  # a read-only kit still works; the run is simply repeated next time
