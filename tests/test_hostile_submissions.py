"""Hostile and broken submissions, graded end to end: each misbehaviour costs only the exercise
whose function misbehaves, with a precise message, and the rest of the report is correct.

Each submission is the reference solutions with one function wrapped in hostile code (so the
tests do not depend on how the solutions are written) or one file broken. Only the affected
exercise and one other are graded, with a short time limit per call, to keep this file fast.
Every run also checks that grading left the submission's files exactly as they were.
"""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pytest
from support import SOLUTIONS, failures, make_submission, mutate

from autograder.grading import runner
from autograder.grading.results import GradeReport
from autograder.grading.runner import grade
from autograder.i18n import Translator
from autograder.kit import Kit

SECONDS = 1.0
VICTIM, OTHER = "bn_forward", "bn_sgd_step"  # batchnorm.py (graded first), optim.py (graded after)
FILE_VICTIM, FILE_OTHER = "bn_sgd_step", "bn_forward"


@pytest.fixture(scope="module", autouse=True)
def no_gc_at_exit():
    """pytest's unraisableexception plugin runs gc.collect() several times when each in-process
    run ends, which costs more than grading two exercises: off, for speed only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "PYTEST_ARGS", [*runner.PYTEST_ARGS, "-p", "no:unraisableexception"])
        yield


@pytest.fixture(scope="module")
def quick_kit(kit) -> Kit:
    """The course with a short time limit and a small memory limit per call."""
    policy = msgspec.structs.replace(kit.course.policy, seconds_per_call=SECONDS, memory_mb=160)
    return Kit(kit.root, msgspec.structs.replace(kit.course, policy=policy))


@pytest.fixture
def run(quick_kit, reference, tmp_path):
    """``run(files, exercises, remove=())``: grade the solutions with some files replaced or
    removed, and check that grading left the submission exactly as it was (no bytecode, no
    file changed, whatever the student's code did)."""

    def grade_folder(files: dict[str, str], exercises: list[str], remove: tuple[str, ...] = ()) -> GradeReport:
        folder = make_submission(tmp_path / "submission", files)
        for name in remove:
            (folder / name).unlink()
        before = snapshot(folder)
        report = grade(quick_kit, folder, exercises=exercises, reference=reference)
        assert snapshot(folder) == before
        return report

    return grade_folder


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path -> SHA-256 of its bytes)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in folder.rglob("*")}


def hostile_forward(body: str, header: str = "", *, once: bool = False) -> str:
    """batchnorm.py whose batchnorm_forward runs `body` first, then the solution (`body` may
    call ``solution(*args, **kwargs)`` itself and return early). With `once`, only the calls
    with a float32 input misbehave (one check of bn_forward makes them; every worker starts
    afresh, so a worker cannot remember that it misbehaved before)."""
    body = textwrap.dedent(body).strip()
    if once:
        body = "if float32_input(args):\n" + textwrap.indent(body, "    ")
    body = textwrap.indent(body, "    ")
    return (SOLUTIONS / "batchnorm.py").read_text() + textwrap.dedent(header) + textwrap.dedent("""

        solution = batchnorm_forward


        def float32_input(args):
            return bool(args) and getattr(args[0], "dtype", None) == np.float32


        def batchnorm_forward(*args, **kwargs):
        {body}
            return solution(*args, **kwargs)
        """).format(body=body)


def english(message) -> str:
    text = Translator("en")(message)
    spanish = Translator("es")(message)
    assert text != message.key and spanish != message.key and spanish != text  # both languages exist
    return text


def assert_only(report: GradeReport, victim: str, stage: str) -> list:
    """`victim` lost points, every failing check of it at `stage` (or at "raises" for a check
    that expects an exception and got another); every other exercise of the report scored full
    marks. Returns the victim's failing checks."""
    failing = [check for check in report.exercise(victim).checks if not check.passed]
    assert failing, f"{victim} should lose points"
    stages = set(failures(report, victim).values())
    assert stage in stages and stages <= {stage, "raises"}, failures(report, victim)
    assert failing[0].feedback.stage == stage
    for exercise in report.exercises:
        if exercise.id != victim:
            assert exercise.status == "passed", (exercise.id, failures(report, exercise.id))
            assert exercise.score == exercise.max_points
    return failing


# -- one hostile function ------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    body: str
    """What batchnorm_forward does before (or instead of) running the solution."""
    stage: str
    """The stage every failing check reports."""
    says: tuple[str, ...]
    """Phrases of the English message."""
    header: str = ""
    """Module-level code the body needs ({marker}: a file that must never be created)."""
    once: bool = False
    """Misbehave in the float32 check only: it fails, the next ones pass in a fresh worker (a
    crash costs a worker restart per call, so this also keeps the file fast)."""
    located: bool = True
    """The feedback points at batchnorm_forward in batchnorm.py."""


HOSTILE = {
    "sys.exit(0)": Hostile("import sys\nsys.exit(0)", "exit",
                           ("batchnorm_forward called sys.exit(0)", "return the result instead")),
    "os._exit(0)": Hostile("import os\nos._exit(0)", "crash",
                           ("batchnorm_forward ended (exit status 0)", "must return its result"),
                           once=True, located=False),
    "segfault via ctypes": Hostile("import ctypes\nctypes.string_at(0)", "crash",
                                   ("batchnorm_forward crashed (SIGSEGV)",), once=True),
    "8 TB array": Hostile("import numpy as np\nhog = np.ones((10**6, 10**6))", "exception",
                          ("batchnorm_forward ran out of memory (MemoryError)",)),
    "slowly growing list": Hostile("import numpy as np\nhog = []\nwhile True:\n    hog.append(np.ones(2**17))",
                                   "exception", ("batchnorm_forward ran out of memory (MemoryError)",), once=True),
    "import torch inside": Hostile("import torch", "forbidden",
                                   ("batchnorm_forward imported torch: ", "NumPy only")),
    "import the kit": Hostile("from autograder import reference", "forbidden",
                              ("batchnorm_forward imported autograder: ",)),
    "import the solutions": Hostile("import solutions.batchnorm", "exception",
                                    ("batchnorm_forward raised ModuleNotFoundError", "'solutions'")),
    "input()": Hostile("input('N? ')", "exception", ("batchnorm_forward raised EOFError",)),
    "value that runs code when unpickled": Hostile(
        "return Evil(), None", "type", ("out returned by batchnorm_forward must be a numpy.ndarray", "batchnorm.Evil"),
        header="""
        import os


        class Evil:
            def __reduce__(self):
                return (os.system, ("touch {marker}",))
        """, located=False),
    "ndarray subclass": Hostile(
        "out, cache = solution(*args, **kwargs)\nreturn out.view(Sub), cache", "type",
        ("must be a numpy.ndarray", "batchnorm.Sub"), header="\n\nclass Sub(np.ndarray):\n    pass\n",
        located=False),
    "an int JSON cannot hold": Hostile("return 10 ** 5000", "type",
                                       ("What batchnorm_forward returned could not be sent back",), located=False),
    "garbage on the answer pipe": Hostile("import os, sys\nos.write(int(sys.argv[2]), b'garbage!')", "crash",
                                          ("What batchnorm_forward returned could not be read back safely",),
                                          once=True, located=False),
    "numpy comparisons patched": Hostile("""
        np.allclose = lambda *a, **k: True
        np.array_equal = lambda *a, **k: True
        np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
        np.testing.assert_allclose = lambda *a, **k: None
        out, cache = solution(*args, **kwargs)
        return out + 1, cache
        """, "values", ("out returned by batchnorm_forward does not match PyTorch",), located=False),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_function_costs_only_its_exercise(name, run, tmp_path):
    hostile = HOSTILE[name]
    marker = tmp_path / "unpickled"
    source = hostile_forward(hostile.body, hostile.header.format(marker=marker), once=hostile.once)
    report = run({"batchnorm.py": source}, [VICTIM, OTHER])
    failing = assert_only(report, VICTIM, hostile.stage)
    if hostile.once:
        assert [check.id for check in failing] == ["bn_forward::float32_stays_float32"]  # the others passed
    text = english(failing[0].feedback.summary)
    for phrase in hostile.says:
        assert phrase in text, text
    assert not marker.exists()
    if hostile.located:
        location = failing[0].feedback.location
        assert location and location["file"].endswith("batchnorm.py"), failing[0].feedback
        assert location["function"] == "batchnorm_forward"
        assert location["line"] > source.splitlines().index("def batchnorm_forward(*args, **kwargs):")


def test_an_infinite_loop_costs_one_time_limit_and_not_the_rest_of_its_file(run):
    report = run({"batchnorm.py": hostile_forward("while True:\n    pass")}, [VICTIM, "bn_running_stats", OTHER])
    failing = assert_only(report, VICTIM, "timeout")  # bn_running_stats, in the same file, passes
    assert len(failing) == len(report.exercise(VICTIM).checks)
    text = english(failing[0].feedback.summary)
    assert text.startswith("batchnorm_forward did not finish within 1 s (an infinite loop?)")
    durations = sorted(check.duration for check in failing)
    assert SECONDS <= durations[-1] < SECONDS + 2 and sum(durations[:-1]) < 2  # the rest are skipped


def test_a_megabyte_of_prints_is_truncated_and_the_exercise_still_passes(run, quick_kit):
    body = "for _ in range(16384):\n    print('x' * 63)"
    report = run({"batchnorm.py": hostile_forward(body)}, [VICTIM, OTHER])
    assert report.all_passed
    limit = quick_kit.course.policy.output_limit
    for check in report.exercise(VICTIM).checks:
        calls = max(check.output_bytes // (16384 * 64), 1)
        assert check.output_bytes == calls * 16384 * 64
        assert len(check.output) == limit
    assert all(check.output == "" for check in report.exercise(OTHER).checks)


# -- one broken file -----------------------------------------------------------------------------


def test_syntax_error_names_the_file_and_line_and_other_files_are_graded(run):
    source = (SOLUTIONS / "optim.py").read_text() + "\n\ndef broken(:\n    pass\n"
    line = source.splitlines().index("def broken(:") + 1
    report = run({"optim.py": source}, [FILE_VICTIM, FILE_OTHER])
    failing = assert_only(report, FILE_VICTIM, "import")
    assert len(failing) == len(report.exercise(FILE_VICTIM).checks)
    feedback = failing[0].feedback
    assert feedback.location["file"].endswith("optim.py") and feedback.location["line"] == line
    text = english(feedback.summary)
    assert text.startswith("optim.py could not be imported: SyntaxError") and f"line {line}" in text


def test_missing_function(run):
    report = run({"optim.py": mutate("optim.py", "def sgd_step(", "def sgd_step_v2(")}, [FILE_VICTIM, FILE_OTHER])
    failing = assert_only(report, FILE_VICTIM, "missing")
    assert english(failing[0].feedback.summary) == (
        "optim.py has no function named sgd_step: define it with exactly this name.")


def test_missing_file(run):
    report = run({}, [FILE_VICTIM, FILE_OTHER], remove=("optim.py",))
    failing = assert_only(report, FILE_VICTIM, "import")
    text = english(failing[0].feedback.summary)
    assert text.startswith("optim.py is not in the folder being graded: put your file there")


def test_import_time_infinite_loop_fails_its_file_fast(run):
    source = "while True:\n    pass\n\n" + (SOLUTIONS / "optim.py").read_text()
    report = run({"optim.py": source}, [FILE_VICTIM, FILE_OTHER])
    failing = assert_only(report, FILE_VICTIM, "timeout")
    assert len(failing) == len(report.exercise(FILE_VICTIM).checks)
    assert sum(check.duration for check in failing) < SECONDS + 2  # imported once, then skipped
    text = english(failing[0].feedback.summary)
    assert text.startswith("Importing optim.py did not finish within 1 s") and "outside the functions" in text


def test_import_torch_at_the_top_of_a_file(run):
    report = run({"optim.py": "import torch\n" + (SOLUTIONS / "optim.py").read_text()}, [FILE_VICTIM, FILE_OTHER])
    failing = assert_only(report, FILE_VICTIM, "forbidden")
    assert len(failing) == len(report.exercise(FILE_VICTIM).checks)
    assert english(failing[0].feedback.summary).startswith("optim.py imports torch (line 1): ")


def test_a_forbidden_import_in_a_helper_module_is_reported_where_it_is(run):
    """The import is in helpers.py, which optim.py imports: the message names helpers.py and
    the line of its import, not optim.py."""
    helper = "import math\n\n\nimport torch\n\n\ndef half(x):\n    return x / 2\n"
    source = "import helpers\n" + (SOLUTIONS / "optim.py").read_text()
    report = run({"optim.py": source, "helpers.py": helper}, [FILE_VICTIM, FILE_OTHER])
    failing = assert_only(report, FILE_VICTIM, "forbidden")
    feedback = failing[0].feedback
    assert english(feedback.summary).startswith(
        "helpers.py imports torch (line 4), and optim.py imports helpers.py")
    assert feedback.location["file"].endswith("helpers.py") and feedback.location["line"] == 4
    assert feedback.location["code"] == "import torch"



@pytest.mark.parametrize("escape, words", [
    ("import os\n    if os.fork() == 0:\n        os._exit(0)\n", "sgd_step tried to start another process"),
    ("open('/tmp/grade-escape-marker', 'w').write('x')\n", "sgd_step tried to change the file /tmp/grade-escape-marker"),
    ("import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n", "sgd_step tried to send a signal"),
])
def test_escaping_the_sandbox_costs_only_its_exercise(run, escape, words):
    source = (SOLUTIONS / "optim.py").read_text().replace('    """\n    step = ', f'    """\n    {escape}    step = ')
    report = run({"optim.py": source}, [FILE_VICTIM, FILE_OTHER])
    failing = assert_only(report, FILE_VICTIM, "forbidden")
    assert english(failing[0].feedback.summary).startswith(words)
    assert not Path("/tmp/grade-escape-marker").exists()


@pytest.mark.parametrize("graded", [["bn_forward", "bn_backward", "bn_running_stats"], ["bn_backward"]])
def test_a_file_that_does_not_import_blames_no_other_exercise(run, graded):
    """A syntax error in batchnorm.py is the failure of every exercise in that file, not
    "blocked by bn_forward" (bn_backward's checks call batchnorm_forward first), also when
    bn_backward is graded alone."""
    source = (SOLUTIONS / "batchnorm.py").read_text() + "\ndef broken(:\n"
    report = run({"batchnorm.py": source}, graded)
    for exercise in graded:
        checks = report.exercise(exercise).checks
        assert {c.outcome for c in checks} == {"failed"}
        assert {c.feedback.stage for c in checks} == {"import"}
