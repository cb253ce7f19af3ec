"""`grade reset EXERCISE`: the starting version of one exercise's functions, from the kit's own
history, after a backup and a question; the rest of the file as the student left it. And no
other command writes a student file."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import EXERCISES, SOLUTIONS, copy_kit, warm_state

from autograder.grading.stubs import unimplemented
from autograder.ui.reset import definitions, restore

GRADE = Path(sys.executable).with_name("grade")


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), "-c", "user.email=kit@example.org", "-c", "user.name=kit", *args],
                   check=True, capture_output=True)


@pytest.fixture
def clone(tmp_path, reference, solutions_report) -> Path:
    """A kit in git whose student committed finished work, then kept editing."""
    root = copy_kit(tmp_path / "kit").parent
    warm_state(root / ".grade", reference)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the kit")
    for name in ("batchnorm.py", "optim.py"):
        (root / "exercises" / name).write_text((SOLUTIONS / name).read_text())
    git(root, "commit", "-q", "-am", "my work")
    with (root / "exercises" / "batchnorm.py").open("a") as file:
        file.write("\n\ndef helper(x):\n    return 2 * x\n")
    return root


def run(root: Path, *args: str, answer: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADE_STATE_DIR": str(root / ".grade"), "COLUMNS": "200"}
    env.pop("GRADE_LANG", None)
    return subprocess.run([str(GRADE), *args, "--course", str(root / "course.yml")], cwd=root, env=env,
                          input=answer, capture_output=True, text=True, timeout=120)


def function_source(source: str, name: str) -> str:
    first, last = definitions(source)[name]
    return "".join(source.splitlines(keepends=True)[first - 1:last])


def test_reset_restores_one_exercise_and_keeps_a_backup(clone):
    student = clone / "exercises" / "batchnorm.py"
    before = student.read_text()
    result = run(clone, "reset", "bn_forward", "--yes")
    assert result.returncode == 0, result.stderr
    after = student.read_text()
    stub = (EXERCISES / "batchnorm.py").read_text()
    assert function_source(after, "batchnorm_forward") == function_source(stub, "batchnorm_forward")
    for name in ("batchnorm_backward", "update_running_stats", "batchnorm_eval", "helper"):
        assert function_source(after, name) == function_source(before, name)  # as the student wrote them
    assert unimplemented(student) == {"batchnorm_forward"}
    [backup] = (clone / ".grade" / "backups").iterdir()
    assert backup.read_text() == before
    assert f"Your previous file is kept in {backup.relative_to(clone)}." in result.stdout
    assert (clone / "exercises" / "optim.py").read_text() == (SOLUTIONS / "optim.py").read_text()


def test_reset_asks_first(clone):
    student = clone / "exercises" / "batchnorm.py"
    before = student.read_text()
    declined = run(clone, "reset", "bn_backward", answer="n\n")
    assert declined.returncode == 1 and "Restore the starting version of batchnorm_backward" in declined.stdout
    assert "Nothing changed." in declined.stdout
    assert student.read_text() == before and not (clone / ".grade" / "backups").exists()
    accepted = run(clone, "--lang", "es", "reset", "bn_backward", answer="sí\n")
    assert accepted.returncode == 0 and "[s/N]" in accepted.stdout
    assert unimplemented(student) == {"batchnorm_backward"}
    again = run(clone, "reset", "bn_backward", "--yes")
    assert again.returncode == 0 and "already the starting version" in again.stdout
    assert len(list((clone / ".grade" / "backups").iterdir())) == 1


def test_a_file_that_does_not_parse_is_restored_whole_after_saying_so(clone):
    student = clone / "exercises" / "optim.py"
    student.write_text("def sgd_step(param:\n")
    result = run(clone, "reset", "bn_sgd_step", answer="y\n")
    assert result.returncode == 0 and "does not parse" in result.stdout
    assert student.read_text() == (EXERCISES / "optim.py").read_text()
    [backup] = (clone / ".grade" / "backups").iterdir()
    assert backup.read_text() == "def sgd_step(param:\n"


def test_a_missing_file_is_restored_and_grade_says_how(clone):
    (clone / "exercises" / "dropout.py").unlink()
    missing = run(clone)
    assert missing.returncode == 2
    assert "exercises/dropout.py is missing: course.yml lists it for dropout. grade reset dropout brings back" in (
        missing.stderr)
    assert run(clone, "reset", "dropout", "--yes").returncode == 0
    assert (clone / "exercises" / "dropout.py").read_text() == (EXERCISES / "dropout.py").read_text()


@pytest.mark.parametrize("args, message", [
    (["reset", "bn_layer_training", "--yes"], "bn_layer_training has no functions of its own"),
    (["reset", "bn_fwd"], "unknown exercise 'bn_fwd'. Did you mean 'bn_forward'?"),
])
def test_usage_errors(clone, args, message):
    result = run(clone, *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_without_git_history_there_is_no_starting_version(tmp_path):
    root = copy_kit(tmp_path / "kit").parent
    result = run(root, "reset", "bn_forward", "--yes")
    assert result.returncode == 2
    assert "no starting version of exercises/batchnorm.py was found in the kit's git history" in result.stderr


def test_restore_keeps_the_rest_of_the_file_exactly():
    stub = "import numpy as np\n\n\ndef f(x):\n    raise NotImplementedError\n\n\ndef g(x):\n    raise NotImplementedError\n"
    mine = "import numpy as np\n# my notes\n\n@decorated\ndef f(x):\n    return x\n\n\ndef h():\n    pass\n"
    assert restore(mine, stub, ["f", "g"]) == (
        "import numpy as np\n# my notes\n\ndef f(x):\n    raise NotImplementedError\n\n\ndef h():\n    pass\n"
        "\n\ndef g(x):\n    raise NotImplementedError\n")
    assert restore("def f(:\n", stub, ["f"]) is None


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_no_other_command_writes_a_student_file(clone, tmp_path):
    exercises = clone / "exercises"
    before = digests(exercises)
    for args in (["bn_forward"], ["--json"], ["list"], ["hint", "bn_forward"], ["inspect", "bn_forward"],
                 ["inspect", "spatial_bn", "--save", str(tmp_path / "dump")], ["reset", "bn_sgd_step"]):
        result = run(clone, *args, answer="n\n")
        assert "Traceback" not in result.stderr, (args, result.stderr)
    assert digests(exercises) == before
    assert not (exercises / "__pycache__").exists()
