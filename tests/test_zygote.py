"""The zygote that `grade batch` uses at the namespaces level: workers forked one submission after
another from a process that loaded NumPy and torch once.

What must hold: a report made through the zygote is the one a sandbox of its own makes (hangs
and crashes included); nothing one submission's code leaves behind (a process, a file in its
folder, a SysV segment, a locked folder) is there for the next one; a submission that kills
the zygote costs only itself; a zygote serves one submission at a time, and only submissions in
a folder its workers cannot see. The attacks of `test_isolation` also run through a zygote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import UNHOOKED, fast_kit, make_submission, mutate

from autograder.grading.runner import grade
from autograder.i18n import Translator
from autograder.instructor.batch.worker import Grader
from autograder.sandbox import isolation
from autograder.sandbox.client import Crashed, Sandbox, TimedOut
from autograder.sandbox.isolation import Level, SandboxError
from autograder.sandbox.zygote_client import Zygote
from autograder.ui.json_report import report_to_json

pytestmark = pytest.mark.skipif(isolation.unavailable(Level.NAMESPACES) is not None,
                                reason="the zygote runs at the namespaces level only, which this machine lacks")

PROBE = UNHOOKED + '''

def look():
    """What this worker finds of others: its folder, the processes it can see, SysV objects."""
    import os
    processes = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) not in (1, os.getpid(), os.getppid()):
            try:
                processes[pid] = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode()
            except OSError:
                pass
    ipc = {table: open(f"/proc/sysvipc/{table}").read().splitlines()[1:] for table in ("shm", "sem", "msg")}
    return {"folder": sorted(os.listdir(".")), "processes": processes, "ipc": ipc}


def leave():
    """Leave everything it can behind: a file, a folder it locked, a process in a session of its
    own, a SysV segment, a semaphore set and a message queue."""
    import os
    open("left.txt", "w").write("the last submission was here")
    os.mkdir("locked")
    open("locked/inside.txt", "w").write("locked in")
    unhooked("import os; os.chmod('locked', 0)")
    unhooked(
        "import ctypes, time\\n"
        "libc = ctypes.CDLL(None)\\n"
        "libc.shmget(0x5eed, 4096, 0o1666); libc.semget(0x5eed, 1, 0o1666); libc.msgget(0x5eed, 0o1666)\\n"
        "time.sleep(0.1)")
    unhooked("import os, time\\nos.setsid()\\nwhile True:\\n    open('lingering.txt', 'a').write('.'); time.sleep(0.05)",
             wait=False)
    import time
    time.sleep(0.3)
    return look()


def end_the_zygote():
    import os
    return unhooked(f"import os, signal; os.kill({os.getppid()}, signal.SIGKILL)")


def forever():
    while True:
        pass


def crash():
    import os
    os._exit(3)
'''


@pytest.fixture
def classroom(tmp_path) -> Path:
    """A class folder the zygote hides, with two students' folders holding the probe."""
    for student in ("ann", "ben"):
        make_submission(tmp_path / "class" / student, {"probe.py": PROBE})
    return tmp_path / "class"


@pytest.fixture
def zygote(kit, classroom):
    zygote = Zygote.for_kit(fast_kit(kit, 2.0), hidden=[classroom])
    zygote.start()
    yield zygote
    zygote.close()


def call(zygote: Zygote, folder: Path, function: str):
    with Sandbox(folder, zygote=zygote) as sandbox:
        return sandbox.call("probe", function).value


def test_nothing_of_one_submission_is_left_for_the_next(zygote, classroom):
    left = call(zygote, classroom / "ann", "leave")
    # The probe sees what a submission leaves while it runs (so the next check can fail)...
    assert {"left.txt", "locked", "lingering.txt"} <= set(left["folder"])
    assert any("lingering.txt" in command for command in left["processes"].values())
    assert all(left["ipc"][table] for table in ("shm", "sem", "msg")), left["ipc"]
    # ... and the next submission, forked by the same zygote, finds none of it.
    seen = call(zygote, classroom / "ben", "look")
    assert seen == {"folder": [], "processes": {}, "ipc": {"shm": [], "sem": [], "msg": []}}
    assert zygote.starts == 1


def test_a_submission_that_ends_the_zygote_costs_only_itself(zygote, classroom):
    with Sandbox(classroom / "ann", zygote=zygote) as sandbox:
        try:
            sandbox.call("probe", "end_the_zygote")
        except Crashed:  # the worker may go with it
            pass
    assert call(zygote, classroom / "ben", "look")["processes"] == {}
    assert zygote.starts == 2  # a fresh zygote for the next submission


def test_a_hang_and_a_crash_cost_one_call_and_the_next_gets_a_fresh_worker(zygote, classroom):
    with Sandbox(classroom / "ann", zygote=zygote) as sandbox:
        with pytest.raises(TimedOut):
            sandbox.call("probe", "forever")
        assert sandbox.call("probe", "look").value["processes"] == {}
        with pytest.raises(Crashed) as crashed:
            sandbox.call("probe", "crash")
        assert crashed.value.detail["returncode"] == 3
        assert sandbox.call("probe", "look").value["folder"] == []


def test_one_submission_at_a_time_and_only_a_hidden_one(zygote, classroom, tmp_path):
    with Sandbox(classroom / "ann", zygote=zygote):
        with pytest.raises(SandboxError, match="one submission at a time"):
            Sandbox(classroom / "ben", zygote=zygote)
    with Sandbox(classroom / "ben", zygote=zygote):  # released: the next one is served
        pass
    outside = make_submission(tmp_path / "elsewhere")
    with pytest.raises(SandboxError, match="not in a folder the zygote hides"):
        Sandbox(outside, zygote=zygote)


BROKEN = {
    "a right submission": {},
    "a known mistake": {"batchnorm.py": mutate("batchnorm.py", "x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps")},
    "a syntax error": {"dropout.py": "def dropout_forward(x, p, mode, rng=None):\n    return x +\n"},
    "a hang and a crash": {"optim.py": mutate("optim.py", "def sgd_step(", "def _sgd_step(")
                           + "\n\ndef sgd_step(param, *args, **kwargs):\n    if param.ndim == 1:\n"
                             "        while True:\n            pass\n    import os\n    os._exit(1)\n"},
    "a PyTorch model left in training mode": {"torch_model.py": mutate("torch_model.py", "    model.eval()\n", "")},
}


def shown(report, kit) -> str:
    data = report_to_json(report, kit.course, Translator("en"))
    data.pop("duration_seconds")
    return json.dumps(data, sort_keys=True)


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_report_through_the_zygote_is_the_sandboxs_own(kit, reference, classroom, case):
    kit = fast_kit(kit, 2.0)
    folder = make_submission(classroom / "cat", BROKEN[case])
    own = grade(kit, folder, reference=reference, sandbox=Sandbox.for_kit(kit, folder, hidden=[classroom]))
    grader = Grader(kit, "en")
    job = {"folder": str(folder), "hidden": [str(classroom)]}
    sandbox = grader.sandbox(job)
    assert sandbox.zygote is not None
    try:
        forked = grade(kit, folder, reference=reference, sandbox=sandbox,
                       make_sandbox=lambda allowed: grader.sandbox(job, allowed))
    finally:
        sandbox.close()
        grader.close()
    assert shown(forked, kit) == shown(own, kit)
    if case != "a right submission":
        assert forked.score < forked.max_score


def test_without_a_zygote_each_submission_gets_a_sandbox_of_its_own(kit, classroom, monkeypatch):
    def refuse(self):
        raise SandboxError("no zygote today")

    monkeypatch.setattr(Zygote, "start", refuse)
    grader = Grader(kit, "en")
    sandbox = grader.sandbox({"folder": str(classroom / "ann"), "hidden": [str(classroom)]})
    try:
        assert sandbox.zygote is None and sandbox.call("probe", "look").value["processes"] == {}
    finally:
        sandbox.close()
        grader.close()
    assert grader.zygotes is None  # not tried again for every submission


def test_below_the_namespaces_level_there_is_no_zygote(kit, classroom, monkeypatch):
    monkeypatch.setenv(isolation.CAP_VARIABLE, "landlock")
    assert not Zygote.available()
    with pytest.raises(SandboxError, match="needs the namespaces level"):
        Zygote.for_kit(kit, hidden=[classroom]).start()
