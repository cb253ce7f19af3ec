"""The worker's user when the grader runs as root (Gradescope's container, a CI runner).

Root is exempt from the process limit and can read every file, so a root grader never runs
student code as root: each worker gets an unprivileged user id of its own (`worker_user`; the
same number as its group, in a range no account uses), so that its processes are counted on
their own and no two workers can read each other's copies. For that user to start Python,
every folder on the way to the runtime, the libraries and the worker's own folder must let
others through (`grant_traverse` adds the ``o+x`` bit where it is missing, never the right to
list or read). At the ``unprivileged_user`` level, where no other wall stands, the kit's own
files are then made unreadable to other users (`withhold` removes the ``o`` bits, keeping
only the way through to what the worker needs). Both are changes to the permissions on
disk, made once per grading process and never undone: they matter only to users other than
the files' owners.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

FIRST_UID = 1_600_000_000  # far above any account, below the 32-bit limit
UID_RANGE = 400_000_000
_traversable: set[Path] = set()
_withheld: set[Path] = set()


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def worker_user() -> int:
    """A fresh user (and group) id for one worker."""
    return FIRST_UID + int.from_bytes(os.urandom(4), "big") % UID_RANGE


def grant_traverse(paths) -> None:
    """Let other users pass through every folder on the way to `paths` (``o+x``)."""
    for path in paths:
        for folder in [Path(path), *Path(path).parents]:
            if folder in _traversable:
                continue
            try:
                mode = os.stat(folder).st_mode
                if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
                    os.chmod(folder, stat.S_IMODE(mode) | stat.S_IXOTH)
            except OSError:
                pass
            _traversable.add(folder)


def withhold(hidden, keep) -> None:
    """Remove other users' access to each `hidden` folder, except the way through to the
    `keep` paths inside it (the folders on the way keep ``o+x``; everything else loses all).
    A hidden folder that does not exist yet inside another one (the state folder inside the
    kit) is made now, closed: made later inside a passable folder, it would be open to all."""
    keep, hidden = [Path(k) for k in keep], [Path(h) for h in hidden]
    for folder in hidden:
        if not folder.exists() and any(other in folder.parents for other in hidden):
            folder.mkdir(mode=0o700, parents=True)
    for folder in hidden:
        _withhold(folder, keep)


def _withhold(path: Path, keep: list[Path]) -> None:
    if path in _withheld or path.is_symlink() or path in keep:
        return
    _withheld.add(path)
    inner = [k for k in keep if path in k.parents]
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        os.chmod(path, (mode & ~0o007) | (stat.S_IXOTH if inner else 0))
    except OSError:
        return
    if inner and path.is_dir():
        for entry in path.iterdir():
            _withhold(entry, inner)


def hand_over(workdir: Path, uid: int) -> None:
    """Make the sandbox's folder usable by the worker's user `uid` and by no other: the
    folder passable, its copies readable by that user's group, its scratch folder its own."""
    os.chmod(workdir, 0o711)
    for entry in workdir.iterdir():
        if entry.name == "scratch":
            os.chown(entry, uid, uid)
            os.chmod(entry, 0o700)
        elif entry.is_dir():
            readable_by_group(entry, uid)


def readable_by_group(folder: Path, gid: int) -> None:
    """`folder` and what it holds: owned by root, readable by group `gid`, by nobody else."""
    for root, dirs, files in os.walk(folder):
        os.chown(root, 0, gid)
        os.chmod(root, 0o750)
        for name in files:
            path = os.path.join(root, name)
            os.chown(path, 0, gid, follow_symlinks=False)
            os.chmod(path, 0o640)
