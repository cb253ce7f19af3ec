"""Results of training runs whose inputs cannot have changed: an unchanged rerun is instant.

A run's result depends on the driver's code, the run's spec and seed, the data, the NumPy and
Python versions, and everything the student's code can read: every file of the submission
folder (as for the grading's result cache; a helper loaded through importlib or exec counts).
Their hash names the stored result. A result that cannot be read is run again; a folder too
large to hash is never cached.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from autograder.course import Course
from autograder.grading.result_cache import folder_digest
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

    def code(self, directory: Path) -> str | None:
        """The hash of every file in the student's folder (None: too large, never cached)."""
        contents = folder_digest(directory)
        return None if contents is None else hashlib.blake2b(f"{self.salt}|{contents}".encode()).hexdigest()

    def path(self, code: str | None, spec: dict) -> Path | None:
        if self.folder is None or code is None:
            return None
        key = hashlib.blake2b(f"{code}|{json.dumps(spec, sort_keys=True)}".encode(), digest_size=20)
        return self.folder / f"{key.hexdigest()}.json"

    def load(self, code: str | None, spec: dict) -> dict | None:
        path = self.path(code, spec)
        try:
            result = json.loads(path.read_text(encoding="utf-8")) if path else None
        except (OSError, ValueError):
            return None
        return result if isinstance(result, dict) else None

    def store(self, code: str | None, spec: dict, result: dict) -> None:
        path = self.path(code, spec)
        if path is None:
            return
        try:
            atomic_write(path, json.dumps(result, allow_nan=True).encode())
        except (OSError, ValueError):
            pass  # a read-only kit still works; the run is simply repeated next time
