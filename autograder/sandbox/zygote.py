"""The zygote: a worker that loads NumPy (and an exercise's allowed libraries, torch) once, then
forks one worker per submission inside its own walls.

`autograder.sandbox.zygote_client` starts it at the ``namespaces`` level only, like a worker
(``python -I -S -B -u``, from the copy of the worker's modules, in a bubblewrap view of its own)
with one argument, CONTROL_FD: a ``SOCK_SEQPACKET`` socket to the grader. It never runs student
code itself. Messages (JSON, one per packet)::

    → {"preload": [names]}              first: import these, then answer {"ok": true}
    → {"op": "spawn"} + 3 descriptors   fork a worker on (requests, answers, output): it runs
                                        `worker.main` on the two pipes, with its output in the
                                        capture file; answer {"pid"} + the child's pidfd
    → {"op": "wait"}                    wait for the worker to end (the grader killed it or saw
                                        its pidfd readable), clean up after it, answer {"status"}

One worker at a time. Before the next one starts, nothing of the last is left: after it ends,
every other process of the PID namespace is killed (whatever it started), the SysV IPC objects
it made are removed and the scratch tmpfs (every worker's current folder) is emptied. If any
of that fails, the zygote ends itself (the grader starts a new one, in a new namespace). Each
worker is forked from the zygote as it was after its imports, so no memory of one reaches
the next, and the control socket is closed in it before any student code runs. The zygote is
not dumpable: a worker (same user, no capability) cannot ptrace it or open its memory.

Only the standard library and `worker` (with what it imports) are imported here.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import importlib
import json
import os
import shutil
import signal
import socket
import stat
import sys

from autograder.sandbox import worker

PACKET = 64 * 1024
IPC_RMID = 0
IPC_TABLES = (("shm", "shmctl"), ("sem", "semctl"), ("msg", "msgctl"))


def main(argv: list[str]) -> None:
    worker.die_with_parent()
    _not_dumpable()
    control = socket.socket(fileno=int(argv[1]))
    try:
        settings, _ = receive(control)
    except EOFError:
        return
    for name in ["numpy.random", *settings.get("preload", [])]:  # what each worker imports at its start
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - each worker's own import will say what is wrong
            pass
    gc.collect()
    gc.freeze()  # forked workers do not copy these pages by collecting them
    send(control, {"ok": True, "pid": os.getpid()})
    serve(control)


def serve(control: socket.socket) -> None:
    child: int | None = None
    while True:
        try:
            message, fds = receive(control)
        except EOFError:
            return
        if message.get("op") == "spawn" and len(fds) == 3:
            if child is not None:  # the grader always waits first; never two workers at once
                os.kill(child, signal.SIGKILL)
                clean_up(child)
            child = fork_worker(control, *fds)
            pidfd = os.pidfd_open(child)
            send(control, {"pid": child}, [pidfd])
            os.close(pidfd)
        elif message.get("op") == "wait":
            status = clean_up(child) if child is not None else None
            child = None
            send(control, {"status": status})
        else:
            for fd in fds:
                os.close(fd)
            send(control, {"error": f"unknown request {message.get('op')!r}"})


def fork_worker(control: socket.socket, requests: int, answers: int, output: int) -> int:
    """Fork a worker serving `requests`/`answers`, printing into `output`; its pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            control.close()
            os.setsid()
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.close(output)
            worker.main(["worker", str(requests), str(answers)])
            code = 0
        finally:
            os._exit(code)
    for fd in (requests, answers, output):
        os.close(fd)
    return pid


def clean_up(child: int) -> int:
    """Wait for `child`, kill and reap whatever is left in the PID namespace, remove the SysV
    IPC objects and empty the scratch folder; the child's exit status (negative: signal)."""
    _, status = os.waitpid(child, 0)
    try:
        os.kill(-1, signal.SIGKILL)  # every process this one may signal, but init and itself
    except ProcessLookupError:
        pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break
    remove_ipc()
    empty(os.getcwd())
    return os.waitstatus_to_exitcode(status)


def remove_ipc() -> None:
    """Remove every SysV shared-memory segment, semaphore set and message queue of this IPC
    namespace (listed in /proc/sysvipc)."""
    libc = _libc()
    if libc is None:
        return
    for table, function in IPC_TABLES:
        try:
            with open(f"/proc/sysvipc/{table}") as listing:
                rows = listing.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 1 and fields[1].isdigit():
                ident = int(fields[1])
                if function == "semctl":
                    libc.semctl(ident, 0, IPC_RMID)
                else:
                    getattr(libc, function)(ident, IPC_RMID, None)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library (loaded once: the zygote cleans up after every worker)."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def empty(folder: str) -> None:
    """Remove everything in `folder`, whatever permissions a worker gave it and its folders."""
    os.chmod(folder, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    for root, folders, _ in os.walk(folder):  # top-down: each folder opened before it is entered
        for name in folders:
            try:
                os.chmod(os.path.join(root, name), stat.S_IRWXU, follow_symlinks=False)
            except (OSError, NotImplementedError):  # a link: removed, never followed
                pass
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def send(control: socket.socket, message: dict, fds: list[int] = ()) -> None:
    socket.send_fds(control, [json.dumps(message).encode()], list(fds))


def receive(control: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(control, PACKET, 8)
    if not data:
        raise EOFError
    return json.loads(data), fds


def _not_dumpable() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    main(sys.argv)
