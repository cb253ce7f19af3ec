"""The warm server (`autograder.ui.warm_server`): in a terminal, `grade` is run by a child of a
server that has the kit loaded, with the same output, exit code, language, folder and Ctrl-C
as a run of its own; it is used only where it should be and declines what it must."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import pexpect
import psutil
import pytest
from support import copy_kit, mutate

from autograder.ui import warm_client, warm_server

GRADE = Path(sys.executable).with_name("grade")
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")
PROGRESS = re.compile(r"\x1b\[\?25l.*?\x1b\[\?25h", re.DOTALL)  # the transient bar, drawn only in slower runs
WRONG_VARIANCE = ("inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)", "inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=1) + eps)")
HANG = "\n\ndef dropout_forward(x, p=0.5, rng=None, train=True):\n    while True:\n        pass\n"
pytestmark = pytest.mark.skipif(not warm_client.supported(), reason="no Unix sockets passing descriptors here")


@pytest.fixture
def kit_copy(tmp_path, reference, solutions_report):
    """A private kit (its expected values already computed) and the environment of a terminal
    session with the server allowed, its socket in a private runtime folder."""
    course = copy_kit(tmp_path / "kit")
    shutil.copytree(reference.cache_dir, tmp_path / "state" / "cache")
    runtime = Path(tempfile.mkdtemp(prefix="g"))  # short: a socket path has at most 107 bytes
    env = {**os.environ, "GRADE_STATE_DIR": str(tmp_path / "state"), "TERM": "xterm", "XDG_RUNTIME_DIR": str(runtime)}
    for name in ("GRADE_SERVER", "GRADE_LANG"):
        env.pop(name, None)
    yield course.parent, env
    server = server_pid(runtime)
    if server is not None:
        psutil.Process(server).kill()
        psutil.Process(server).wait(10)
    shutil.rmtree(runtime, ignore_errors=True)


def server_pid(runtime: Path) -> int | None:
    locks = list((runtime / "grade").glob("*.lock"))
    text = locks[0].read_text() if locks else ""
    return int(text) if text.isdigit() and psutil.pid_exists(int(text)) else None


def started_server(env: dict) -> int:
    """The pid of the server that the first run in a terminal leaves behind, once it is ready
    (its key written, after its imports)."""
    folder = Path(env["XDG_RUNTIME_DIR"]) / "grade"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if list(folder.glob("*.key")) and server_pid(Path(env["XDG_RUNTIME_DIR"])):
            return server_pid(Path(env["XDG_RUNTIME_DIR"]))
        time.sleep(0.05)
    raise AssertionError("no server started")


def grade(args: list[str], env: dict, cwd: Path, server: int | None = None) -> tuple[str, int, bool]:
    """Output (without colours and timings), exit code, and whether a child of `server` ran it."""
    child = pexpect.spawn(str(GRADE), args, cwd=str(cwd), env=env, encoding="utf-8", timeout=90, dimensions=(40, 80))
    served, chunks = False, []
    while True:
        if server is not None and not served:
            served = bool(psutil.Process(server).children())
        try:
            chunks.append(child.read_nonblocking(1 << 16, timeout=0.005))
        except pexpect.TIMEOUT:
            continue
        except pexpect.EOF:
            break
    output = "".join(chunks)
    child.close()
    return re.sub(r"[0-9.]+ s\b", "", ANSI.sub("", PROGRESS.sub("", output))), child.exitstatus, served


def test_a_served_run_prints_and_exits_as_a_run_of_its_own(kit_copy):
    kit, env = kit_copy
    (kit / "exercises" / "batchnorm.py").write_text(mutate("batchnorm.py", *WRONG_VARIANCE))
    grade(["bn_sgd_step"], env, kit / "exercises")  # the first run starts the server
    server = started_server(env)
    spanish = {**env, "LANG": "es_ES.UTF-8", "GRADE_LANG": "es"}
    args = ["bn_forward", "--submission", "."]  # relative: the client's folder counts
    served_output, served_code, served = grade(args, spanish, kit / "exercises", server)
    own_output, own_code, _ = grade(args, {**spanish, "GRADE_SERVER": "off"}, kit / "exercises")
    assert served, "the run did not go through the server"
    assert served_code == own_code == 1
    assert "varianza insesgada" in served_output
    assert served_output == own_output


def test_ctrl_c_and_a_lost_client_end_the_run(kit_copy):
    """Ctrl-C ends a run of its own or a served one alike (exit 130, one line, no traceback: pytest
    catches the interrupt first); a served run whose client is killed ends too, worker and all."""
    kit, env = kit_copy
    grade([], env, kit / "exercises")
    server = started_server(env)
    (kit / "exercises" / "dropout.py").write_text((kit / "solutions" / "dropout.py").read_text() + HANG)
    for stop, served in (("ctrl-c", False), ("ctrl-c", True), ("kill", True)):
        child = pexpect.spawn(str(GRADE), ["dropout"], cwd=str(kit), encoding="utf-8", timeout=30, dimensions=(40, 80),
                              env=env if served else {**env, "GRADE_SERVER": "off"})
        deadline = time.monotonic() + 20
        while served and not psutil.Process(server).children() and time.monotonic() < deadline:
            time.sleep(0.01)
        runs = psutil.Process(server).children()
        assert bool(runs) is served
        time.sleep(1.0)  # the worker is in the endless loop now
        if stop == "ctrl-c":
            child.sendintr()
            child.expect(pexpect.EOF)
            child.close()
            assert child.exitstatus == 130
            assert ANSI.sub("", child.before).strip().splitlines()[-1].endswith("grade: interrupted.")
            assert "Traceback" not in child.before
        else:
            os.kill(child.pid, signal.SIGKILL)
        _, alive = psutil.wait_procs(runs, timeout=3)  # before the 5 s time limit ends it
        assert not alive, f"{stop}: the served run went on"
        assert not psutil.Process(server).children(recursive=True), f"{stop}: its worker was left"


def test_not_in_a_pipe_nor_when_off_nor_for_subcommands(kit_copy):
    kit, env = kit_copy
    import subprocess

    subprocess.run([str(GRADE)], cwd=kit, env=env, capture_output=True, check=False)
    grade([], {**env, "GRADE_SERVER": "off"}, kit)
    grade(["list"], env, kit)
    time.sleep(1.5)
    assert server_pid(Path(env["XDG_RUNTIME_DIR"])) is None


def test_a_stale_server_a_wrong_key_or_another_kit_is_declined():
    """Declined in the server's loop, before anything is forked (tested in this process)."""
    ran, now = [], warm_server.code_signature()
    for key, identity, signature, message, goes_on in (
            ("wrong", warm_client.identity(), now, "key", True),
            ("wröng", warm_client.identity(), now, "key", True),
            ("right", "another Python or copy of the kit", now, "key", True),
            ("right", warm_client.identity(), [("changed", 0, 0)], "stale", False)):
        client, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with client, server_end, open(os.devnull) as null:
            data = json.dumps({"key": key, "identity": identity, "argv": [], "env": {}, "umask": 0o22}).encode()
            socket.send_fds(client, [warm_client.LENGTH.pack(len(data)) + data], [null.fileno()] * 4)
            assert warm_server._serve_one(server_end, [], "right", signature, ran.append) is goes_on
            assert json.loads(client.makefile().readline()) == {"declined": message}
    for garbage in (b"not json", b"[" * 100_000, b""):
        client, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with client, server_end, open(os.devnull) as null:
            socket.send_fds(client, [warm_client.LENGTH.pack(len(garbage)) + garbage], [null.fileno()] * 4)
            client.shutdown(socket.SHUT_WR)
            assert warm_server._serve_one(server_end, [], "right", now, ran.append) is True
    assert not ran


def test_a_client_that_gave_up_gets_no_second_run(kit_copy):
    """A client that timed out grades on its own, even if the child's pid had just arrived: the
    child must then print nothing (here: the pid arrives, the connection is closed unread)."""
    kit, env = kit_copy
    grade([], env, kit)
    server = started_server(env)
    address = warm_client.Address(str(Path(env["XDG_RUNTIME_DIR"]) / "grade"))
    read_end, write_end = os.pipe()
    data = json.dumps({"key": Path(address.key).read_text(), "identity": warm_client.identity(), "argv": [],
                       "env": env, "umask": 0o22}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(address.socket)
        socket.send_fds(client, [warm_client.LENGTH.pack(len(data)) + data], [write_end, write_end, write_end, read_end])
        assert select.select([client], [], [], 10)[0]  # the pid is there, unread
    os.close(write_end)
    deadline = time.monotonic() + 5
    while psutil.Process(server).children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not psutil.Process(server).children()
    assert os.read(read_end, 1 << 16) == b""  # every writer closed, nothing written
    os.close(read_end)


def test_the_server_leaves_when_its_socket_is_removed(kit_copy):
    kit, env = kit_copy
    grade([], env, kit)
    server = started_server(env)
    for sock in (Path(env["XDG_RUNTIME_DIR"]) / "grade").glob("*.sock"):
        sock.unlink()
    psutil.Process(server).wait(5)


def test_the_folder_must_be_private(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert warm_client.private_folder() == str(tmp_path / "grade")
    (tmp_path / "grade").chmod(0o755)
    assert warm_client.private_folder() is None
