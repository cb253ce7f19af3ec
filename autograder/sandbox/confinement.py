"""Where and how one sandbox's worker is confined: its folders, its isolation level, its user,
the command that starts it and its first settings.

A `Confinement` owns a temporary folder::

    grader/autograder/sandbox/   a copy of the worker's own modules (`WORKER_MODULES`): the
                                 worker starts from here, never from the kit
    expose/                      copies of the kit files the worker may import (`expose`)
    submission/                  the read-only copy of the submission (`snapshot`), taken at
                                 each worker's first import (a new worker reads the folder again)
    scratch/                     the worker's writable folder outside the namespace sandbox
                                 (emptied for every worker)
    output                       what the worker prints (owned by the grader)

At the ``namespaces`` level these folders appear at fixed places of the view
(`bubblewrap.GRADER`...); `seen` says where the worker sees each one, so that the client can
name the student's files as the student knows them.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import py_compile
import shutil
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from autograder.sandbox import bubblewrap, privileges, snapshot, view
from autograder.sandbox.isolation import Isolation, Level, candidate, ruled_out
from autograder.sandbox.limits import Limits

SANDBOX_DIR = Path(__file__).resolve().parent
WORKER_MODULES = ("worker.py", "protocol.py", "limits.py", "landlock_rules.py", "zygote.py")
PYTHON_FLAGS = ["-I", "-S", "-B", "-u"]
BOOT = "import sys; sys.path[:0] = {paths!r}; from autograder.sandbox.{module} import main; main(sys.argv)"
IN_VIEW = {"grader": bubblewrap.GRADER, "expose": bubblewrap.EXPOSE, "submission": bubblewrap.SUBMISSION,
           "scratch": bubblewrap.SCRATCH}


class Confinement:
    """The folders, level, user, command and settings of one sandbox's workers."""

    def __init__(self, directory: Path | None, limits: Limits, *, forbidden: list[str], hidden: tuple[Path, ...],
                 expose: list[Path], allowed_imports: tuple[str, ...]) -> None:
        self.directory = directory
        self.limits = limits
        self.forbidden = forbidden
        self.hidden = hidden
        self.allowed_imports = allowed_imports
        self.temporary = tempfile.TemporaryDirectory(prefix="grade-worker-")
        self.root = Path(self.temporary.name)
        self.folders = {name: self.root / name for name in IN_VIEW}
        for folder in self.folders.values():
            folder.mkdir()
        _copy_worker(self.folders["grader"])
        for path in expose:
            _copy_exposed(Path(path), self.folders["expose"])
        self.isolation: Isolation | None = None  # chosen when the first worker starts
        self.uid: int | None = None  # the worker's own user, when the grader runs as root
        self.libraries: tuple[view.Library, ...] = ()
        self.refused: dict[str, dict] | None = None  # by module, once the copy is taken
        self.copied: str | None = None  # the digest of that copy (`snapshot.digest`)
        self.leased = False  # a zygote's folders, lent for one submission (`lease`)

    def lease(self, directory: Path) -> Confinement:
        """This confinement's folders, level and user, lent to the sandbox of one submission
        (`directory`) whose workers a zygote forks: its copy goes to the shared submission
        folder, which `cleanup` then empties instead of removing the folders."""
        lease = copy.copy(self)
        lease.directory = directory
        lease.refused, lease.copied, lease.leased = None, None, True
        return lease

    def prepare(self) -> None:
        """Choose the isolation level and, for a grader running as root, the worker's user
        (once: every worker of this sandbox runs alike, unless a level fails to start one)."""
        if self.isolation is not None:
            return
        self.isolation = candidate()
        self.libraries = view.numpy_roots()
        if self.allowed_imports:
            self.libraries = tuple(dict.fromkeys(self.libraries + view.library_roots(self.allowed_imports)))
        if self.isolation.dropped_user:
            self.uid = privileges.worker_user()
            needed = [*view.runtime_roots(), *(library.path for library in self.libraries), self.root]
            privileges.grant_traverse(needed)
            if self.isolation.level == Level.UNPRIVILEGED_USER:
                privileges.withhold(self.hidden, [*needed, *(library.site for library in self.libraries)])
            privileges.hand_over(self.root, self.uid)

    def start_failed(self, output: str) -> bool:
        """After a worker died before it was ready: whether the level itself failed (bubblewrap
        could not set up the view: then it is ruled out, and `prepare` chooses again)."""
        if not self.namespaced or "bwrap:" not in output:
            return False
        ruled_out(Level.NAMESPACES, output.strip().splitlines()[-1])
        self.isolation = None
        return True

    def expose(self, path: Path) -> Path:
        """Expose one more kit file (a copy, read-only for the worker) if it is not yet;
        where the worker sees it."""
        copy = self.folders["expose"] / path.name
        if not copy.exists():
            _copy_exposed(path, self.folders["expose"])
        return self.seen("expose") / path.name

    def take_snapshot(self) -> dict[str, dict]:
        """Copy the submission for the current worker (once per worker); the refused files by
        module."""
        if self.refused is None:
            try:
                refusals, self.copied = snapshot.take(self.directory, self.folders["submission"],
                                                      self.limits.max_file_bytes)
            except OSError:  # no such folder: every import then says the file is missing
                refusals, self.copied = [], None
            self.refused = snapshot.refused_modules(refusals)
        return self.refused

    def copy_is_current(self) -> bool:
        """Whether the current worker's copy of the submission (if it took one) still holds
        what the submission holds now."""
        if self.refused is None or self.copied is None:
            return self.refused is None
        try:
            return snapshot.digest(self.directory, self.limits.max_file_bytes) == self.copied
        except OSError:
            return False

    @property
    def namespaced(self) -> bool:
        return self.isolation is not None and self.isolation.level == Level.NAMESPACES

    def seen(self, name: str) -> Path:
        """Where the worker sees one of the folders ("submission", "scratch"...)."""
        return IN_VIEW[name] if self.namespaced else self.folders[name]

    def fresh_start(self) -> None:
        """Every worker starts with an empty scratch folder, and takes its own copy of the
        submission (as it is when the worker first imports from it)."""
        for folder in (self.folders["scratch"], self.folders["submission"]):
            for entry in list(folder.iterdir()):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        self.refused, self.copied = None, None

    def scratch_bytes(self) -> int:
        """Bytes in the scratch folder (0 in the namespace sandbox, whose tmpfs has its own size)."""
        if self.namespaced:
            return 0
        total = 0
        for folder, _, files in os.walk(self.folders["scratch"]):
            for name in files:
                try:
                    total += os.lstat(os.path.join(folder, name)).st_size
                except OSError:
                    pass
        return total

    def command(self, request_fd: str, answer_fd: str) -> list[str]:
        """How the worker is started at this isolation level."""
        if self.namespaced:
            return self._in_view("worker", request_fd, answer_fd)
        sites = [library.site for library in self.libraries]
        if self.isolation.level == Level.LANDLOCK:
            sites.append(_site_of("landlockpy"))
        paths = [str(self.folders["grader"]), *dict.fromkeys(str(site) for site in sites if site)]
        python = sys.executable if self.isolation.level == Level.PROCESS else str(view.interpreter())
        return [python, *PYTHON_FLAGS, "-c", BOOT.format(paths=paths, module="worker"), request_fd, answer_fd]

    def zygote_command(self, control_fd: str) -> list[str]:
        """How a zygote (`autograder.sandbox.zygote`) is started: in the view, like a worker."""
        return self._in_view("zygote", control_fd)

    def _in_view(self, module: str, *fds: str) -> list[str]:
        """The bubblewrap command running the worker's `module` in this confinement's view."""
        boot = BOOT.format(paths=[str(bubblewrap.GRADER), str(bubblewrap.SITE)], module=module)
        argv = [str(view.interpreter()), *PYTHON_FLAGS, "-c", boot, *fds]
        folders = {self.folders[name]: IN_VIEW[name] for name in ("grader", "expose", "submission")}
        return bubblewrap.command(bubblewrap.executable(), argv, hidden=self.hidden, libraries=self.libraries,
                                  folders=folders, scratch_bytes=self.limits.scratch_bytes)

    def environment(self) -> dict[str, str]:
        scratch = str(self.seen("scratch"))
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": scratch,
                "TMPDIR": scratch, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def user(self) -> dict:
        """`subprocess.Popen` arguments that start the worker as its own user (when root)."""
        return {} if self.uid is None else {"user": self.uid, "group": self.uid, "extra_groups": []}

    def settings(self) -> dict:
        """The worker's first request: where to import from, what to refuse, its limits, and
        at the Landlock level the files it may read, run and write."""
        settings = {
            "op": "init",
            "directory": str(self.seen("submission")),
            "paths": [str(self.seen("expose")), str(self.seen("submission"))],
            "forbidden": self.forbidden,
            "limits": self.limits.to_wire(),
            "preload": list(self.allowed_imports),
            "native": [str(self._library_seen(lib)) for lib in self.libraries] if self.allowed_imports else [],
        }
        if self.isolation.level == Level.LANDLOCK:
            readable = [*(str(library.path) for library in self.libraries),
                        *(str(self.folders[name]) for name in ("grader", "expose", "submission"))]
            sites = dict.fromkeys(str(library.site) for library in self.libraries)
            listable = [*_runtime_folders(self.hidden), *sites]
            settings["landlock"] = {"readable": readable, "writable": [str(self.folders["scratch"])],
                                    "runnable": list(_runtime_files(self.hidden)), "listable": listable}
        return settings

    def _library_seen(self, library: view.Library) -> Path:
        return bubblewrap.SITE / library.name if self.namespaced else library.path

    def cleanup(self) -> None:
        if self.leased:
            self.fresh_start()
        else:
            self.temporary.cleanup()


def _copy_worker(folder: Path) -> None:
    """The worker's own modules, and nothing else of the kit, as a package in `folder`, with
    their bytecode from the kit's own cache (copied with their time stamps, so Python still
    checks it against them): a worker should not compile them at every start."""
    package = folder / "autograder" / "sandbox"
    (package / "__pycache__").mkdir(parents=True)
    (folder / "autograder" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    for name in WORKER_MODULES:
        shutil.copy2(SANDBOX_DIR / name, package / name)
        compiled = _bytecode(SANDBOX_DIR / name)
        if compiled is not None:
            shutil.copy2(compiled, package / "__pycache__" / compiled.name)


def _bytecode(source: Path) -> Path | None:
    """The module's bytecode in Python's own cache, written there first if missing or older
    than the module (None where bytecode is not to be written, or cannot be)."""
    cached = Path(importlib.util.cache_from_source(source))
    try:
        if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
            if sys.dont_write_bytecode:
                return None
            py_compile.compile(str(source), cfile=str(cached), doraise=True)
        return cached
    except (OSError, py_compile.PyCompileError):
        return None


def _copy_exposed(path: Path, folder: Path) -> None:
    """One exposed kit file, or package folder (without caches), into `folder`."""
    if path.is_dir():
        shutil.copytree(path, folder / path.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        shutil.copyfile(path, folder / path.name)


def _site_of(module: str) -> Path | None:
    """The folder an installed top-level module is imported from."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin)
    return origin.parent.parent if origin.name == "__init__.py" else origin.parent


@lru_cache(maxsize=8)
def _runtime_files(hidden: tuple[Path, ...]) -> tuple[str, ...]:
    """What the runtime roots show once every folder the worker must not see is carved out."""
    return tuple(str(p) for p in view.split(view.runtime_roots(), [*view.off_runtime(), *hidden]))


@lru_cache(maxsize=8)
def _runtime_folders(hidden: tuple[Path, ...]) -> tuple[str, ...]:
    """The folders `_runtime_files` opened up, to be listed."""
    return tuple(str(p) for p in view.carved(view.runtime_roots(), [*view.off_runtime(), *hidden]))
