"""Grader side of the sandbox: runs student functions in a worker process.

A `Sandbox` owns one worker (`autograder.worker`) for one student folder. Each `call` sends
one request and waits at most the per-call time limit; a hang, crash or exit costs that call
only, and the next call starts a fresh worker. What student code printed during a call is
read from a capture file the grader owns, so it survives a crash.

Errors, all raised by `Sandbox.call`::

    SandboxError                 the sandbox itself could not work (not the student's fault)
    StudentError                 student code failed; `.function`, `.module`, `.output`
     ├── ImportFailed            the module could not be imported (syntax error, exception...)
     ├── MissingFunction         the module has no such function
     ├── Raised                  the call raised; `.not_implemented` for a stub
     ├── Exited                  the call ran sys.exit()
     ├── TimedOut                the call ran past the time limit
     ├── Crashed                 the worker died (segfault, os._exit, killed)
     ├── Forbidden               the call imported a forbidden library
     └── Unencodable             the value returned cannot be sent back
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import protocol

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
BOOT = "import sys; sys.path.insert(0, {root!r}); from autograder.worker import main; main(sys.argv)"
START_TIMEOUT = 60.0


# -- values that come back ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """Where a value lives in the worker: the call that returned it and the path inside."""

    call_id: int
    path: tuple = ()


class RemoteTuple(tuple):
    """A tuple returned by student code; `.ref` lets it be passed back by reference."""

    ref: Ref


class RemoteList(list):
    ref: Ref


class RemoteDict(dict):
    ref: Ref


@dataclass(frozen=True)
class Opaque:
    """A returned object with no wire form (a class instance, an object array...)."""

    type_name: str
    text: str
    ref: Ref


@dataclass(frozen=True)
class Rng:
    """An argument the worker turns into ``numpy.random.default_rng(seed)``."""

    seed: int


@dataclass
class Call:
    """What one successful call returned."""

    value: Any
    elapsed: float
    output: str = ""
    output_bytes: int = 0
    args_after: list | None = None


# -- errors ------------------------------------------------------------------------------------


class SandboxError(Exception):
    """The sandbox could not run at all (a kit or environment problem)."""


@dataclass
class StudentError(Exception):
    """Student code failed during a call. Subclasses say how."""

    function: str
    module: str
    detail: dict = field(default_factory=dict)
    output: str = ""
    output_bytes: int = 0

    def __str__(self) -> str:
        return f"{type(self).__name__} in {self.module}.{self.function}: {self.detail.get('message', '')}"

    @property
    def frames(self) -> list[dict]:
        return self.detail.get("frames", [])

    @property
    def innermost_function(self) -> str | None:
        """The student function where it went wrong (the callee may call another one)."""
        return self.frames[-1]["function"] if self.frames else None


class ImportFailed(StudentError):
    pass


class MissingFunction(StudentError):
    pass


class Raised(StudentError):
    @property
    def not_implemented(self) -> bool:
        return self.detail.get("type") == "NotImplementedError"


class Exited(StudentError):
    pass


class TimedOut(StudentError):
    pass


class Crashed(StudentError):
    pass


class Forbidden(StudentError):
    pass


class Unencodable(StudentError):
    pass


# -- the sandbox -------------------------------------------------------------------------------


class Sandbox:
    """Runs functions of the modules in `directory` in a confined worker process."""

    def __init__(
        self,
        directory: Path,
        *,
        seconds: float = 5.0,
        memory_mb: int = 1024,
        forbidden: list[str] = (),
        output_limit: int = 4000,
        hidden_paths: list[Path] = (),
    ) -> None:
        self.directory = Path(directory).resolve()
        self.seconds = seconds
        self.settings = {
            "op": "init",
            "directory": str(self.directory),
            "memory_mb": memory_mb,
            "forbidden": list(forbidden),
            "hidden_paths": [str(p) for p in (PACKAGE_ROOT, *hidden_paths)],
        }
        self.output_limit = output_limit
        self.workdir = tempfile.TemporaryDirectory(prefix="grade-worker-")
        self.capture = os.open(Path(self.workdir.name) / "output", os.O_RDWR | os.O_CREAT | os.O_APPEND)
        self.process: subprocess.Popen | None = None
        self.ready = False
        self.next_call_id = 0
        self.timed_out: dict[str, TimedOut] = {}
        self.import_failures: dict[str, StudentError] = {}
        self.imported: set[str] = set()  # modules known to import cleanly
        self.restarts = 0

    # lifecycle

    def start(self) -> None:
        """Start the worker now (returns at once; the first call waits for it to be ready)."""
        if self.process is not None:
            return
        request_read, self.requests = os.pipe()
        self.answers, answer_write = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-B", "-c", BOOT.format(root=str(PACKAGE_ROOT)),
             str(request_read), str(answer_write)],
            pass_fds=(request_read, answer_write),
            stdin=subprocess.DEVNULL,
            stdout=self.capture,
            stderr=self.capture,
            cwd=self.workdir.name,
            env=env,
            start_new_session=True,
        )
        os.close(request_read)
        os.close(answer_write)
        protocol.write_frame(self.requests, self.settings)
        self.ready = False

    def _ensure_ready(self) -> None:
        self.start()
        if self.ready:
            return
        try:
            header, _ = protocol.read_frame(self.answers, timeout=START_TIMEOUT)
        except protocol.ProtocolError as error:
            output = self._read_output()[0]
            self.stop()
            raise SandboxError(f"the grading worker did not start: {error}\n{output}") from None
        if not header.get("ok"):
            self.stop()
            raise SandboxError(f"the grading worker did not start: {header}")
        self.ready = True

    def stop(self) -> None:
        """Kill the worker (and anything it started)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        for fd in (self.requests, self.answers):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process = None
        self.ready = False

    def close(self) -> None:
        self.stop()
        try:
            os.close(self.capture)
        except OSError:
            pass
        self.workdir.cleanup()

    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # calls

    def reset(self) -> None:
        """Forget the values earlier calls returned (between checks)."""
        if self.process is None or not self.ready:
            return
        try:
            protocol.write_frame(self.requests, {"op": "reset"})
            protocol.read_frame(self.answers, timeout=self.seconds)
        except (protocol.ProtocolError, OSError):
            self.stop()

    def call(self, module: str, function: str, args: tuple = (), kwargs: dict | None = None,
             *, echo_args: bool = False) -> Call:
        """Run ``module.function(*args, **kwargs)`` in the worker; raise a `StudentError`."""
        if module in self.import_failures:
            raise self.import_failures[module]
        if function in self.timed_out:
            raise self.timed_out[function]
        self._ensure_ready()
        self.next_call_id += 1
        call_id = self.next_call_id
        blobs: list[bytes] = []
        request = {
            "op": "call", "call_id": call_id, "module": module, "function": function,
            "args": protocol.encode(list(args), blobs, fallback=_argument),
            "kwargs": protocol.encode(dict(kwargs or {}), blobs, fallback=_argument),
            "echo_args": echo_args,
        }
        os.ftruncate(self.capture, 0)
        try:
            protocol.write_frame(self.requests, request, blobs)
            header, answer_blobs = protocol.read_frame(self.answers, timeout=self.seconds)
        except protocol.ChannelTimeout:
            self.stop()
            error = self._error(TimedOut, module, function, {"seconds": self.seconds,
                                                              "importing": module not in self.imported})
            self.timed_out[function] = error
            if module not in self.imported:
                self.import_failures[module] = error
            raise error from None
        except (protocol.ChannelClosed, BrokenPipeError):
            raise self._crashed(module, function) from None
        except protocol.ProtocolError as error:
            self.stop()
            raise self._error(Crashed, module, function, {"protocol": str(error)}) from None
        return self._answer(module, function, call_id, header, answer_blobs)

    def _answer(self, module: str, function: str, call_id: int, header: dict, blobs: list[bytes]) -> Call:
        output, output_bytes = self._read_output()
        if header.get("kind") != "import":
            self.imported.add(module)
        try:
            if header.get("forbidden_loaded"):
                raise self._error(Forbidden, module, function, {"modules": header["forbidden_loaded"]},
                                  output, output_bytes)
            if not header.get("ok"):
                raise self._failure(module, function, header, output, output_bytes)
            value = protocol.decode(header["value"], blobs, tagged=_remote(call_id))
            args_after = None
            if "args_after" in header:
                args_after = protocol.decode(header["args_after"], blobs, tagged=_remote(call_id))
        except protocol.ProtocolError as error:
            self.stop()
            raise self._error(Crashed, module, function, {"protocol": str(error)}, output, output_bytes) from None
        return Call(value, float(header.get("elapsed", 0.0)), output, output_bytes, args_after)

    def _failure(self, module: str, function: str, header: dict, output: str, output_bytes: int) -> StudentError:
        kind = header.get("kind")
        if kind == "import":
            if header.get("type", "").endswith("ForbiddenImportError"):
                error = self._error(Forbidden, module, function, header, output, output_bytes)
            else:
                error = self._error(ImportFailed, module, function, header, output, output_bytes)
            self.import_failures[module] = error
            return error
        if kind == "missing":
            return self._error(MissingFunction, module, function, header, output, output_bytes)
        if kind == "unencodable":
            return self._error(Unencodable, module, function, header, output, output_bytes)
        if header.get("type") == "SystemExit":
            return self._error(Exited, module, function, header, output, output_bytes)
        if header.get("type", "").endswith("ForbiddenImportError"):
            return self._error(Forbidden, module, function, header, output, output_bytes)
        return self._error(Raised, module, function, header, output, output_bytes)

    def _crashed(self, module: str, function: str) -> StudentError:
        process = self.process
        returncode = process.wait(timeout=5) if process else None
        self.stop()
        detail = {"returncode": returncode, "importing": module not in self.imported}
        if returncode is not None and returncode < 0:
            detail["signal"] = signal.Signals(-returncode).name
        output, output_bytes = self._read_output()
        detail["frames"] = faulthandler_frames(output, self.directory)
        error = self._error(Crashed, module, function, detail, output, output_bytes)
        if module not in self.imported:
            self.import_failures[module] = error
        return error

    def _error(self, kind: type[StudentError], module: str, function: str, detail: dict,
               output: str | None = None, output_bytes: int = 0) -> StudentError:
        if output is None:
            output, output_bytes = self._read_output()
        if kind in (TimedOut, Crashed):
            self.restarts += 1
        return kind(function=function, module=module, detail=dict(detail),
                    output=output, output_bytes=output_bytes)

    def _read_output(self) -> tuple[str, int]:
        size = os.fstat(self.capture).st_size
        data = os.pread(self.capture, min(size, self.output_limit), 0)
        return data.decode("utf-8", errors="replace"), size


def faulthandler_frames(output: str, directory: Path) -> list[dict]:
    """Frames in `directory` from a faulthandler dump (innermost last, like a traceback)."""
    frames = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith('File "') and '", line ' in line:
            file, _, rest = line[6:].partition('", line ')
            number, _, function = rest.partition(" in ")
            if number.isdigit() and directory in Path(file).parents:
                frames.append({"file": file, "line": int(number), "function": function, "code": ""})
        elif frames and not line:
            break  # only the crashing thread (listed first)
    return frames[::-1]


def _argument(value: Any) -> dict:
    """Encode grader-side values that have no plain wire form."""
    if isinstance(value, Rng):
        return {"$rng": int(value.seed)}
    ref = getattr(value, "ref", None)
    if isinstance(ref, Ref):
        return {"$ref": [ref.call_id, list(ref.path)]}
    raise TypeError(f"cannot send {type(value).__name__} to the worker")


def _remote(call_id: int):
    """Decoder hooks that remember where each returned value lives in the worker."""

    def tagged(tag: str, payload: Any, path: tuple) -> Any:
        ref = Ref(call_id, path)
        if tag in ("$array", "$scalar"):
            array, class_name = payload
            if tag == "$scalar":
                return array[()]
            if class_name != "numpy.ndarray":
                return Opaque(class_name, f"{class_name} of shape {array.shape}", ref)
            return array
        if tag in ("$tuple", "$list", "$dict"):
            kind = {"$tuple": RemoteTuple, "$list": RemoteList, "$dict": RemoteDict}[tag]
            value = kind(payload)
            value.ref = ref
            return value
        if tag == "$opaque":
            return Opaque(str(payload["$opaque"]), str(payload.get("repr", "")), ref)
        raise protocol.ProtocolError(f"unexpected {tag} in a returned value")

    return tagged
