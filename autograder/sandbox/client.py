"""Grader side of the sandbox: runs student functions in a worker process.

A `Sandbox` owns one worker (`autograder.sandbox.worker`) for one student folder, started at the
strongest isolation level available (`isolation`), under the course's `limits`, on a read-only
copy of the folder that the sandbox takes itself before the first import (`snapshot`: links
and oversized files refused). `Sandbox.for_kit` is how every path of the kit makes one.

Two interfaces for the other wings:

- ``Sandbox.for_kit(kit, directory, allowed_imports=("torch",))``: the libraries that one
  exercise's course.yml entry lists under ``allowed_imports`` are lifted from the forbidden
  imports, and their installed files (with what they require) become visible to the worker.
  The runner grades such exercises in a sandbox of their own.
- ``Sandbox(..., expose=[path, ...])`` (also through ``for_kit``): kit files the worker may
  import, read-only: each path is a ``.py`` file (imported by its stem) or a package folder
  (by its name). They are copied when the sandbox is made into its own folder, which is on
  the worker's import path ahead of the submission (a student file cannot shadow them); the
  rest of the kit stays out of view. Exposed modules must not import ``autograder`` (refused
  in the worker); they see NumPy and the standard library, and call the student's functions
  in-process. `Sandbox.drive` exposes the driver file it is given in the same way.

Each `call` sends
one request and waits at most the per-call time limit; a hang, crash or exit costs that call
only, and the next call starts a fresh worker. The first call of a module in a worker imports
it in a request of its own, so a hang or crash at import fails every function of that module
at once, while one inside a function fails that function only (a function that timed out is
not run again). What student code printed during a call is read from a capture file the
grader owns, so it survives a crash. `drive` runs a whole loop of calls in the worker instead
(the lab's training runs): a NumPy-only driver file of the kit, given the student's functions,
in one request, and only the numbers it returns come back.

Everything that comes back is untrusted: an answer must echo its request's random token
(frames student code writes to the answer pipe are skipped), its fields are type-checked,
and anything malformed is a `Crashed` for that call. A worker that died between calls, left
unrequested bytes in its pipe, or asked for it (out of memory) is replaced before the next
call instead of failing it.

Errors, all raised by `Sandbox.call` and `Sandbox.drive`::

    SandboxError                 the sandbox itself could not work (not the student's fault)
    StudentError                 student code failed; `.function`, `.module`, `.output`
     ├── ImportFailed            the module could not be imported (syntax error, exception...)
     │    └── Refused            its file (or a file it imports) was not copied: ``detail["refused"]``
     ├── MissingFunction         the module has no such function
     ├── Raised                  the call raised; `.not_implemented` for a stub
     ├── Exited                  the call ran sys.exit()
     ├── TimedOut                the call ran past the time limit
     ├── Crashed                 the worker died (segfault, os._exit, killed) or answered garbage
     ├── Forbidden               the call imported a forbidden library
     ├── Exceeded                the call wrote more than the scratch limit (checked after it)
     └── Unencodable             the value returned cannot be sent back
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.kit import PACKAGE_DIR, Kit
from autograder.sandbox import protocol
from autograder.sandbox.confinement import Confinement
from autograder.sandbox.isolation import Isolation, SandboxError
from autograder.sandbox.limits import Limits
from autograder.sandbox.zygote_client import Zygote

START_TIMEOUT = 60.0
TAIL_BYTES = 64 * 1024  # where a crash dump is looked for in the output


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


class Refused(ImportFailed):
    """The module's file, or one it imports, was left out of the copy of the submission."""


class Exceeded(StudentError):
    pass


# -- the sandbox -------------------------------------------------------------------------------


class Sandbox:
    """Runs functions of the modules in `directory` in a confined worker process (see the
    module docstring for `expose` and `allowed_imports`). `hidden` lists the folders whose
    files student code must never read (the kit's; at the unprivileged-user level they are
    made unreadable to other users)."""

    def __init__(
        self,
        directory: Path,
        *,
        limits: Limits = Limits(),
        forbidden: list[str] = (),
        hidden: list[Path] = (),
        expose: list[Path] = (),
        allowed_imports: list[str] = (),
        zygote: Zygote | None = None,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.zygote = zygote
        if zygote is not None:  # its workers are forked by the zygote, under its walls and limits
            self.confinement = zygote.admit(self)
            self.limits, self.hidden = zygote.limits, zygote.hidden
        else:
            self.limits = limits
            allowed = tuple(allowed_imports)
            self.hidden = tuple(dict.fromkeys(Path(p).resolve() for p in (*hidden, self.directory)))
            forbidden = [name for name in forbidden if name not in allowed]
            self.confinement = Confinement(self.directory, limits, forbidden=forbidden, hidden=self.hidden,
                                           expose=list(expose), allowed_imports=allowed)
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC  # a zygote's last submission printed there
        self.capture = os.open(self.confinement.root / "output", flags)
        self.process: subprocess.Popen | None = None
        self.reader: protocol.FrameReader | None = None  # the current worker's answers
        self.ready = False
        self.forget_first = False  # the next request first clears the values earlier calls returned
        self.next_call_id = 0
        self.first_call_id = 1  # of the current worker: values of earlier calls died with older ones
        self.last_exit: int | None = None  # how the last worker ended
        self.timed_out: dict[tuple[str, str], TimedOut] = {}
        self.import_failures: dict[str, StudentError] = {}
        self.loaded: set[str] = set()  # modules the current worker imported cleanly
        self.restarts = 0

    @classmethod
    def for_kit(cls, kit: Kit, directory: Path, *, allowed_imports: list[str] = (), expose: list[Path] = (),
                hidden: list[Path] = (), seconds: float | None = None, memory_mb: int | None = None) -> Sandbox:
        """A sandbox for the student code in `directory`, under the course's policy, with the
        kit's own files (its folder, the package, the state and caches, and `hidden`) out of
        the student code's reach. `seconds` and `memory_mb` replace the policy's limits per
        request (the lab's training runs have their own)."""
        policy = kit.course.policy
        limits = Limits.from_policy(policy)
        limits = limits._replace(seconds=seconds or limits.seconds, memory_mb=memory_mb or limits.memory_mb)
        return cls(directory, limits=limits, forbidden=policy.forbidden_imports,
                   hidden=[kit.root, PACKAGE_DIR, kit.state_dir, *hidden], expose=expose,
                   allowed_imports=allowed_imports)

    @property
    def isolation(self) -> Isolation | None:
        """The level the workers run at (None before the first one starts)."""
        return self.confinement.isolation

    @property
    def seconds(self) -> float:
        return self.limits.seconds

    @property
    def output_limit(self) -> int:
        return self.limits.output_limit

    # lifecycle

    def start(self) -> None:
        """Start the worker now (returns at once; the first call waits for it to be ready)."""
        if self.process is not None:
            return
        confinement = self.confinement
        confinement.prepare()
        confinement.fresh_start()
        request_read, self.requests = os.pipe()
        self.answers, answer_write = os.pipe()
        for fd in (self.requests, self.answers):
            _widen(fd)
        os.set_blocking(self.requests, False)  # sending a request never blocks past its deadline
        if self.zygote is not None:
            try:
                self.process = self.zygote.spawn(request_read, answer_write, self.capture)
            finally:
                os.close(request_read)
                os.close(answer_write)
            self._configure()
            return
        self.process = subprocess.Popen(
            confinement.command(str(request_read), str(answer_write)),
            pass_fds=(request_read, answer_write),
            stdin=subprocess.DEVNULL,
            stdout=self.capture,
            stderr=self.capture,
            cwd=confinement.folders["scratch"],
            env=confinement.environment(),
            start_new_session=True,
            **confinement.user(),
        )
        os.close(request_read)
        os.close(answer_write)
        self._configure()

    def _configure(self) -> None:
        """Send the worker just started its settings (its first request)."""
        try:
            protocol.write_frame(self.requests, self.confinement.settings())
        except OSError:  # it died at once (bubblewrap could not start): the first call finds out
            pass
        self.reader = protocol.FrameReader(self.answers)
        self.ready = False
        self.forget_first = False  # a fresh worker holds no values
        self.first_call_id = self.next_call_id + 1

    def _ensure_ready(self, retry: bool = True) -> None:
        if self.process is not None and self.ready and not self._healthy():
            self.stop()
        self.start()
        if self.ready:
            return
        try:
            header, _ = self.reader.read_frame(timeout=START_TIMEOUT)
        except protocol.ProtocolError as error:
            output = self._read_output()[0]
            self.stop()
            if retry and self.confinement.start_failed(output):  # one level down
                os.ftruncate(self.capture, 0)
                return self._ensure_ready(retry=False)
            raise SandboxError(f"the grading worker did not start: {error}\n{output}") from None
        if not header.get("ok"):
            self.stop()
            raise SandboxError(f"the grading worker did not start: {header}")
        self.ready = True

    def _healthy(self) -> bool:
        """False when the worker died between calls (a thread the student started may end it)
        or left bytes nobody asked for in the answer pipe (student code writing to it): the
        next call then gets a fresh worker instead of paying for the earlier one."""
        if self.process.poll() is not None:
            return False
        return not self.reader.pending and not select.select([self.answers], [], [], 0)[0]

    def stop(self) -> None:
        """Kill the worker and every process below it (even one that left its session)."""
        if self.process is None:
            return
        if self.zygote is not None:
            self.process.kill()  # the zygote kills what it started when it reaps it
        else:
            kill_tree(self.process.pid, self.confinement.uid, namespace=self.confinement.namespaced)
        self.last_exit = self._status(self.process.wait())
        for fd in (self.requests, self.answers):
            try:
                os.close(fd)
            except OSError:
                pass
        self.process = None
        self.ready = False
        self.loaded.clear()

    def close(self) -> None:
        self.stop()
        try:
            os.close(self.capture)
        except OSError:
            pass
        self.confinement.cleanup()
        if self.zygote is not None:
            self.zygote.release(self)

    def __enter__(self) -> "Sandbox":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def copy_is_current(self) -> bool:
        """Whether the worker's copy of the submission, if it took one, still holds what the
        folder holds (a worker kept between gradings must not grade an older version)."""
        return self.confinement.copy_is_current()

    # calls

    def reset(self) -> None:
        """Forget the values earlier calls returned (between checks): the worker clears them
        before it handles the next request, which carries the order (no round trip of its own).
        A value of an earlier call passed after a reset is refused as if the worker had none."""
        self.forget_first = self.process is not None

    def call(self, module: str, function: str, args: tuple = (), kwargs: dict | None = None,
             *, echo_args: bool = False) -> Call:
        """Run ``module.function(*args, **kwargs)`` in the worker; raise a `StudentError`."""
        # Known failures fail fast. A fresh traceback each time: re-raising an exception object
        # appends to its old one, which would grow (and keep every check's frames) check after check.
        if module in self.import_failures:  # reported for the function asked for now
            raise dataclasses.replace(self.import_failures[module], function=function)
        if (module, function) in self.timed_out:
            raise self.timed_out[(module, function)].with_traceback(None)
        blobs: list[bytes] = []
        refs: list[Ref] = []

        def fallback(value: Any) -> dict:
            return _argument(value, refs)

        request = {
            "op": "call", "module": module, "function": function, "echo_args": echo_args,
            "args": protocol.encode(list(args), blobs, fallback=fallback),
            "kwargs": protocol.encode(dict(kwargs or {}), blobs, fallback=fallback),
        }
        self._ensure_ready()
        if any(ref.call_id < self.first_call_id for ref in refs):
            # A value that lived in a worker the student's code ended between calls.
            detail = {**_exit_detail(self.last_exit), "importing": False}
            raise self._error(Crashed, module, function, detail)
        os.ftruncate(self.capture, 0)
        self._import(module, function)
        header, answer_blobs, call_id = self._send(request, blobs, module, function, importing=False)
        return self._answer(module, function, header, answer_blobs, call_id=call_id)

    def drive(self, driver: Path, functions: dict[str, str], args: tuple = (), kwargs: dict | None = None,
              *, entry: str = "run") -> Call:
        """Run ``entry(layers, *args, **kwargs)`` of the kit's `driver` file in the worker, as one
        request under one time limit, where ``layers`` maps each name of `functions`
        ({function: module}) to that student function. The driver must import nothing of the
        kit (the worker loads it by its path); it is exposed to the worker (copied among the
        `expose` files, read-only) if it is not already, and nothing else of the kit is. Only
        the value it returns comes back. Raises a `StudentError` naming the student function
        at fault where one is known."""
        modules = sorted(set(functions.values()))
        for module in modules:
            if module in self.import_failures:
                raise dataclasses.replace(self.import_failures[module], function=entry)
        blobs: list[bytes] = []
        request = {
            "op": "drive", "driver": None, "entry": entry, "functions": dict(functions),
            "args": protocol.encode(list(args), blobs, fallback=_no_reference),
            "kwargs": protocol.encode(dict(kwargs or {}), blobs, fallback=_no_reference),
        }
        self._ensure_ready()
        request["driver"] = str(self.confinement.expose(Path(driver)))
        os.ftruncate(self.capture, 0)
        label = Path(driver).stem
        for module in modules:
            self._import(module, entry)
        try:
            header, answer_blobs, call_id = self._send(request, blobs, label, entry, importing=False, remember=False)
            return self._answer(label, entry, header, answer_blobs, call_id=call_id)
        except StudentError as error:  # name the student's function at fault, not the driver
            function = error.innermost_function or error.detail.get("function")
            if function in functions:
                error.function, error.module = function, functions[function]
            raise

    def _import(self, module: str, function: str) -> None:
        """Import `module` in a request of its own, unless the worker has it: a hang or crash
        there is the module's fault (all its functions fail fast), one in a call only the
        call's."""
        if module in self.loaded:
            return
        request = {"op": "import", "module": module, "refused": self.confinement.take_snapshot()}
        try:
            header, _, _ = self._send(request, [], module, function, importing=True)
            self._answer(module, function, header, [], importing=True)
        except StudentError as error:
            self.import_failures[module] = error
            raise

    def _exchange(self, request: dict, blobs: list[bytes]) -> tuple[dict, list[bytes], int]:
        """Send one request and read its answer within the time limit (protocol errors raise).

        The answer must echo the request's random token: frames that student code wrote to
        the answer pipe itself, or late answers to earlier requests, are skipped, so they
        cannot pass for the answer to this request or to a later one."""
        self.next_call_id += 1
        call_id = request["call_id"] = self.next_call_id
        token = request["token"] = secrets.token_hex(16)
        if self.forget_first:
            request["reset"], self.forget_first = True, False
        deadline = time.monotonic() + self.seconds
        protocol.write_frame(self.requests, request, blobs, deadline)
        while True:
            header, answer_blobs = self.reader.read_frame(deadline=deadline)
            if header.get("token") == token:
                return header, answer_blobs, call_id

    def _send(self, request: dict, blobs: list[bytes], module: str, function: str,
              *, importing: bool, remember: bool = True) -> tuple[dict, list[bytes], int]:
        """`_exchange`, with every way the worker can fail turned into a `StudentError` (a
        function that timed out is not called again, if `remember`)."""
        try:
            answer = self._exchange(request, blobs)
        except protocol.ChannelTimeout:
            self.stop()
            error = self._error(TimedOut, module, function, {"seconds": self.seconds, "importing": importing})
            if not importing and remember:
                self.timed_out[(module, function)] = error
            raise error from None
        except (protocol.ChannelClosed, BrokenPipeError):
            raise self._crashed(module, function, importing) from None
        except protocol.ProtocolError as error:
            self.stop()
            detail = {"protocol": str(error), "importing": importing}
            raise self._error(Crashed, module, function, detail) from None
        written = self.confinement.scratch_bytes()
        if written > self.limits.scratch_bytes:  # only outside the namespace sandbox's tmpfs
            self.stop()
            raise self._error(Exceeded, module, function, {"limit": "scratch", "megabytes": self.limits.scratch_mb,
                                                           "written": written, "importing": importing})
        return answer

    def _answer(self, module: str, function: str, header: dict, blobs: list[bytes], *,
                importing: bool = False, call_id: int = 0) -> Call:
        output, output_bytes = self._read_output()
        try:
            _validate(header)
            if header.get("forbidden_loaded"):
                self.stop()  # the forbidden module stays loaded in that worker
                raise self._error(Forbidden, module, function, {"modules": header["forbidden_loaded"]},
                                  output, output_bytes)
            if header.get("kind") == "request":
                raise SandboxError(f"the grading worker refused a request: {header.get('message')}")
            if not header["ok"]:
                raise self._failure(module, function, header, output, output_bytes)
            if importing:
                self.loaded.add(module)
                return Call(None, 0.0, output, output_bytes)
            if "value" not in header:
                raise protocol.ProtocolError("the answer carries no value")
            value = protocol.decode(header["value"], blobs, tagged=_remote(call_id))
            args_after = None
            if "args_after" in header:
                args_after = protocol.decode(header["args_after"], blobs, tagged=_remote(call_id))
        except protocol.ProtocolError as error:
            self.stop()
            raise self._error(Crashed, module, function, {"protocol": str(error), "importing": importing},
                              output, output_bytes) from None
        finally:
            if header.get("restart") is True:
                self.stop()  # the worker asked for it: student code holds most of its memory
        return Call(value, float(header.get("elapsed", 0.0)), output, output_bytes, args_after)

    def _failure(self, module: str, function: str, header: dict, output: str, output_bytes: int) -> StudentError:
        kind = header.get("kind")
        forbidden = header.get("type", "").endswith(("ForbiddenImportError", "ForbiddenOperationError"))
        if "refused" in header:
            detail = {**header, "limit_mb": self.limits.max_file_mb}
            return self._error(Refused, module, function, detail, output, output_bytes)
        if kind == "import":
            return self._error(Forbidden if forbidden else ImportFailed, module, function, header, output, output_bytes)
        if kind == "missing":
            return self._error(MissingFunction, module, function, header, output, output_bytes)
        if kind == "unencodable":
            return self._error(Unencodable, module, function, header, output, output_bytes)
        if header.get("type") == "SystemExit":
            return self._error(Exited, module, function, header, output, output_bytes)
        if forbidden:
            return self._error(Forbidden, module, function, header, output, output_bytes)
        return self._error(Raised, module, function, header, output, output_bytes)

    def _status(self, returncode: int) -> int:
        """The worker's exit status: bubblewrap passes a death by signal N on as 128 + N (a
        zygote tells the status itself)."""
        if self.zygote is None and self.confinement.namespaced and 128 < returncode <= 128 + 64:
            return 128 - returncode
        return returncode

    def _crashed(self, module: str, function: str, importing: bool) -> StudentError:
        process = self.process
        try:
            returncode = self._status(process.wait(timeout=min(self.seconds, 1.0))) if process else None
        except subprocess.TimeoutExpired:  # it closed its answer pipe but lives on
            returncode = None
        self.stop()
        detail = {**_exit_detail(returncode), "importing": importing, "seconds": self.seconds}
        seen = self.confinement.seen("submission")
        detail["frames"] = faulthandler_frames(self._read_output(TAIL_BYTES, tail=True)[0], seen)
        return self._error(Crashed, module, function, detail)

    def _error(self, kind: type[StudentError], module: str, function: str, detail: dict,
               output: str | None = None, output_bytes: int = 0) -> StudentError:
        if output is None:
            output, output_bytes = self._read_output()
        if kind in (TimedOut, Crashed):
            self.restarts += 1
        return kind(function=function, module=module, detail=self._localize(detail),
                    output=self._local_text(output), output_bytes=output_bytes)

    def _localize(self, detail: dict) -> dict:
        """`detail` with the files the worker named in its copy of the submission named in
        the submission itself (what the student knows)."""
        seen = self.confinement.seen("submission")

        def local(file: Any) -> Any:
            if isinstance(file, str) and Path(file).is_relative_to(seen):
                return str(self.directory / Path(file).relative_to(seen))
            return file

        detail = dict(detail)
        if isinstance(detail.get("message"), str):
            detail["message"] = self._local_text(detail["message"])
        if isinstance(detail.get("frames"), list):
            detail["frames"] = [{**frame, "file": local(frame.get("file"))} for frame in detail["frames"]]
        if isinstance(detail.get("syntax"), dict):
            detail["syntax"] = {**detail["syntax"], "file": local(detail["syntax"].get("file"))}
        return detail

    def _local_text(self, text: str) -> str:
        """`text` (a message, printed output) with the worker's copy of the submission named
        as the submission itself: the copy's path depends on the isolation level and differs
        at every run."""
        seen = re.escape(str(self.confinement.seen("submission")))
        return re.sub(seen + r"(?![\w.-])", lambda _: str(self.directory), text)

    def _read_output(self, limit: int | None = None, *, tail: bool = False) -> tuple[str, int]:
        """What the worker printed since the call began: the first `limit` bytes (the output
        limit by default), or the last ones with `tail` (a crash dump comes last)."""
        limit = self.output_limit if limit is None else limit
        size = os.fstat(self.capture).st_size
        if not size:  # most calls print nothing
            return "", 0
        data = os.pread(self.capture, min(size, limit), max(size - limit, 0) if tail else 0)
        return data.decode("utf-8", errors="replace"), size


def _widen(fd: int) -> None:
    """Give a pipe 1 MB of buffer where Linux allows it (64 KB by default): an exercise's
    arrays then cross in one write and one wake-up instead of a dozen. Nothing changes where
    it cannot (another system, or the user's pipe-buffer quota spent)."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


def kill_tree(root: int, uid: int | None = None, *, namespace: bool = False) -> None:
    """SIGKILL `root`, its process group, all its descendants and, given the worker's own
    `uid`, every process of that user. The worker is the reaper of its descendants (see
    `worker.die_with_parent`), so one that double-forked or called setsid is still below it
    while the worker lives; descendants die first, while they are still found there. One
    orphaned by a worker that ended itself is still of its user (or in its process group).
    With `namespace` (bubblewrap's own PID namespace, whose first process dies with `root`),
    the kernel kills the rest: nothing is looked for."""
    for _ in range(0 if namespace else 10):
        below = _below(root, uid)
        if not below:
            break
        for pid in below:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    for kill, target in ((os.killpg, root), (os.kill, root)):
        try:
            kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def descendants(root: int) -> list[int]:
    """Every live process below `root`, from /proc (empty where there is no /proc)."""
    return _below(root, None)


def _below(root: int, uid: int | None) -> list[int]:
    """The live processes below `root`, and those of `uid`, from one pass over /proc."""
    children: dict[int, list[int]] = {}
    found: list[int] = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines()
                          if line.startswith(("State:", "PPid:", "Uid:")))
        except (OSError, ValueError):
            continue
        if fields.get("State", "").split()[:1] == ["Z"]:  # zombies are dead already
            continue
        children.setdefault(int(fields["PPid"]), []).append(int(entry.name))
        if uid is not None and fields["Uid"].split()[:1] == [str(uid)]:
            found.append(int(entry.name))
    pending = list(children.get(root, []))
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return list(dict.fromkeys(found))


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


_NONE = type(None)
_ANSWER_FIELDS = {
    "ok": bool, "restart": bool, "present": bool, "elapsed": (int, float),
    "kind": str, "type": str, "message": str, "module": str, "function": str, "exit_code": str,
    "forbidden_loaded": list, "modules": list, "mro": list, "frames": list, "syntax": dict, "refused": dict,
}


def _validate(header: dict) -> None:
    """Raise `ProtocolError` unless an answer has the fields, and field types, the grader reads
    (a worker whose pipe the student wrote to may send anything)."""
    for name, kind in _ANSWER_FIELDS.items():
        if name in header and not isinstance(header[name], kind):
            raise protocol.ProtocolError(f"the answer's {name!r} has the wrong type")
    if "ok" not in header:
        raise protocol.ProtocolError("the answer says neither success nor failure")
    names = header.get("forbidden_loaded", []) + header.get("modules", []) + header.get("mro", [])
    places = [(f, ("file", "function", "code")) for f in header.get("frames", [])]
    if "syntax" in header:
        places.append((header["syntax"], ("file", "text")))
    refused = header.get("refused", {})
    if refused and not (isinstance(refused.get("file"), str) and isinstance(refused.get("reason"), str)
                        and isinstance(refused.get("size", 0), int)):
        raise protocol.ProtocolError("the answer's refusal is malformed")
    if not all(isinstance(name, str) for name in names) or not all(
        isinstance(place, dict) and isinstance(place.get("line"), (int, _NONE))
        and all(isinstance(place.get(key), (str, _NONE)) and key in place for key in keys)
        for place, keys in places
    ):
        raise protocol.ProtocolError("the answer's details are malformed")


def _exit_detail(returncode: int | None) -> dict:
    detail: dict[str, Any] = {"returncode": returncode}
    if returncode is not None and returncode < 0:
        try:
            detail["signal"] = signal.Signals(-returncode).name
        except ValueError:
            detail["signal"] = f"signal {-returncode}"
    return detail


def _argument(value: Any, refs: list[Ref]) -> dict:
    """Encode grader-side values that have no plain wire form (noting references in `refs`)."""
    if isinstance(value, Rng):
        return {"$rng": int(value.seed)}
    ref = getattr(value, "ref", None)
    if isinstance(ref, Ref):
        refs.append(ref)
        return {"$ref": [ref.call_id, list(ref.path)]}
    raise TypeError(f"cannot send {type(value).__name__} to the worker")


def _no_reference(value: Any) -> dict:
    """A driver gets plain values only (arrays, numbers, strings and containers of them)."""
    raise TypeError(f"cannot send {type(value).__name__} to a driver")


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
