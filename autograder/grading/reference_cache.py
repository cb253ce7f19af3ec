"""Where the expected values are cached, and whether that cache is cold, known without
importing NumPy or torch: on the first run after a clone (or a torch upgrade) `grade` starts
torch's import in a `ReferenceProcess` before its own imports (NumPy alone takes about 0.1 s),
so that the import every check waits for begins as early as it can.

The cache itself (keys, entries) is `reference.Reference`'s; this module names its folder and
the mark a warm cache holds: ``ready-<digest of the salt>``, the salt being torch's version and
the source of reference.py (a new version or new code makes a new cache).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from pathlib import Path

from autograder.kit import Kit

REFERENCE_SOURCE = Path(__file__).with_name("reference.py")


def cache_dir(kit: Kit, seed: int) -> Path | None:
    """Where results for `seed` may be cached: only for the course's own seed (expected values
    for a grader's private seed are never written where student code could read them), and
    nowhere when $GRADE_NO_CACHE is set."""
    if seed == kit.course.policy.seed and not os.environ.get("GRADE_NO_CACHE"):
        return kit.state_dir / "cache"
    return None


def torch_version() -> str:
    """The installed torch version, read without importing torch (that takes seconds)."""
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.origin:
        return "missing"
    try:
        text = (Path(spec.origin).parent / "version.py").read_text()
        return re.search(r"__version__\s*=\s*['\"]([^'\"]+)", text).group(1)
    except (OSError, AttributeError):
        from importlib.metadata import version

        return version("torch")


def salt() -> str:
    """What every key depends on besides the computation: torch's version, reference.py."""
    return torch_version() + hashlib.blake2b(REFERENCE_SOURCE.read_bytes()).hexdigest()


def ready_mark(folder: Path, salt: str) -> Path:
    """The file saying that values for `salt` were cached in `folder`."""
    return folder / f"ready-{hashlib.blake2b(salt.encode(), digest_size=8).hexdigest()}"


def is_cold(folder: Path | None) -> bool:
    """Nothing computed with this torch version and reference.py is cached in `folder` (the
    first run after a clone or an upgrade), or there is no disk cache at all."""
    return folder is None or not ready_mark(folder, salt()).exists()
