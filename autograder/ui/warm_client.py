"""The client side of the warm server: a `grade` typed in a terminal is run by a server that
already has Python, NumPy, pytest, Rich and the kit's checks loaded (`warm_server`).

The client sends its arguments, environment, current folder and terminal (file descriptors
0, 1 and 2, passed over a Unix socket) to the server, which forks a child that grades exactly
as ``grade`` would in this process, printing to this terminal; the client relays Ctrl-C to it
and exits with its exit code. Whenever the server is not there, declines, or the system has
no Unix sockets with descriptor passing (Windows), ``grade`` runs in this process as always,
and afterwards starts a server in the background for the next run.

Only the plain grading command in an interactive terminal is handed over (never a script's,
a pipe's or another subcommand's run), and only when ``GRADE_SERVER`` is not ``off``. The
socket and the server's key file live in a folder only this user may open
(``$XDG_RUNTIME_DIR/grade``, else ``/tmp/grade-<uid>``); a client must send the key, which a
sandboxed worker cannot read at any isolation level that keeps it from the kit's files.

This module imports only the standard library: it runs before anything else of the kit.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import struct
import sys
import zlib
from collections.abc import Callable

SERVER_ENV = "GRADE_SERVER"
OFF = ("0", "off", "no", "false")
LENGTH = struct.Struct("!I")
MAX_REQUEST = 1 << 20
GO = b"g"
"""What the client sends once it has the child's pid: from then on the run is the server's."""
PACKAGE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
"""The autograder package: a server serves the kit's code as it was when the server started."""


def identity() -> str:
    """What a server must share with its clients: this Python, this copy of the kit, PYTHONPATH."""
    return "\0".join((os.path.realpath(sys.executable), PACKAGE, sys.version, os.environ.get("PYTHONPATH", "")))


class Address:
    """Where the server of this Python and this copy of the kit listens: its socket, the key a
    client must send, and the lock one server holds while it lives (paths in `folder`)."""

    def __init__(self, folder: str) -> None:
        name = f"{zlib.crc32(identity().encode()):08x}"  # a server checks the whole identity
        self.socket, self.key, self.lock = (os.path.join(folder, f"{name}.{suffix}") for suffix in ("sock", "key", "lock"))


def supported() -> bool:
    """Unix sockets that pass file descriptors (Linux, macOS; not Windows)."""
    return os.name == "posix" and hasattr(socket, "AF_UNIX") and hasattr(socket, "send_fds")


def wanted() -> bool:
    """Whether this run may use (and start) a server: an interactive terminal on a system that
    supports it, and ``GRADE_SERVER`` not ``off``."""
    if os.environ.get(SERVER_ENV, "").strip().lower() in OFF or not supported():
        return False
    return all(os.isatty(fd) for fd in (0, 1, 2))


def private_folder() -> str | None:
    """The folder for sockets and keys, made if missing: this user's own, closed to others
    (None if it exists with other owners or permissions, or cannot be made)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = os.path.join(runtime, "grade") if runtime else f"/tmp/grade-{os.getuid()}"
    try:
        if not os.path.lexists(folder):
            os.mkdir(folder, 0o700)
        info = os.lstat(folder)
    except OSError:
        return None
    private = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077
    return folder if private else None


def delegate(argv: list[str], lost: Callable[[], str]) -> int | None:
    """Run ``grade argv`` in the server and return its exit code, or None when no server takes
    it (then the caller runs it here). Once the server has started the run, its outcome is
    final: a server lost halfway ends the run with exit code 1 and the message `lost()`."""
    folder = private_folder()
    if folder is None:
        return None
    address = Address(folder)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with connection:
        try:
            with open(address.key, encoding="ascii") as file:
                key = file.read()
            connection.settimeout(2.0)
            connection.connect(address.socket)
            _send_request(connection, argv, key)
            reader = connection.makefile("rb")
            child = _read_message(reader)
            if not isinstance(child, dict) or not isinstance(child.get("pid"), int):
                return None  # declined: the kit's code changed since the server started, or a wrong key
            connection.sendall(GO)
        except (OSError, ValueError):
            return None  # no server, or the child is gone before it started: nothing was printed
        return _follow(connection, reader, child["pid"], lost)


def _send_request(connection: socket.socket, argv: list[str], key: str) -> None:
    """Arguments, environment, umask and stream encodings as JSON, with descriptors 0, 1, 2 and
    one of the current folder."""
    umask = os.umask(0)
    os.umask(umask)
    streams = {name: [getattr(sys, name).encoding, getattr(sys, name).errors] for name in ("stdin", "stdout", "stderr")}
    data = json.dumps({"key": key, "identity": identity(), "argv": argv, "env": dict(os.environ), "umask": umask,
                       "streams": streams}).encode()
    folder = os.open(".", os.O_RDONLY)
    try:
        socket.send_fds(connection, [LENGTH.pack(len(data)) + data], [0, 1, 2, folder])
    finally:
        os.close(folder)


def _read_message(reader) -> object:
    """One JSON line from the server (None at the end of the connection)."""
    line = reader.readline(MAX_REQUEST)
    return json.loads(line) if line else None


def _follow(connection: socket.socket, reader, pid: int, lost: Callable[[], str]) -> int:
    """Wait for the child's exit code (a line on `reader`), passing Ctrl-C (and a terminal
    closed or a kill) on."""

    def relay(signum: int, _frame) -> None:
        try:
            os.kill(pid, signal.SIGINT)
        except OSError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, relay)
    connection.settimeout(None)
    try:
        message = _read_message(reader)
    except (OSError, ValueError):
        message = None
    if isinstance(message, dict) and isinstance(message.get("exit"), int):
        return message["exit"]
    print(lost(), file=sys.stderr)
    return 1


def start_server() -> None:
    """Start a server in the background for the next runs, unless one is listening (it stops
    by itself after ten idle minutes, or when the kit's code changes)."""
    folder = private_folder()
    if folder is None:
        return
    address = Address(folder)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(address.socket)
        return  # one is there
    except OSError:
        pass
    finally:
        probe.close()
    import subprocess

    subprocess.Popen([sys.executable, "-c", "from autograder.cli import serve; serve()"], cwd="/",
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)
