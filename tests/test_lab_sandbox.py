"""The worker's ``drive`` request: a driver file of the kit runs a whole loop with the student's
functions in the worker, and only its value comes back; every way the student's code fails
is a `StudentError` naming the student's function, and the next run still works."""

from __future__ import annotations

import textwrap

import pytest

from autograder.lab.execution import plain_result
from autograder.sandbox.client import (
    Crashed,
    ImportFailed,
    MissingFunction,
    Raised,
    Sandbox,
    SandboxError,
    TimedOut,
)
from autograder.sandbox.limits import Limits

DRIVER = '''
import numpy as np

def run(layers, x, times=1):
    """Apply the student's `double` `times` times; report numbers only."""
    for _ in range(times):
        x = layers["double"](x)
    return {"sum": [float(np.sum(x))], "shape": list(x.shape)}
'''


@pytest.fixture
def drive(tmp_path):
    """``drive(student_source, *args, seconds=...)``: run DRIVER with the student's ``double``."""
    opened: list[Sandbox] = []
    (tmp_path / "driver.py").write_text(DRIVER)
    folder = tmp_path / "student"
    folder.mkdir()

    def run(source: str, *args, seconds: float = 2.0, box: Sandbox | None = None):
        (folder / "layers.py").write_text(textwrap.dedent(source))
        if box is None:
            box = Sandbox(folder, limits=Limits(seconds=seconds, memory_mb=256))
            opened.append(box)
        return box, box.drive(tmp_path / "driver.py", {"double": "layers"}, args)

    yield run
    for box in opened:
        box.close()


def test_the_driver_runs_the_loop_with_the_students_function(drive):
    import numpy as np

    _, call = drive("def double(x):\n    return 2 * x\n", np.ones((3, 2)), 4)
    assert call.value == {"sum": [96.0], "shape": [3, 2]}


def test_an_exception_names_the_students_function_and_line(drive):
    import numpy as np

    source = "def double(x):\n    return x + undefined_name\n"
    with pytest.raises(Raised) as info:
        drive(source, np.ones(2))
    error = info.value
    assert (error.function, error.module) == ("double", "layers")
    assert error.detail["type"] == "NameError"
    assert error.frames[-1]["line"] == 2 and error.frames[-1]["file"].endswith("layers.py")
    assert all("driver" not in frame["file"] for frame in error.frames)  # the kit's frames stay hidden


def test_a_missing_function_and_a_broken_module_are_named(drive):
    import numpy as np

    with pytest.raises(MissingFunction) as info:
        drive("def triple(x):\n    return 3 * x\n", np.ones(2))
    assert (info.value.function, info.value.module) == ("double", "layers")
    with pytest.raises(ImportFailed):
        drive("def double(x) return x\n", np.ones(2))


def test_a_run_past_the_time_limit_is_stopped_and_the_next_run_works(drive):
    import numpy as np

    box, _ = drive("def double(x):\n    return 2 * x\n", np.ones(2))
    (box.directory / "layers.py").write_text("def double(x):\n    while True:\n        pass\n")
    box.stop()  # a fresh worker reads the new file
    with pytest.raises(TimedOut):
        box.drive(box.directory.parent / "driver.py", {"double": "layers"}, (np.ones(2),))
    (box.directory / "layers.py").write_text("def double(x):\n    return 2 * x\n")
    call = box.drive(box.directory.parent / "driver.py", {"double": "layers"}, (np.ones(2),))
    assert call.value["sum"] == [4.0]  # a timed-out run does not block the next one


def test_a_driver_that_cannot_load_is_the_kits_problem(tmp_path):
    import numpy as np

    (tmp_path / "driver.py").write_text("import no_such_module_anywhere\n")
    (tmp_path / "student").mkdir()
    with Sandbox(tmp_path / "student", limits=Limits(seconds=2.0, memory_mb=256)) as box:
        with pytest.raises(SandboxError):
            box.drive(tmp_path / "driver.py", {}, (np.ones(2),))


def test_the_driver_gets_plain_values_only(drive):
    from autograder.sandbox.client import Rng

    with pytest.raises(TypeError):
        drive("def double(x):\n    return 2 * x\n", Rng(1))


@pytest.mark.parametrize("value", [
    [1.0, 2.0],                          # not a mapping
    {"loss": ["a", "b"]},                # not numbers
    {"loss": list(range(200_000))},      # far more than a run records
])
def test_what_comes_back_must_look_like_a_runs_numbers(value):
    with pytest.raises(Crashed):
        plain_result(value)


def test_a_runs_numbers_are_kept_and_non_finite_values_become_nan():
    import math

    result = plain_result({"loss": [1.0, float("inf")], "diverged": [0.0]})
    assert result["loss"][0] == 1.0 and math.isnan(result["loss"][1]) and result["diverged"] == [0.0]
