"""`grade watch` in a real pseudo-terminal: it re-grades on save, survives a file that does
not parse, and answers its keys."""

import os
import sys
from pathlib import Path

import pexpect
import pytest
from support import SOLUTIONS, copy_kit

GRADE = Path(sys.executable).with_name("grade")


@pytest.fixture
def watch(tmp_path):
    course = copy_kit(tmp_path / "kit")
    env = {**os.environ, "GRADE_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "110", "LINES": "60",
           "TERM": "xterm"}
    env.pop("GRADE_LANG", None)
    child = pexpect.spawn(str(GRADE), ["watch", "--course", str(course)], env=env, encoding="utf-8",
                          timeout=60, dimensions=(60, 110))
    child.expect("Current exercise: bn_forward")
    child.expect("q quit")
    yield child, course.parent / "exercises" / "batchnorm.py"
    if child.isalive():
        child.terminate(force=True)


def save(path: Path, text: str) -> None:
    path.write_text(text)


def test_regrades_on_save_and_survives_a_syntax_error(watch):
    child, student_file = watch
    stub = student_file.read_text()
    save(student_file, stub.replace("import numpy as np", "import numpy as np\ndef broken(:\n"))
    child.expect("could not be imported: SyntaxError")
    child.expect("q quit")
    save(student_file, (SOLUTIONS / "batchnorm.py").read_text())
    child.expect("bn_forward passes. Press n for the next exercise.")
    child.expect("q quit")
    child.send("n")
    child.expect("Current exercise: bn_backward")
    child.send("q")
    child.expect(pexpect.EOF)
    child.wait()
    assert child.exitstatus == 0


def test_keys_show_hints_and_the_list(watch):
    child, _ = watch
    child.send("h")
    child.expect("Hint 1 of 3")
    child.send("l")
    child.expect("progress")
    child.expect("0 of 8 exercises pass")
    child.send("q")
    child.expect(pexpect.EOF)
