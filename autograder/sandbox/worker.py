"""The sandboxed worker: imports the student's modules and runs one call at a time.

`autograder.sandbox.client` starts it with ``python -I -S -B -u`` (inside the isolation level's
walls, from a copy of its own modules) and runs `main` with the two pipe descriptors
REQUEST_FD ANSWER_FD as arguments. Its stdout and stderr are a capture file owned by the
grader (unbuffered, so prints survive a crash); requests and answers travel on the two pipes
in the `protocol` format. The first request configures it: the folders student code imports
from (``paths``: the exposed kit files, then the copy of the submission), the `limits`, the
forbidden imports and, at the Landlock level, the files it may read and write. Then each
request is answered, echoing its ``token``: ``import`` imports one student module (so the
grader can tell a hang at import from a hang in a function; ``refused`` names the files the
copy left out and why), ``call`` runs one student function and answers with the encoded
return value or with what went wrong, ``drive`` runs a driver of the kit (a NumPy-only file
named by its path as the worker sees it, exposed to it by the sandbox, such as the lab's
training loop) with the student's functions; a request marked ``"reset": true`` (or a ``reset``
request) first forgets earlier results. Values
returned by calls stay here, so the grader can pass them back by reference (a backward cache
that cannot cross the process boundary). A memory bomb is reported as a MemoryError (a small
reserve is freed to describe it), and an answer asks the grader for a fresh worker when
student code still holds most of the memory.

A failure names the student's frames innermost last, so a forbidden import inside a helper
module is reported at the helper's line, not at the graded file.

Only the standard library, NumPy, `protocol`, `limits` and `landlock_rules` are imported here.
"""

from __future__ import annotations

import ctypes
import faulthandler
import importlib
import importlib.util
import os
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from autograder.sandbox import limits as process_limits
from autograder.sandbox import protocol

MESSAGE_LIMIT = 2000
RESERVE_BYTES = 4 * 1024 * 1024  # freed on MemoryError, so the failure can still be described
OUT_OF_MEMORY = {"ok": False, "kind": "exception", "type": "MemoryError", "message": "",
                 "mro": ["MemoryError", "Exception", "BaseException", "object"], "frames": []}


class ForbiddenImportError(ImportError):
    """Raised when student code imports a library the course forbids."""


class RefusedFileError(ImportError):
    """Raised when student code imports a module whose file the sandbox did not copy (a
    symbolic link, a file over the size limit...)."""

    def __init__(self, name: str, refusal: dict) -> None:
        super().__init__(f"{refusal.get('file')} was not graded ({refusal.get('reason')})", name=name)
        self.refusal = refusal


class ForbiddenOperationError(PermissionError):
    """Raised when student code tries something the exercises never need and that could reach
    outside the sandbox: starting a process, signalling one, loading native code by name,
    changing its limits, opening a network connection, or changing files outside the worker's
    own temporary folder. ``kind`` says which."""

    def __init__(self, kind: str, target: str = "") -> None:
        super().__init__(f"{kind}: {target}" if target else kind)
        self.kind, self.target = kind, target


PROCESS_EVENTS = frozenset({"os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
                            "os.startfile", "subprocess.Popen", "pty.spawn"})
SIGNAL_EVENTS = frozenset({"os.kill", "os.killpg", "signal.pthread_kill"})
NATIVE_EVENTS = frozenset({"ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle"})
LIMIT_EVENTS = frozenset({"resource.setrlimit", "resource.prlimit"})
NETWORK_EVENTS = frozenset({"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"})
FILE_EVENTS = frozenset({"os.remove", "os.rename", "os.replace", "os.rmdir", "os.truncate", "os.chmod", "os.chown",
                         "os.link", "os.symlink", "os.utime", "shutil.rmtree", "shutil.move"})
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def install_guard(workdir: Path, native: list[str] = ()) -> None:
    """An audit hook (it cannot be removed) refusing what could reach outside the sandbox.
    `_posixsubprocess.fork_exec` starts processes without an audit event: it is replaced.
    Native code may be loaded from the `native` folders only (an allowed library's own)."""
    import _posixsubprocess

    def fork_exec(*args: Any, **kwargs: Any) -> None:
        raise ForbiddenOperationError("process", "_posixsubprocess.fork_exec")

    _posixsubprocess.fork_exec = fork_exec
    workdir = workdir.resolve()

    def outside(path: Any) -> bool:
        if isinstance(path, int):
            return False  # an open file descriptor
        target = Path(os.fsdecode(path))
        target = (target if target.is_absolute() else workdir / target).resolve()
        return target != Path(os.devnull) and workdir not in (target, *target.parents)

    allowed_caller = process_limits.start_call.__code__  # the worker's own per-call CPU budget

    def guard(event: str, args: tuple) -> None:
        if event in PROCESS_EVENTS:
            raise ForbiddenOperationError("process", event)
        if event in SIGNAL_EVENTS:
            raise ForbiddenOperationError("signal", event)
        if event in NATIVE_EVENTS:
            target = str(args[0]) if args else ""
            if not (event == "ctypes.dlopen" and native and target.startswith(tuple(native))):
                raise ForbiddenOperationError("native", str(args[-1]) if args else event)
        if event in LIMIT_EVENTS and sys._getframe(1).f_code is not allowed_caller:
            raise ForbiddenOperationError("limits", event)
        if event in NETWORK_EVENTS:
            raise ForbiddenOperationError("network", str(args[1]) if len(args) > 1 else event)
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \
                (isinstance(flags, int) and flags & WRITE_FLAGS)
            if writing and outside(path):
                raise ForbiddenOperationError("write", os.fsdecode(path))
        elif event in FILE_EVENTS and args and outside(args[0]):
            raise ForbiddenOperationError("write", os.fsdecode(args[0]))

    sys.addaudithook(guard)


class ImportBlocker:
    """Refuses imports of the forbidden top-level packages (a meta path finder: importing
    `importlib.abc` for its base class would slow every worker's start)."""

    def __init__(self, names: list[str]) -> None:
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top in self.names:
            raise ForbiddenImportError(
                f"'{top}' cannot be imported in the exercises: implement them with NumPy", name=top
            )
        return None


class RefusedFinder:
    """Explains the import of a module whose file the sandbox refused to copy."""

    def __init__(self) -> None:
        self.refused: dict[str, dict] = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.refused:
            raise RefusedFileError(fullname, self.refused[fullname])
        return None


class Worker:
    """Serves call requests for one student folder."""

    def __init__(self, settings: dict) -> None:
        self.directory = Path(settings["directory"])
        self.forbidden = list(settings.get("forbidden", []))
        self.limits = process_limits.Limits.from_wire(settings.get("limits", {}))
        self.refused = RefusedFinder()
        self.results: dict[int, Any] = {}
        self.drivers: dict[str, Any] = {}
        self.reserve: bytearray | None = bytearray(RESERVE_BYTES)
        self.crowded_at: int | None = None  # address space past which a fresh worker is wanted

    def serve(self, requests: protocol.FrameReader, answers: int) -> None:
        while True:
            try:
                header, blobs = requests.read_frame()
            except protocol.ChannelClosed:
                return
            try:
                answer, out_blobs = self.handle(header, blobs)
            except MemoryError:  # describing the failure ran out of memory too
                self.reserve = None
                answer, out_blobs = dict(OUT_OF_MEMORY), []
            worn = process_limits.worn_out(self.limits)
            if (self.reserve is None and not self.refill()) or self.crowded() or worn:
                answer["restart"] = True  # student code holds the memory, or the CPU budget is nearly spent
            answer["token"] = header.get("token")
            try:
                data = protocol.pack(answer, out_blobs)
            except BaseException as error:  # noqa: BLE001 - e.g. an int too long for JSON
                data = protocol.pack({**self.failure("unencodable", error), "token": header.get("token")})
            protocol.write_bytes(answers, data)

    def handle(self, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        op = header.get("op")
        if header.get("reset") is True:  # a new check: earlier results are forgotten first
            self.results.clear()
        if op == "reset":
            self.results.clear()
            return {"ok": True}, []
        if op == "import":
            refused = header.get("refused")
            if isinstance(refused, dict):
                self.refused.refused = refused
            importlib.invalidate_caches()  # the copy of the submission may be newer than this worker
            process_limits.start_call(self.limits)
            module = self.load(str(header.get("module")))
            return (module if isinstance(module, dict) else {"ok": True, **self.epilogue()}), []
        if op == "call":
            process_limits.start_call(self.limits)
            return self.call(header, blobs)
        if op == "drive":
            process_limits.start_call(self.limits)
            return self.drive(header, blobs)
        return {"ok": False, "kind": "request", "message": f"unknown op {op!r}"}, []

    def load(self, module_name: str) -> Any:
        """The student's module, or the failure answer if importing it failed."""
        try:
            return importlib.import_module(module_name)
        except BaseException as error:  # noqa: BLE001 - student code may raise anything
            return self.failure("import", error, module=module_name)

    # -- one call -----------------------------------------------------------------------------

    def call(self, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        function = self.function(str(header.get("module")), str(header.get("function")))
        if isinstance(function, dict):
            return function, []
        return self.run(function, header, blobs, echo_args=bool(header.get("echo_args")))

    def drive(self, header: dict, blobs: list[bytes]) -> tuple[dict, list[bytes]]:
        """``driver.<entry>(layers, *args, **kwargs)``: the driver file at ``header["driver"]``
        (loaded once, outside the import system, so it needs nothing of the kit but itself)
        with ``layers`` mapping each name of ``header["functions"]`` ({function: module}) to
        that student function. The driver's return value is the answer."""
        driver = self.driver(str(header.get("driver")))
        if isinstance(driver, dict):
            return driver, []
        layers = {}
        functions = header.get("functions")
        for name, module_name in (functions.items() if isinstance(functions, dict) else ()):
            function = self.function(str(module_name), str(name))
            if isinstance(function, dict):
                return function, []
            layers[str(name)] = function
        entry = getattr(driver, str(header.get("entry", "run")), None)
        if not callable(entry):
            return {"ok": False, "kind": "request", "message": f"the driver has no {header.get('entry')!r}"}, []
        return self.run(lambda *args, **kwargs: entry(layers, *args, **kwargs), header, blobs)

    def driver(self, path: str) -> Any:
        """The driver module at `path`, or the failure answer if it cannot be loaded."""
        if path not in self.drivers:
            try:
                spec = importlib.util.spec_from_file_location(f"_kit_driver_{len(self.drivers)}", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
            except BaseException as error:  # noqa: BLE001 - a kit problem, reported as such
                return {"ok": False, "kind": "request", "message": f"driver {path}: {safe_str(error)}"}
            self.drivers[path] = module
        return self.drivers[path]

    def function(self, module_name: str, function_name: str) -> Any:
        """The student's function, or the failure answer (import failed, missing, not callable)."""
        module = self.load(module_name)
        if isinstance(module, dict):
            return module
        try:
            function = getattr(module, function_name, None)  # a module __getattr__ is student code
        except BaseException as error:  # noqa: BLE001
            return self.failure("exception", error)
        if function is None or not callable(function):
            return {"ok": False, "kind": "missing", "module": module_name, "function": function_name,
                    "present": function is not None, **self.epilogue()}
        return function

    def run(self, function: Any, header: dict, blobs: list[bytes], *, echo_args: bool = False) -> tuple[dict, list[bytes]]:
        """Call `function` with the request's arguments; answer with its encoded value."""
        try:
            args = protocol.decode(header.get("args", {"$list": []}), blobs, tagged=self.resolve)
            kwargs = protocol.decode(header.get("kwargs", {"$dict": {}}), blobs, tagged=self.resolve)
        except Exception as error:  # noqa: BLE001 - a bad request must not kill the worker
            return {"ok": False, "kind": "request", "message": safe_str(error), **self.epilogue()}, []
        started = time.perf_counter()
        try:
            value = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001
            return self.failure("exception", error, elapsed=time.perf_counter() - started), []
        elapsed = time.perf_counter() - started
        self.results[header["call_id"]] = value
        out_blobs: list[bytes] = []
        try:
            answer = {"ok": True, "value": protocol.encode(value, out_blobs, fallback=opaque),
                      "elapsed": elapsed}
            if echo_args:
                answer["args_after"] = protocol.encode(list(args), out_blobs, fallback=opaque)
        except BaseException as error:  # noqa: BLE001 - a hostile __array__ or __repr__
            return self.failure("unencodable", error), []
        return {**answer, **self.epilogue()}, out_blobs

    def resolve(self, tag: str, payload: Any, path: tuple) -> Any:
        """Build argument values: containers, arrays, references to earlier results, RNGs."""
        if tag in ("$array", "$scalar"):
            array, _ = payload
            return array[()] if tag == "$scalar" else array
        if tag == "$tuple":
            return tuple(payload)
        if tag in ("$list", "$dict"):
            return payload
        if tag == "$rng":
            return np.random.default_rng(int(payload["$rng"]))
        if tag == "$ref":
            call_id, steps = payload["$ref"]
            if call_id not in self.results:
                raise protocol.ProtocolError("a value returned by an earlier call is no longer in the worker"
                                             " (it was restarted or reset since)")
            value = self.results[call_id]
            for step in steps:
                value = value[step]
            return value
        raise protocol.ProtocolError(f"cannot pass {tag} to a student function")

    def crowded(self) -> bool:
        """Student code left most of the memory budget in use (a global holding a huge array)."""
        try:
            return self.crowded_at is not None and address_space() > self.crowded_at
        except MemoryError:
            return True

    def refill(self) -> bool:
        try:
            self.reserve = bytearray(RESERVE_BYTES)
        except MemoryError:
            return False
        return True

    def failure(self, kind: str, error: BaseException, **extra: Any) -> dict:
        """Describe an exception raised by student code (or by importing it)."""
        # After a memory bomb, describing the error needs memory: free the reserve and what the
        # student's frames hold (a global the bomb filled stays: `serve` then asks for a restart).
        if isinstance(error, MemoryError):
            self.reserve = None
        traceback.clear_frames(error.__traceback__)
        answer = {"ok": False, "kind": kind, "type": public_name(type(error)),
                  "mro": [protocol.qualified_name(k) for k in type(error).__mro__],
                  "message": safe_str(error), "frames": self.student_frames(error), **extra}
        if isinstance(error, SyntaxError):
            answer["syntax"] = {"file": error.filename, "line": error.lineno,
                                "offset": error.offset, "text": (error.text or "").rstrip()}
        if isinstance(error, SystemExit):
            answer["exit_code"] = safe_str(error.code)
        if isinstance(error, ForbiddenImportError):
            answer["modules"] = [str(error.name)]
        if isinstance(error, RefusedFileError):
            answer["refused"] = {key: error.refusal.get(key) for key in ("file", "reason", "size")}
        if isinstance(error, ForbiddenOperationError):
            answer["operation"] = {"kind": error.kind, "target": error.target[:300]}
        return {**answer, **self.epilogue()}

    def student_frames(self, error: BaseException) -> list[dict]:
        frames = []
        for frame in traceback.extract_tb(error.__traceback__):
            path = Path(frame.filename)
            if path.is_absolute() and self.directory in path.parents:
                frames.append({"file": str(path), "line": frame.lineno,
                               "function": frame.name, "code": (frame.line or "").strip()})
        return frames[-5:]

    def epilogue(self) -> dict:
        """What every answer carries: flushed output and forbidden modules that got loaded."""
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001 - the student may have replaced the stream
                pass
        # A submodule cannot be loaded without its top-level package, so the names suffice.
        loaded = sorted(name for name in set(self.forbidden) if name in sys.modules)
        return {"forbidden_loaded": loaded}


def public_name(kind: type) -> str:
    """The name to report for an exception class: the first public class of its MRO, so that
    NumPy's private ``_ArrayMemoryError`` reads as the ``MemoryError`` a student would catch."""
    for klass in kind.__mro__:
        if not getattr(klass, "__qualname__", klass.__name__).startswith("_"):
            return protocol.qualified_name(klass)
    return protocol.qualified_name(kind)


def opaque(value: Any) -> dict:
    """The wire form of a value that stays in the worker."""
    try:
        text = repr(value)[:200]
    except BaseException:  # noqa: BLE001
        text = "<unprintable>"
    return {"$opaque": protocol.qualified_name(type(value)), "repr": text}


def safe_str(value: Any) -> str:
    try:
        return str(value)[:MESSAGE_LIMIT]
    except BaseException:  # noqa: BLE001
        return "<unprintable>"


_STATM: list[int] = []  # /proc/self/statm, opened before the walls go up


def address_space() -> int:
    """Bytes of address space in use: what RLIMIT_AS limits (0 where there is no /proc)."""
    if not _STATM:
        try:
            _STATM.append(os.open("/proc/self/statm", os.O_RDONLY))
        except OSError:
            return 0
    return int(os.pread(_STATM[0], 200, 0).split()[0]) * resource.getpagesize()


def confine(settings: dict, worker: Worker) -> int | None:
    """Put up the walls and the import policy before any student code runs: the Landlock
    rules (at that level), the process limits, the import path (the exposed kit files, then
    the copy of the submission). Returns the address-space limit (None without one)."""
    rules = settings.get("landlock")
    if rules:
        from autograder.sandbox import landlock_rules

        landlock_rules.restrict(rules["readable"], rules["writable"], rules.get("listable", []),
                                rules.get("runnable", []))
    limit = process_limits.apply(worker.limits, address_space())
    sys.path[:] = [str(p) for p in settings.get("paths", [settings["directory"]])] + [p for p in sys.path if p]
    sys.meta_path[:0] = [ImportBlocker(settings.get("forbidden", []) + ["autograder"]), worker.refused]
    for name in [m for m in sys.modules if m.startswith("autograder")]:
        sys.modules.pop(name, None)  # keep working copies, but out of the students' reach
    return limit


def die_with_parent() -> None:
    """Ask Linux to kill this process when the grader goes away (even mid-infinite-loop), to
    make it the reaper of its descendants, so that none can leave its process tree (the
    grader kills the whole tree, see `sandbox.kill_tree`), and to never grant it or them new
    privileges (a set-user-ID program runs without its owner's rights)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        libc.prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    except (OSError, AttributeError):
        pass


def main(argv: list[str]) -> None:
    die_with_parent()
    requests, answers = protocol.FrameReader(int(argv[1])), int(argv[2])
    faulthandler.enable(file=sys.stderr)
    try:
        settings, _ = requests.read_frame()
    except protocol.ChannelClosed:
        return
    for name in settings.get("preload", []):  # an exercise's allowed libraries, loaded by the kit
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the student's own import will say what is wrong
            pass
    worker = Worker(settings)  # before the memory limit: its reserve is not the student's
    address_space()  # open /proc/self/statm while it can be
    limit = confine(settings, worker)
    if limit:  # leave a quarter of the budget free for the next requests
        worker.crowded_at = limit - worker.limits.memory_mb * 1024 * 1024 // 4
    install_guard(Path.cwd(), [folder.rstrip("/") + "/" for folder in settings.get("native", [])])
    protocol.write_frame(answers, {"ok": True, "pid": os.getpid()})
    import numpy.random  # noqa: F401 - the checks' Generators need it (17 ms): loaded while the grader starts
    worker.serve(requests, answers)


if __name__ == "__main__":
    main(sys.argv)
