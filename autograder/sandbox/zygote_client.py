"""Grader side of the zygote (`autograder.sandbox.zygote`): one sandboxed process per grading
process and per set of allowed imports that loads NumPy (and torch, for the PyTorch exercise)
once and forks a worker for each submission, instead of every submission's sandbox starting
Python and importing them again (torch: about 1.2 s of processor time per student).

``Sandbox(directory, zygote=z)`` grades one submission in a worker forked by `z`: the same
walls (the zygote's bubblewrap view), limits, forbidden imports and protocol as a sandbox of its
own, on a copy of that submission in the zygote's submission folder. A zygote serves one
submission at a time (`admit` refuses a second): its workers see only the current copy, and
before each fork the zygote has killed everything the last worker left running, removed its
IPC objects and emptied the scratch folder.

Only at the ``namespaces`` level (`Zygote.available`): below it there is no PID namespace to
empty and no private scratch folder, so each submission keeps a sandbox of its own there.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
from pathlib import Path

from autograder.kit import PACKAGE_DIR, Kit
from autograder.sandbox.confinement import Confinement
from autograder.sandbox.isolation import Level, SandboxError, candidate
from autograder.sandbox.limits import Limits

START_TIMEOUT = 60.0
ANSWER_TIMEOUT = 30.0  # a zygote answers at once, unless it is waiting for a killed worker
PACKET = 64 * 1024


class Forked:
    """A worker the zygote forked, with what `Sandbox` uses of a `subprocess.Popen`: `pid`,
    `poll`, `wait`, `kill` (through the pidfd the zygote sent; its exit status from the zygote)."""

    def __init__(self, zygote: Zygote, pid: int, pidfd: int) -> None:
        self.zygote, self.pid, self.pidfd = zygote, pid, pidfd
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self.pidfd], [], [], 0)[0]:
            self._reap()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if timeout is not None and not select.select([self.pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("worker", timeout)
            self._reap()
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except (ProcessLookupError, OSError):
                pass

    def _reap(self) -> None:
        status = self.zygote.reap()
        self.returncode = -signal.SIGKILL if status is None else status  # None: the zygote died
        os.close(self.pidfd)


class Zygote:
    """A zygote process for the submissions of one grading process (see the module docstring)."""

    def __init__(self, limits: Limits = Limits(), *, forbidden: list[str] = (), hidden: list[Path] = (),
                 allowed_imports: list[str] = ()) -> None:
        allowed = tuple(allowed_imports)
        self.hidden = tuple(dict.fromkeys(Path(p).resolve() for p in hidden))
        self.confinement = Confinement(None, limits, forbidden=[n for n in forbidden if n not in allowed],
                                       hidden=self.hidden, expose=[], allowed_imports=allowed)
        self.process: subprocess.Popen | None = None
        self.control: socket.socket | None = None
        self.tenant: object | None = None  # the sandbox it serves now
        self.starts = 0

    @classmethod
    def for_kit(cls, kit: Kit, *, allowed_imports: list[str] = (), hidden: list[Path] = ()) -> Zygote:
        """A zygote under the course's policy, with the kit's files and `hidden` out of reach
        (every submission it serves must lie in one of `hidden`)."""
        policy = kit.course.policy
        return cls(Limits.from_policy(policy), forbidden=policy.forbidden_imports,
                   hidden=[kit.root, PACKAGE_DIR, kit.state_dir, *hidden], allowed_imports=allowed_imports)

    @staticmethod
    def available() -> bool:
        """Whether workers are confined in namespaces here (the only level a zygote runs at)."""
        return candidate().level == Level.NAMESPACES

    @property
    def limits(self) -> Limits:
        return self.confinement.limits

    def covers(self, directory: Path) -> bool:
        """Whether `directory` lies in a folder the zygote's workers cannot see (its copy is the
        only way they see it)."""
        directory = Path(directory).resolve()
        return any(folder == directory or folder in directory.parents for folder in self.hidden)

    # lifecycle

    def start(self) -> None:
        """Start the zygote and wait until it has loaded its libraries (`SandboxError` if it
        cannot: the caller then gives each submission a sandbox of its own)."""
        if self.process is not None and self.process.poll() is None:
            return
        self.stop()
        confinement = self.confinement
        confinement.prepare()
        if not confinement.namespaced:
            raise SandboxError(f"a zygote needs the namespaces level, not {confinement.isolation.label}")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        output = open(confinement.root / "zygote-output", "ab")
        try:
            self.process = subprocess.Popen(
                confinement.zygote_command(str(theirs.fileno())), pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, stdout=output, stderr=output, cwd=confinement.folders["scratch"],
                env=confinement.environment(), start_new_session=True, **confinement.user())
        finally:
            theirs.close()
            output.close()
        self.control = ours
        self.starts += 1
        self._send({"preload": list(confinement.allowed_imports)})
        answer, _ = self._receive(START_TIMEOUT)
        if not answer.get("ok"):
            self.stop()
            raise SandboxError(f"the zygote did not start: {answer}")

    def stop(self) -> None:
        """Kill the zygote (its namespace, and every worker in it, goes with it)."""
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.kill()
            self.process.wait()
            self.process = None

    def close(self) -> None:
        self.stop()
        self.confinement.cleanup()

    # serving one sandbox at a time

    def admit(self, sandbox: object) -> Confinement:
        """Serve `sandbox` (a submission inside `hidden`) until it is released; its confinement."""
        if self.tenant is not None:
            raise SandboxError("a zygote serves one submission at a time")
        if not self.covers(sandbox.directory):
            raise SandboxError(f"{sandbox.directory} is not in a folder the zygote hides")
        self.tenant = sandbox
        return self.confinement.lease(sandbox.directory)

    def release(self, sandbox: object) -> None:
        if self.tenant is sandbox:
            self.tenant = None

    def spawn(self, requests: int, answers: int, output: int) -> Forked:
        """Fork a worker on these descriptors (from a new zygote if this one died or failed)."""
        try:
            return self._fork(requests, answers, output)
        except (OSError, EOFError, SandboxError):
            self.stop()
        try:
            return self._fork(requests, answers, output)
        except (OSError, EOFError, SandboxError):
            self.stop()
            raise SandboxError("the zygote could not fork a worker") from None

    def _fork(self, requests: int, answers: int, output: int) -> Forked:
        self.start()
        socket.send_fds(self.control, [json.dumps({"op": "spawn"}).encode()], [requests, answers, output])
        answer, fds = self._receive(ANSWER_TIMEOUT)
        if "pid" in answer and len(fds) == 1:
            return Forked(self, int(answer["pid"]), fds[0])
        for fd in fds:
            os.close(fd)
        raise SandboxError(f"the zygote could not fork a worker: {answer}")

    def reap(self) -> int | None:
        """Wait for the current worker and the zygote's clean-up after it; its exit status."""
        try:
            self._send({"op": "wait"})
            answer, _ = self._receive(ANSWER_TIMEOUT)
            return answer.get("status")
        except (OSError, EOFError, SandboxError):
            self.stop()  # no clean-up can be trusted: the next worker comes from a new zygote
            return None

    def _send(self, message: dict) -> None:
        if self.control is None:
            raise SandboxError("the zygote is not running")
        self.control.sendall(json.dumps(message).encode())

    def _receive(self, timeout: float) -> tuple[dict, list[int]]:
        if not select.select([self.control], [], [], timeout)[0]:
            raise SandboxError("the zygote did not answer")
        data, fds, _, _ = socket.recv_fds(self.control, PACKET, 8)
        if not data:
            raise EOFError("the zygote ended")
        return json.loads(data), fds
