"""The warm server: each ``grade`` typed in a terminal runs in a child forked from a process
that has already imported what a grading run imports (NumPy, pytest, Rich, the kit and its
checks), so that a run pays for none of those imports. Client side: `warm_client`.

The server never runs student code: its child grades exactly as ``grade`` does in a process of
its own (a sandboxed worker for the student's functions, the result cache, the report), with
the client's arguments, environment, current folder, umask and terminal. The server runs
one at a time per Python and copy of the kit (a lock), answers only clients of its own user
that send its key, and stops after ten idle minutes, when its socket is removed, or when the
kit's code or the installed packages change (a client is then declined and grades alone).
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import importlib
import json
import os
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from autograder.ui.warm_client import (
    GO,
    LENGTH,
    MAX_REQUEST,
    PACKAGE,
    Address,
    identity,
    private_folder,
)

IDLE_SECONDS = 600.0
TICK = 1.0
"""Seconds between the server's looks at its idle time, its socket and its finished children."""
LOCK_WAIT = 3.0
"""Seconds a new server waits for the lock of one that is stopping."""


def serve(run: Callable[[list[str]], int]) -> None:
    """Serve ``grade`` runs with `run(argv) -> exit code` until idle, stale or displaced."""
    sys.path[:] = [entry for entry in sys.path if entry]  # "" would be each client's folder
    folder = private_folder()
    if folder is None:
        return
    address = Address(folder)
    sock, key_file = Path(address.socket), Path(address.key)
    with _exclusive(Path(address.lock)) as lock:
        if lock is None:
            return  # another server lives
        signature = code_signature()
        with contextlib.suppress(FileNotFoundError):
            key_file.unlink()  # a dead server's: clients grade on their own until this one is ready
        listener = _listen(sock)  # first: a server that cannot listen ends before its imports
        bound = os.stat(sock).st_ino
        try:
            preload()
            key = _write_key(key_file)  # ready: clients find the key now
            _loop(listener, sock, bound, lambda connection: _serve_one(
                connection, [listener.fileno(), lock], key, signature, run))
        finally:
            listener.close()
            if _inode(sock) == bound:
                for path in (sock, key_file):
                    with contextlib.suppress(OSError):
                        path.unlink()


def preload() -> None:
    """Import what a grading run imports, its check files included (pytest then finds them
    in `sys.modules`)."""
    from autograder.kit import CHECKS_DIR

    for module in ("autograder.ui.commands", "autograder.ui.report", "autograder.ui.json_report",
                   "autograder.grading.runner", "autograder.grading.plugin", "autograder.sandbox.client",
                   "autograder.quiz.answers", "autograder.state", "pytest", "_pytest.helpconfig",
                   "_pytest.skipping", "rich.progress", "concurrent.futures"):
        importlib.import_module(module)
    for file in sorted(CHECKS_DIR.glob("*.py")):
        importlib.import_module(f"autograder.grading.checks.{file.stem}")


def code_signature() -> list[tuple]:
    """What a change of the kit's code or of the installed packages changes: each module
    file of the kit and each folder of `sys.path` with its modification time."""
    files = [(str(path), *_stamp(path)) for path in sorted(Path(PACKAGE).rglob("*.py"))]
    return files + [(entry, *_stamp(Path(entry))) for entry in sys.path if entry and os.path.isdir(entry)]


def _stamp(path: Path) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (-1, -1)
    return (info.st_mtime_ns, info.st_size)


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[int | None]:
    """Hold the lock file's lock while the block runs, giving its descriptor (None if another
    process keeps it). The file holds the process id of the server that has it."""
    fd = os.open(lock, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield None
                    return
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield fd
    finally:
        os.close(fd)


def _write_key(path: Path) -> str:
    """A new random key, in a file only this user can read (replaced atomically)."""
    key = secrets.token_hex(32)
    draft = path.with_name(f"{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key)
    os.replace(draft, path)
    return key


def _listen(path: Path) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left by a server that died: the lock says none lives
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(8)
    listener.settimeout(TICK)
    return listener


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def _loop(listener: socket.socket, sock: Path, bound: int, serve_one: Callable[[socket.socket], bool]) -> None:
    """Accept clients until idle for `IDLE_SECONDS`, the socket file is no longer this
    server's, or `serve_one` says stop."""
    last = time.monotonic()
    while time.monotonic() - last < IDLE_SECONDS and _inode(sock) == bound:
        _reap()
        try:
            connection, _ = listener.accept()
        except (TimeoutError, InterruptedError):
            continue
        last = time.monotonic()
        with connection:
            if not serve_one(connection):
                return


def _reap() -> None:
    """Collect the children that finished."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _serve_one(connection: socket.socket, own: list[int], key: str, signature: list,
               run: Callable[[list[str]], int]) -> bool:
    """Fork a child for one request (closing the server's `own` descriptors in it); False when
    the server must stop (its code is stale)."""
    connection.settimeout(2.0)
    try:
        request, fds = _receive(connection)
    except Exception:  # noqa: BLE001 - whatever a client sends, the server goes on
        return True
    try:
        if not (isinstance(request, dict) and hmac.compare_digest(str(request.get("key", "")).encode(), key.encode())
                and request.get("identity") == identity() and _same_user(connection)):
            _decline(connection, "key")
            return True
        if code_signature() != signature:
            _decline(connection, "stale")
            return False
        if os.fork() == 0:
            try:
                for fd in own:
                    os.close(fd)  # the lock stays the server's alone
                _child(connection, fds, request, run)
            finally:
                os._exit(1)  # never back into the server's loop
    finally:
        for fd in fds:
            os.close(fd)
    return True


def _decline(connection: socket.socket, reason: str) -> None:
    with contextlib.suppress(OSError):
        _send(connection, {"declined": reason})


def _receive(connection: socket.socket) -> tuple[object, list[int]]:
    """The request (JSON) and its four descriptors: stdin, stdout, stderr, current folder."""
    data, fds, _, _ = socket.recv_fds(connection, 1 << 16, 8)
    try:
        if len(fds) != 4 or len(data) < LENGTH.size:
            raise ValueError("malformed request")
        (length,) = LENGTH.unpack(data[:LENGTH.size])
        if length > MAX_REQUEST:
            raise ValueError("request too large")
        data = data[LENGTH.size:]
        while len(data) < length:
            chunk = connection.recv(length - len(data))
            if not chunk:
                raise ValueError("truncated request")
            data += chunk
        return json.loads(data), fds
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _same_user(connection: socket.socket) -> bool:
    """The client runs as this user (checked where the system says; elsewhere the folder's
    permissions keep other users out)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return True
    _pid, uid, _gid = struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i")))
    return uid == os.getuid()


def _send(connection: socket.socket, message: dict) -> None:
    connection.sendall(json.dumps(message).encode() + b"\n")


def _child(connection: socket.socket, fds: list[int], request: dict, run: Callable[[list[str]], int]) -> None:
    """Become the client's ``grade`` run, once the client has taken it (`_taken`): its
    terminal, folder, umask and environment; then run it and send the exit code. Ends the
    process."""
    if not _taken(connection):
        os._exit(0)  # the client gave up waiting and grades on its own: print nothing
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
        os.fchdir(fds[3])
        for fd in fds:
            os.close(fd)
        os.umask(int(request["umask"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})
        time.tzset()  # the client's TZ for the times a run writes
        _streams(request.get("streams", {}))
        argv = [str(arg) for arg in request["argv"]]
        sys.argv = ["grade", *argv]
        _interrupt_when_gone(connection)
        code = run(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    except BaseException:  # noqa: BLE001 - reported on the client's terminal, like a crash of grade
        traceback.print_exc()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # over: a late Ctrl-C or a client gone changes nothing
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        with contextlib.suppress(OSError):
            _send(connection, {"exit": code})
        os._exit(code & 0xFF)


def _taken(connection: socket.socket) -> bool:
    """Send this child's pid and wait for the client's go (`warm_client.GO`): a client that
    timed out before the pid arrived never sends it, so a run is never made twice."""
    try:
        _send(connection, {"pid": os.getpid()})
        return connection.recv(len(GO)) == GO
    except OSError:
        return False


def _streams(spec: dict) -> None:
    """sys.stdin, stdout and stderr on descriptors 0-2 with the client's encodings, buffered
    as Python buffers them (stdout by line on a terminal, stderr always by line)."""
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        encoding, errors = (spec.get(name) or [None, None])[:2]
        writes = fd > 0
        line = writes and (fd == 2 or os.isatty(fd))
        stream = open(fd, "w" if writes else "r", encoding=encoding or "utf-8", errors=errors or "strict",  # noqa: SIM115
                      buffering=1 if line else -1, closefd=False)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _interrupt_when_gone(connection: socket.socket) -> None:
    """A client that ends (killed, its terminal closed) interrupts the run, as Ctrl-C would."""

    def watch() -> None:
        connection.settimeout(None)
        with contextlib.suppress(OSError):
            while connection.recv(1):
                pass
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Thread(target=watch, daemon=True).start()
