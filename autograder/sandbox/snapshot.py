"""The read-only copy of a submission that the worker sees, made by the sandbox itself.

`take(source, target, max_file_bytes)` copies every Python file under `source` (at any depth
up to `MAX_DEPTH`; hidden and ``__pycache__`` folders skipped) into `target`. It walks with
folder descriptors and ``O_NOFOLLOW``, so nothing outside `source` is ever read, even if a
file is swapped for a link while it walks. It refuses, and returns as `Refusal`s:

    symlink      a symbolic link (to a file or a folder): never followed out of the submission
    not_a_file   a ``.py`` that is a FIFO, a device...
    too_large    a file over the course's size limit (not even read)
    too_many     files beyond `MAX_FILES`

The worker then reports a refused module precisely when it is imported (`refused_modules`).
`digest(source, max_file_bytes)` walks the same way without copying: the digest of what `take`
would copy and refuse now, so that a copy can be checked against the folder it came from.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_DEPTH = 6
MAX_FILES = 500
SKIPPED = {"__pycache__"}
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_DIRECTORY", 0)


@dataclass(frozen=True)
class Refusal:
    """A file of the submission that was not copied, and why."""

    path: str
    """Relative to the submission folder, with forward slashes."""
    reason: str
    size: int = 0


def take(source: Path, target: Path, max_file_bytes: int) -> tuple[list[Refusal], str]:
    """Copy the Python files of `source` into the (existing, empty) folder `target`; the
    refusals and the digest of what was copied and refused (as `digest` gives it)."""
    return _walk(source, Path(target), max_file_bytes)


def digest(source: Path, max_file_bytes: int) -> str:
    """The digest of the Python files `take` would copy from `source` now (names, contents
    and refusals), reading them the same way but writing nothing."""
    return _walk(source, None, max_file_bytes)[1]


def _walk(source: Path, target: Path | None, max_file_bytes: int) -> tuple[list[Refusal], str]:
    refused: list[Refusal] = []
    hasher = hashlib.blake2b(digest_size=20)
    folder = os.open(source, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        _copy_folder(folder, target, "", 0, max_file_bytes, refused, [0], hasher)
    finally:
        os.close(folder)
    for refusal in refused:
        hasher.update(b"refused\0" + os.fsencode(refusal.path) + f"\0{refusal.reason}\0{refusal.size}\0".encode())
    return refused, hasher.hexdigest()


def _copy_folder(folder: int, target: Path | None, prefix: str, depth: int, max_bytes: int,
                 refused: list[Refusal], copied: list[int], hasher) -> None:
    with os.scandir(folder) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        name, relative = entry.name, prefix + entry.name
        if entry.is_symlink():
            if not name.startswith("."):
                refused.append(Refusal(relative, "symlink"))
        elif entry.is_dir(follow_symlinks=False):
            if name.startswith(".") or name in SKIPPED or depth >= MAX_DEPTH:
                continue
            try:
                inner = os.open(name, FOLDER_FLAGS, dir_fd=folder)
            except OSError:  # swapped for a link since the scan
                refused.append(Refusal(relative, "symlink"))
                continue
            try:
                if target is not None:
                    (target / name).mkdir(exist_ok=True)
                _copy_folder(inner, target / name if target is not None else None, relative + "/", depth + 1,
                             max_bytes, refused, copied, hasher)
            finally:
                os.close(inner)
        elif name.endswith(".py"):
            _copy_file(folder, name, target / name if target is not None else None, relative, max_bytes,
                       refused, copied, hasher)


def _copy_file(folder: int, name: str, destination: Path | None, relative: str, max_bytes: int,
               refused: list[Refusal], copied: list[int], hasher) -> None:
    try:
        handle = os.open(name, OPEN_FLAGS, dir_fd=folder)
    except OSError as error:  # ELOOP: a link (swapped in since the scan)
        refused.append(Refusal(relative, "symlink" if error.errno == errno.ELOOP else "not_a_file"))
        return
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            refused.append(Refusal(relative, "not_a_file"))
        elif info.st_size > max_bytes:
            refused.append(Refusal(relative, "too_large", info.st_size))
        elif copied[0] >= MAX_FILES:
            refused.append(Refusal(relative, "too_many"))
        else:
            data = _read(handle, max_bytes + 1)
            if len(data) > max_bytes:  # it grew since fstat
                refused.append(Refusal(relative, "too_large", len(data)))
                return
            hasher.update(os.fsencode(relative) + f"\0{len(data)}\0".encode())  # any name, even undecodable
            hasher.update(data)
            if destination is not None:
                destination.write_bytes(data)
            copied[0] += 1
    finally:
        os.close(handle)


def _read(handle: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(handle, min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def refused_modules(refused: list[Refusal]) -> dict[str, dict]:
    """What an import of a refused file should say, by module name (``pkg/mod.py`` ->
    ``pkg.mod``; a refused folder is a package)."""
    modules = {}
    for refusal in refused:
        parts = refusal.path.removesuffix(".py").split("/")
        if all(part.isidentifier() for part in parts):
            modules[".".join(parts)] = {"file": refusal.path, "reason": refusal.reason, "size": refusal.size}
    return modules
