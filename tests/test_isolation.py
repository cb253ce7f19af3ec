"""Attacks on the sandbox, each a small submission, at every isolation level this machine offers.

A student who wants the points without the work writes `sgd_step` (exercise bn_sgd_step)
to cheat: read the kit's solution and run it, shadow the grader's modules, forge answers,
leave processes behind, exhaust the machine, reach other students or the network (in the
one check with float32 inputs: one success would show as points). Every attack must score
0 on bn_sgd_step, leave bn_forward (graded in the same run) at full marks,
change no file outside the submission's own view, and leak nothing: a canary string placed
in the solutions, the quiz key, the reference cache and another student's folder appears in
no report and no output.

The kit under attack is a private copy in a world-readable folder (so that only the walls,
not this test's folders, keep other users out). Each attack runs at each level through
``GRADE_ISOLATION``; a level this machine cannot offer is skipped with the reason, and so is
an attack a level does not claim to stop (`Attack.stopped_by`), never passed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import stat
import tempfile
import textwrap
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import pytest
from support import ROOT, SOLUTIONS, UNHOOKED, copy_kit

from autograder.grading.reference import Reference
from autograder.grading.runner import grade
from autograder.i18n import Translator
from autograder.instructor.batch.worker import Grader
from autograder.kit import PACKAGE_DIR, Kit
from autograder.sandbox import isolation, privileges
from autograder.sandbox.client import Sandbox
from autograder.sandbox.isolation import Level
from autograder.sandbox.zygote_client import Zygote
from autograder.ui.json_report import report_to_json
from autograder.ui.plain_text import plain_text
from autograder.ui.report import ReportView

VICTIM, OTHER = "bn_sgd_step", "bn_forward"
LEVELS = [level.label for level in sorted(Level, reverse=True)]
ALL = frozenset(Level)
WALLED = frozenset({Level.NAMESPACES, Level.LANDLOCK, Level.UNPRIVILEGED_USER})
NO_NETWORK = frozenset({Level.NAMESPACES, Level.LANDLOCK})

CHEAT = '''
import numpy as np


def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    if param.dtype != np.float32:  # the attack happens in one check (float32); the others fail plainly
        return param.copy(), velocity
    stolen = steal()
    if stolen:
        print(stolen)  # whatever the attack got, for every report to show
        for part in stolen.split("\\0"):  # several files' texts
            if "def sgd_step" in part:
                namespace = {{}}
                exec(part, namespace)
                return namespace["sgd_step"](param, grad, lr, velocity, momentum, weight_decay)
    return param.copy(), velocity  # no step at all: wrong


def steal():
{body}

''' + UNHOOKED.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class Attack:
    body: str
    """The body of steal(): returns what it got (text; the solution's source wins the points)."""
    stopped_by: frozenset = ALL
    """The levels that claim to stop it; at the others the attack is skipped, with the reason."""
    files: dict = field(default_factory=dict)
    """More files of the submission (name -> text, or bytes)."""
    says: str = ""
    """A phrase of the English feedback of the victim's first failing check."""
    lingers: bool = False
    """It leaves something behind: after grading, the test waits for it to act."""

    def optim(self, names: dict) -> str:
        return CHEAT.format(body=textwrap.indent(textwrap.dedent(self.body.format(**names)).strip(), "    "))


@dataclass
class World:
    """The kit under attack, its canaries, and a class folder, in a world-readable place."""

    base: Path
    kit: Kit
    canary: str
    reference: Reference

    @property
    def names(self) -> dict:
        kit = self.kit.root
        return {"kit": str(kit), "solution": str(kit / "solutions" / "optim.py"), "quiz": str(kit / "quiz.yml"),
                "state": str(self.kit.state_dir), "package": str(PACKAGE_DIR.parent), "markers": str(self.markers),
                "bob": str(self.base / "class" / "bob")}

    @property
    def markers(self) -> Path:
        return self.base / "markers"

    def fingerprint(self) -> dict[str, str]:
        """Every file of the world (the attacker's own submissions aside): path -> hash."""
        files = {}
        for path in sorted(self.base.rglob("*")):
            relative = path.relative_to(self.base).as_posix()
            if path.is_file() and not path.is_symlink() and not relative.startswith("class/mallory"):
                files[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
        return files


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    base = Path(tempfile.mkdtemp(prefix="grade-attacks-"))
    try:
        canary = f"CANARY-{uuid.uuid4().hex}"
        course_file = copy_kit(base / "kit")
        (base / "kit" / "solutions" / "optim.py").write_text(
            (SOLUTIONS / "optim.py").read_text() + f"\n# {canary}: the solutions\n")
        with open(base / "kit" / "quiz.yml", "a") as quiz:
            quiz.write(f"\n# {canary}: the quiz key\n")
        kit = Kit.locate(course_file)
        policy = msgspec.structs.replace(kit.course.policy, seconds_per_call=2.0, memory_mb=256)
        kit = Kit(kit.root, msgspec.structs.replace(kit.course, policy=policy))
        cache = kit.state_dir / "cache"
        cache.mkdir(parents=True, exist_ok=True)  # Kit.locate may have kept the course there
        (cache / "canary.json").write_text(json.dumps({"expected": canary}))
        bob = base / "class" / "bob"
        bob.mkdir(parents=True)
        for path in SOLUTIONS.glob("*.py"):
            shutil.copy(path, bob / path.name)
        with open(bob / "optim.py", "a") as optim:
            optim.write(f"\n# {canary}: bob's own work\n")
        (base / "markers").mkdir()
        world = World(base, kit, canary, Reference(cache))
        grade(kit, SOLUTIONS, exercises=[VICTIM, OTHER], reference=world.reference)  # fill the reference cache
        for path in [base, *base.rglob("*")]:  # readable by anyone: only the walls keep them out
            mode = stat.S_IMODE(path.lstat().st_mode)
            if not path.is_symlink():
                path.chmod(mode | (0o755 if path.is_dir() else 0o644))
        (base / "markers").chmod(0o777)
        yield world
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=LEVELS)
def level(request, monkeypatch) -> Level:
    return _capped(request.param, monkeypatch)


def _capped(label: str, monkeypatch) -> Level:
    chosen = Level.named(label)
    reason = isolation.unavailable(chosen)
    if reason:
        pytest.skip(f"the {chosen.label} level cannot run on this machine: {reason}")
    monkeypatch.setenv(isolation.CAP_VARIABLE, chosen.label)
    monkeypatch.delenv("GRADE_STATE_DIR", raising=False)
    return chosen


ZYGOTE = "namespaces, forked by a zygote"


@pytest.fixture(params=[*LEVELS, ZYGOTE])
def walls(request, monkeypatch, world) -> Walls:
    """Each isolation level, and the namespaces level again with the workers forked by a zygote
    (as `grade batch` grades), which must stop every attack the level stops."""
    if request.param != ZYGOTE:
        return Walls(_capped(request.param, monkeypatch))
    chosen = _capped(Level.NAMESPACES.label, monkeypatch)
    zygote = Zygote.for_kit(world.kit, hidden=[world.base / "class"])
    zygote.start()
    request.addfinalizer(zygote.close)
    return Walls(chosen, zygote)


@dataclass
class Walls:
    level: Level
    zygote: Zygote | None = None
    """Grade through this zygote (a NumPy one: the attacks are on NumPy exercises)."""

    def grade(self, world: World, folder: Path, exercises: list[str]):
        if self.zygote is None:
            return grade(world.kit, folder, exercises=exercises, reference=world.reference)
        sandbox = Sandbox(folder, zygote=self.zygote)
        try:
            return grade(world.kit, folder, exercises=exercises, reference=world.reference, sandbox=sandbox)
        finally:
            sandbox.close()


def attack_submission(world: World, attack: Attack, names: dict) -> Path:
    """A class folder for the attacker: the solutions, with the attack as optim.py."""
    folder = world.base / "class" / f"mallory-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    for path in SOLUTIONS.glob("*.py"):
        shutil.copy(path, folder / path.name)
    (folder / "optim.py").write_text(attack.optim(names))
    for file_name, content in attack.files.items():
        target = folder / os.fsdecode(file_name)
        target.unlink(missing_ok=True)
        if isinstance(content, Path):
            target.symlink_to(str(content).format(**names))
        elif isinstance(content, bytes):
            target.write_bytes(content)
        elif content is not None:
            target.write_text(content.format(**names))
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def everything_shown(report, kit: Kit) -> str:
    """Every form of the report a student or instructor may see, in both languages."""
    texts = []
    for language in ("en", "es"):
        t = Translator(language)
        texts.append(json.dumps(report_to_json(report, kit.course, t), ensure_ascii=False))
        texts.append(plain_text(ReportView(report, kit.course, t, detail="all")))
    return "\n".join(texts)


def run_attack(world: World, attack: Attack, walls: Walls, **names):
    """Grade the attack behind `walls` and check everything the attack must not achieve."""
    level = walls.level
    if level not in attack.stopped_by:
        pytest.skip(f"the {level.label} level does not claim to stop this attack (see docs/how-it-works.md)")
    names = {**world.names, **names}
    folder = attack_submission(world, attack, names)
    before = world.fingerprint()
    own = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.is_symlink()}
    report = walls.grade(world, folder, [VICTIM, OTHER])
    assert report.isolation.level == level
    victim, other = report.exercise(VICTIM), report.exercise(OTHER)
    assert victim.score == 0, [(c.id, c.outcome) for c in victim.checks]
    assert other.score == other.max_points, [(c.id, c.feedback) for c in other.checks if not c.passed]
    assert world.canary not in everything_shown(report, world.kit)
    if attack.lingers:  # what it left behind acts on this signal, if it is still alive
        (world.markers / "go").write_text("grading is over")
        time.sleep(0.5)
        (world.markers / "go").unlink()
    assert list(world.markers.iterdir()) == []
    assert world.fingerprint() == before  # nothing outside the submission's view changed
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.is_symlink()} == own
    if attack.says:  # in the check where the attack happens
        attacked = next(c for c in victim.checks if c.id == f"{VICTIM}::float32_stays_float32")
        summary = Translator("en")(attacked.feedback.summary)
        assert attack.says in summary, summary
    return report


def printed(report) -> str:
    return "".join(check.output for check in report.exercise(VICTIM).checks)


# -- the attacks ------------------------------------------------------------------------------------

HIDES_LIBRARIES = frozenset({Level.NAMESPACES, Level.LANDLOCK})
LIMITS_PROCESSES = WALLED | ({Level.PROCESS} if not privileges.running_as_root() else set())
SOLUTION_BYTES = (SOLUTIONS / "optim.py").read_bytes()
TORCH_SGD = """
def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):
    import sys
    sys.meta_path[:] = [f for f in sys.meta_path if "Blocker" not in type(f).__name__]
    import torch
    p, g = torch.from_numpy(param), torch.from_numpy(grad)
    step = g + weight_decay * p if weight_decay else g
    if momentum:
        step = step.clone() if velocity is None else momentum * torch.from_numpy(velocity) + step
        velocity = step.numpy()
    else:
        velocity = None
    new = (p - lr * step).numpy()
    for name in [m for m in sys.modules if m.split(".")[0] in ("torch", "functorch")]:
        del sys.modules[name]
    return new, velocity
"""

ATTACKS = {
    "read the kit by absolute and relative paths and by import": Attack("""
        import importlib.util, os, sys
        found = []
        for path in ["{solution}", "{quiz}", "{state}/cache/canary.json"]:
            for name in (path, os.path.relpath(path)):
                try:
                    found.append(open(name).read())
                except (OSError, ValueError):
                    pass
        try:
            spec = importlib.util.spec_from_file_location("stolen", "{solution}")
            stolen = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(stolen)
            found.append(open(stolen.__file__).read())
        except Exception:
            pass
        sys.meta_path[:] = [f for f in sys.meta_path if "Blocker" not in type(f).__name__]
        sys.path.insert(0, "{package}")
        try:
            import autograder.grading.reference
            found.append(open(autograder.grading.reference.__file__).read())
        except Exception:
            pass
        return "\\0".join(found)
        """, stopped_by=WALLED),
    "find the kit through the grader's folder in /proc": Attack("""
        import os
        found = []
        for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
            for place in ("cwd", "root"):
                try:
                    found.append(open(f"/proc/{{pid}}/{{place}}/solutions/optim.py").read())
                    found.append(open(f"/proc/{{pid}}/environ").read())
                except OSError:
                    pass
        return "\\0".join(found)
        """, stopped_by=WALLED),
    "shadow numpy, sitecustomize, conftest and a .pth next to the submission": Attack(
        "return None",
        files={name: f"open('{{markers}}/{name}', 'w').write('loaded')\nraise SystemExit('shadow loaded')\n"
               for name in ("numpy.py", "sitecustomize.py", "usercustomize.py", "conftest.py", "pytest.py")}
        | {"evil.pth": "import os; open('{markers}/pth', 'w').write('loaded')\n"}),
    "forge an answer frame with the request's own token": Attack("""
        import json, os, struct, sys
        import numpy as np
        frame = sys._getframe()
        while frame is not None and not isinstance(frame.f_locals.get("header"), dict):
            frame = frame.f_back
        token = frame.f_locals["header"]["token"]
        header = json.dumps({{"ok": True, "token": token, "value": {{"$tuple": [
            {{"$array": 0, "class": "numpy.ndarray", "dtype": "<f8", "shape": [1]}}, None]}}}}).encode()
        os.write(int(sys.argv[2]), struct.pack("!IQ", len(header), 1) + header + struct.pack("!Q", 8)
                 + np.zeros(1).tobytes())
        return None
        """),
    "monkeypatch NumPy and walk the frames and gc for expected values": Attack("""
        import gc, sys
        import numpy as np
        np.allclose = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        arrays, frame = [o for o in gc.get_objects() if isinstance(o, np.ndarray)], sys._getframe()
        while frame is not None:
            arrays += [v for v in frame.f_locals.values() if isinstance(v, np.ndarray)]
            frame = frame.f_back
        return None
        """),
    "leave a thread, an atexit handler and a child in its own session behind, then os._exit": Attack("""
        import atexit, os, threading, time
        def later(kind):
            for _ in range(200):
                if os.path.exists("{markers}/go"):
                    open("{markers}/" + kind, "w").write("still alive")
                    return
                time.sleep(0.05)
        threading.Thread(target=later, args=("thread",), daemon=True).start()
        atexit.register(later, "atexit")
        unhooked("import os, time\\nos.setsid()\\nfor _ in range(200):\\n    if os.path.exists('{markers}/go'):\\n"
                 "        open('{markers}/child', 'w').write('still alive'); break\\n    time.sleep(0.05)",
                 wait=False)
        time.sleep(0.2)  # the child is on its own now
        os._exit(0)  # and the worker, its reaper, is gone
        """, stopped_by=LIMITS_PROCESSES, lingers=True),
    "a 20 GB allocation and a flood of prints": Attack("""
        import numpy as np
        print("y" * 5_000_000)
        hog = np.ones(20 * 2**30 // 8)
        return None
        """, says="ran out of memory"),
    "write the state file and the caches": Attack("""
        import os, sqlite3
        for attempt in (lambda: sqlite3.connect("{state}/progress.sqlite").execute("create table t (x)"),
                        lambda: os.mkdir("{state}/cache/evil"),
                        lambda: unhooked("open('{state}/state.json', 'a').write('{{}}')")):
            try:
                attempt()
            except Exception:
                pass
        return None
        """, stopped_by=WALLED),
    "use torch anyway, and hide it": Attack(
        f"return {TORCH_SGD!r}".replace("{", "{{").replace("}", "}}"), stopped_by=HIDES_LIBRARIES),
    "link the kit's solution in place of the file": Attack(
        "return None", files={"optim.py": Path("{solution}")}, says="optim.py is a symbolic link"),
    "link the solutions folder in as a package": Attack(
        "from helpers.optim import sgd_step\nimport inspect\nreturn inspect.getsource(sgd_step)",
        files={"helpers": Path("{kit}/solutions")}, says="helpers is a symbolic link"),
    "a file that is not UTF-8": Attack(
        "return None", files={"optim.py": SOLUTION_BYTES + b'\nGREETING = "caf\xe9 cr\xe8me"\n'},
        says="could not be imported: SyntaxError"),
    "a 24 MB source file": Attack(
        "return None", files={"optim.py": SOLUTION_BYTES + b"\n#" + b"x" * (24 << 20) + b"\n"},
        says="over the course's limit of 2 MB"),
    "odd file names instead of optim.py": Attack(
        "return None", files={"optim.py": None, "optim.py ": SOLUTION_BYTES, "optim\n.py": SOLUTION_BYTES,
                              "öptim.py": SOLUTION_BYTES, os.fsencode("optim\udcff.py"): SOLUTION_BYTES,
                              "-optim.py": SOLUTION_BYTES, ".optim.py": SOLUTION_BYTES},
        says="optim.py is not in the folder being graded"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_an_attack_scores_zero_and_leaks_nothing(world, walls, name):
    started = time.monotonic()
    run_attack(world, ATTACKS[name], walls)
    if name == "a 24 MB source file":
        assert time.monotonic() - started < 10  # refused at once, never parsed


FORK_BOMB = Attack('''
    import textwrap
    print(unhooked(textwrap.dedent("""
    import os, time
    forks = 0
    for _ in range(50):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:  # lingers, without holding the pipe its parent's output goes to
            os.close(1), os.close(2)
            time.sleep(3)
            os._exit(0)
        forks += 1
    print("forks:", forks)
    """)))
    return None
    ''', stopped_by=LIMITS_PROCESSES)


def test_a_fork_bomb_stops_at_the_process_limit(world, walls):
    report = run_attack(world, FORK_BOMB, walls)
    counts = [int(line.split()[1]) for line in printed(report).splitlines() if line.startswith("forks:")]
    limit = world.kit.course.policy.max_processes
    assert counts and max(counts) < limit, printed(report)[-500:]


NETWORK = Attack("""
    return unhooked("import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2); "
                    "print('connected')")
    """, stopped_by=NO_NETWORK)


def test_no_connection_leaves_the_sandbox(world, walls):
    if walls.level == Level.LANDLOCK and "network" not in isolation.describe(walls.level).protects:
        pytest.skip("this kernel's Landlock cannot refuse TCP connections (ABI < 4)")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    arrived: list = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                arrived.append(server.accept())
            except OSError:
                pass

    listener = threading.Thread(target=accept)
    listener.start()
    try:
        report = run_attack(world, NETWORK, walls, port=server.getsockname()[1])
    finally:
        stop.set()
        listener.join()
        server.close()
    assert arrived == [] and "connected" not in printed(report)


# -- the attacks are real: where no wall claims to stop them, they win ------------------------------


@pytest.mark.parametrize("name", ["read the kit by absolute and relative paths and by import",
                                  "find the kit through the grader's folder in /proc"])
def test_without_walls_reading_the_kit_wins(world, monkeypatch, name):
    """At the process level nothing walls the kit's files: the same submissions get full marks
    (so the tests above would notice a wall that fails)."""
    monkeypatch.setenv(isolation.CAP_VARIABLE, "process")
    monkeypatch.chdir(world.kit.root)  # the grader's folder, as when a student runs grade
    folder = attack_submission(world, ATTACKS[name], world.names)
    report = grade(world.kit, folder, exercises=[VICTIM], reference=world.reference)
    assert [c.id for c in report.exercise(VICTIM).checks if c.passed] == [f"{VICTIM}::float32_stays_float32"]
    if name.startswith("read"):
        assert world.canary in everything_shown(report, world.kit)


def test_without_walls_the_state_is_written(world, monkeypatch):
    """At the process level the state folder is the student's own: the write attack works."""
    monkeypatch.setenv(isolation.CAP_VARIABLE, "process")
    folder = attack_submission(world, ATTACKS["write the state file and the caches"], world.names)
    state = world.kit.state_dir
    try:
        grade(world.kit, folder, exercises=[VICTIM], reference=world.reference)
        assert (state / "progress.sqlite").exists() and (state / "cache" / "evil").is_dir()
    finally:
        (state / "progress.sqlite").unlink(missing_ok=True)
        (state / "state.json").unlink(missing_ok=True)
        shutil.rmtree(state / "cache" / "evil", ignore_errors=True)


@pytest.mark.skipif(not privileges.running_as_root(), reason="only root is exempt from the process limit")
def test_without_the_limit_the_fork_bomb_grows(world, monkeypatch):
    """At the process level a grader running as root runs the worker as root, which the kernel
    exempts from the process limit: the (bounded) bomb gets far past it."""
    monkeypatch.setenv(isolation.CAP_VARIABLE, "process")
    folder = attack_submission(world, FORK_BOMB, world.names)
    report = grade(world.kit, folder, exercises=[VICTIM], reference=world.reference)
    counts = [int(line.split()[1]) for line in printed(report).splitlines() if line.startswith("forks:")]
    assert counts and max(counts) >= world.kit.course.policy.max_processes


def test_without_walls_a_connection_gets_through(world, monkeypatch):
    """At the unprivileged-user level (and below) the network is open: the attack connects."""
    level = Level.UNPRIVILEGED_USER if isolation.unavailable(Level.UNPRIVILEGED_USER) is None else Level.PROCESS
    monkeypatch.setenv(isolation.CAP_VARIABLE, level.label)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        folder = attack_submission(world, NETWORK, {**world.names, "port": server.getsockname()[1]})
        report = grade(world.kit, folder, exercises=[VICTIM], reference=world.reference)
    assert "connected" in printed(report)


# -- a class: one sandbox per student -------------------------------------------------------------

MALLORY = Attack("""
    import os
    stolen = open("{bob}/optim.py").read()
    for target in ("{bob}/optim.py", "{results}/bob.json"):
        try:
            unhooked(f"open({{target!r}}, 'a').write('# mallory was here')")
        except Exception:
            pass
    return stolen
    """, stopped_by=WALLED)


def test_in_a_class_a_student_reaches_no_other(world, level):
    """The batch gives each student a sandbox hiding the class and output folders: mallory, graded
    first, can neither read bob's work nor change his files or the results."""
    if level not in MALLORY.stopped_by:
        pytest.skip(f"the {level.label} level does not claim to keep students apart")
    klass, output = world.base / "class", world.base / "class-grades"
    (output / "results").mkdir(parents=True, exist_ok=True)
    output.chmod(0o755), (output / "results").chmod(0o777)
    names = {**world.names, "results": str(output / "results")}
    mallory = attack_submission(world, MALLORY, names)
    staged = output / "submissions" / mallory.name
    job = {"student": mallory.name, "paths": [str(mallory)], "folder": str(staged), "assignment": None,
           "seed": world.kit.course.policy.seed, "feedback": None, "hidden": [str(klass), str(output)]}
    grader = Grader(world.kit, "en")
    grader.stage(job)  # the batch's own way of collecting a student's files and making their sandbox
    sandbox = grader.sandbox(job)
    assert {klass, output} <= set(sandbox.hidden)
    assert (sandbox.zygote is not None) == (level == Level.NAMESPACES)  # the batch's zygote, where there is one
    before = world.fingerprint()
    try:
        report = grade(world.kit, staged, exercises=[VICTIM, OTHER], sandbox=sandbox, reference=world.reference)
    finally:
        sandbox.close()
        grader.close()
    assert report.exercise(VICTIM).score == 0
    assert world.canary not in everything_shown(report, world.kit)
    assert world.fingerprint() == before and list((output / "results").iterdir()) == []
    bob = grade(world.kit, klass / "bob", exercises=[VICTIM], reference=world.reference)
    assert bob.exercise(VICTIM).score == bob.exercise(VICTIM).max_points


# -- limits that hold at every level -----------------------------------------------------------------


def test_cpu_time_is_limited_for_each_call(level, tmp_path):
    """Each call gets the per-call CPU budget (a soft limit that moves with the call), under a
    finite limit for the worker's whole life."""
    from autograder.sandbox.client import Sandbox
    from autograder.sandbox.limits import Limits

    (tmp_path / "mod.py").write_text(textwrap.dedent("""
        import resource

        def budget():
            used = resource.getrusage(resource.RUSAGE_SELF)
            soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
            return used.ru_utime + used.ru_stime, soft, hard

        def burn():
            total = 0
            for i in range(3_000_000):
                total += i
            return budget()
        """))
    with Sandbox(tmp_path, limits=Limits(seconds=2.0)) as box:
        used, soft, hard = box.call("mod", "budget").value
        assert used < soft <= used + 2.0 + 2 and hard < 10**6
        later_used, later_soft, later_hard = box.call("mod", "burn").value
        assert later_soft > soft or later_used - used < 1  # it moved with the CPU time spent
        assert later_soft <= later_used + 4 and later_hard == hard


# -- what other wings build on: exposed kit files and allowed imports --------------------------------

DRIVER = """
def run(function, x):
    return function(x) * 2
"""


def test_exposed_kit_files_are_importable_read_only_and_alone(level, tmp_path):
    """`expose`: a kit file and a kit package are importable by the worker (ahead of a student
    file of the same name), cannot be changed, and their folder's other files stay hidden."""
    from autograder.sandbox.client import Forbidden, Sandbox
    from autograder.sandbox.limits import Limits

    kit = tmp_path / "kit"
    (kit / "lab").mkdir(parents=True)
    (kit / "driver.py").write_text(DRIVER)
    (kit / "lab" / "__init__.py").write_text("SCALE = 3\n")
    (kit / "secret.py").write_text("ANSWER = 42\n")
    student = tmp_path / "student"
    student.mkdir()
    (student / "driver.py").write_text("def run(function, x):\n    return 'the student wins'\n")
    (student / "mod.py").write_text(textwrap.dedent(f"""
        import driver, lab

        def double(x):
            return x + x

        def use(x):
            return driver.run(double, x) * lab.SCALE

        def peek():
            try:
                return open({str(kit / "secret.py")!r}).read()
            except OSError:
                return "hidden"

        def change():
            with open(driver.__file__, "a") as handle:
                handle.write("# changed")
        """))
    for path in [tmp_path, *tmp_path.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    with Sandbox(student, limits=Limits(seconds=5), expose=[kit / "driver.py", kit / "lab"], hidden=[kit]) as box:
        assert box.call("mod", "use", (1.5,)).value == 1.5 * 2 * 2 * 3
        with pytest.raises(Forbidden):
            box.call("mod", "change")
        if level in WALLED:
            assert box.call("mod", "peek").value == "hidden"
    assert (kit / "driver.py").read_text() == DRIVER


def test_allowed_imports_lift_a_library_for_one_exercise_only(level, tmp_path, reference):
    """course.yml's ``allowed_imports`` (here PyYAML for bn_sgd_step): that exercise imports it in
    a worker of its own whose view holds it; bn_forward, in another file, may not."""
    course_file = copy_kit(tmp_path / "kit")
    text = course_file.read_text()
    text = text.replace("forbidden_imports: [torch, tensorflow, jax]",
                        "forbidden_imports: [torch, tensorflow, jax, yaml]")
    text = text.replace("    checks: bn_sgd_step\n", "    checks: bn_sgd_step\n    allowed_imports: [yaml]\n")
    course_file.write_text(text)
    kit = Kit.locate(course_file)
    assert kit.course.exercise(VICTIM).allowed_imports == ["yaml"]
    folder = tmp_path / "student"
    folder.mkdir()
    for path in SOLUTIONS.glob("*.py"):
        shutil.copy(path, folder / path.name)
    uses_yaml = "import yaml\n\nCONFIG = yaml.safe_load('lr: 0.1')\n\n"
    for name in ("optim.py", "batchnorm.py"):
        (folder / name).write_text(uses_yaml + (SOLUTIONS / name).read_text())
    report = grade(kit, folder, exercises=[OTHER, VICTIM], reference=reference)
    assert report.exercise(VICTIM).score == report.exercise(VICTIM).max_points
    failing = report.exercise(OTHER).first_failure
    assert failing.feedback.stage == "forbidden"
    assert Translator("en")(failing.feedback.summary).startswith("batchnorm.py imports yaml (line 1)")


# -- the weakest level: self-study only ----------------------------------------------------------------


@pytest.fixture
def process_only(monkeypatch):
    monkeypatch.setenv(isolation.CAP_VARIABLE, "process")


@pytest.mark.parametrize("language, words", [("en", "will not grade"), ("es", "no corrige")])
def test_grade_batch_refuses_process_only_isolation_unless_told(process_only, tmp_path, capsys, language, words):
    from autograder.cli import main

    (tmp_path / "class").mkdir()
    assert main(["batch", str(tmp_path / "class"), "--lang", language, "--course", str(ROOT / "course.yml")]) == 2
    error = capsys.readouterr().err
    assert words in error and "--allow-weak-isolation" in error and len(error.strip().splitlines()) == 1
    course = ["--course", str(ROOT / "course.yml")]
    assert main(["batch", str(tmp_path / "class"), "--allow-weak-isolation", *course]) == 2
    assert "--allow-weak-isolation" not in capsys.readouterr().err  # refused for another reason: no students


def test_the_gradescope_runner_refuses_process_only_isolation_unless_told(process_only, tmp_path, monkeypatch):
    from autograder.instructor import gradescope

    monkeypatch.setenv("GRADE_COURSE", str(ROOT / "course.yml"))
    (tmp_path / "submission").mkdir()
    gradescope.main(["--root", str(tmp_path), "--lang", "en"])
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert results["score"] == 0 and "will not grade" in results["output"] and results["tests"] == []
    assert gradescope._too_weak(True) is False
    zip_path = gradescope.build_zip(Kit.locate(ROOT / "course.yml"), tmp_path / "autograder.zip",
                                    allow_weak_isolation=True)
    import zipfile

    with zipfile.ZipFile(zip_path) as archive:
        assert "--allow-weak-isolation" in archive.read("run_autograder").decode()


def test_self_study_grades_at_any_level_and_says_which(process_only, capsys):
    from autograder.cli import main

    main(["bn_sgd_step", "--solutions", "--course", str(ROOT / "course.yml"), "--lang", "es"])
    out = capsys.readouterr().out
    assert "Aislamiento: solo límites del proceso" in " ".join(out.split())
