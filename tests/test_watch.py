"""`grade watch`: it follows the file being saved, grades each check once per save, moves on
when an exercise passes, fits every screen in the terminal, and answers its keys (in a real
pseudo-terminal)."""

import io
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pexpect
import pytest
from rich.cells import cell_len
from rich.console import Console
from support import SOLUTIONS, copy_kit, mutate

import autograder.ui.watch as watch
from autograder.i18n import Translator
from autograder.kit import Kit

GRADE = Path(sys.executable).with_name("grade")
CLEAR = "\x1b[2J\x1b[H"
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")
WRONG_VARIANCE = ("inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)", "inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=1) + eps)")


def save(path: Path, text: str) -> None:
    path.write_text(text)


# -- the session, with a console of a fixed size -----------------------------------------------


@pytest.fixture
def session(tmp_path, monkeypatch, reference, solutions_report):
    course = copy_kit(tmp_path / "kit")
    monkeypatch.setenv("GRADE_STATE_DIR", str(tmp_path / "state"))
    console = Console(file=io.StringIO(), width=80, height=24, color_system=None, force_terminal=True)
    session = watch.Session(Kit.locate(course), Translator("en"), console)
    session.reference = reference  # torch runs once per case for the whole test session
    yield session
    session.close()


def frames(console: Console) -> list[str]:
    return [frame for frame in console.file.getvalue().split(CLEAR) if frame]


def test_a_save_grades_each_check_once_and_the_exercise_of_that_file_first(session, monkeypatch):
    session.grade(session.course.ids)
    graded: list[list[str]] = []
    real_grade = watch.grade

    def counting(kit, directory, *, exercises, cache, **options):
        graded.append([e for e in exercises if cache is None or cache.load(e) is None])
        return real_grade(kit, directory, exercises=exercises, cache=cache, **options)

    monkeypatch.setattr(watch, "grade", counting)
    exercises = session.directory
    save(exercises / "optim.py", (SOLUTIONS / "optim.py").read_text())
    session.saved({"optim.py"})
    assert graded[0] == ["bn_sgd_step"]  # the saved file's exercise first, shown at once
    ran = [e for run in graded for e in run]
    assert sorted(ran) == sorted(set(ran)) and "bn_layer_training" in ran  # then the others, each once
    assert session.passes("bn_sgd_step") and session.current == "spatial_bn"  # on to the next unfinished
    assert session.timing.startswith("graded in")
    first = frames(session.console)[-2]  # drawn before the exercises that depend on optim.py were graded
    assert "✔ bn_sgd_step passes, well done! On to spatial_bn." in first


def test_a_pass_moves_on_with_one_line_of_congratulation(session):
    session.grade(session.course.ids)
    assert session.first_not_passing() == "bn_forward"
    session.current = "bn_forward"
    save(session.directory / "batchnorm.py", mutate("batchnorm.py", *WRONG_VARIANCE))
    session.saved({"batchnorm.py"})
    assert session.current == "bn_forward" and session.news is None
    save(session.directory / "batchnorm.py", (SOLUTIONS / "batchnorm.py").read_text())
    session.saved({"batchnorm.py"})
    screen = frames(session.console)[-1]
    assert "✔ bn_forward passes, well done! On to bn_sgd_step." in screen
    assert session.current == "bn_sgd_step"  # bn_backward and bn_running_stats passed with it
    session.saved({"batchnorm.py"})  # saved again, unchanged: replayed, and said so
    assert session.timing == "cached: this code was graded before"


def test_a_file_saved_during_a_grading_is_judged_by_the_next_one(session):
    """A save while the other exercises are graded: that grading may read the new file, but
    its result waits for the next save's grading, which congratulates on what the student saw."""
    session.grade(session.course.ids)
    session.current = "bn_forward"
    before = time.time()
    save(session.directory / "batchnorm.py", (SOLUTIONS / "batchnorm.py").read_text())
    session.grade(["bn_running_stats"], since=before - 1)  # as if the save came during this grading
    assert not session.passes("bn_running_stats")  # left aside
    session.saved({"batchnorm.py"})
    assert session.passes("bn_forward") and "bn_forward passes, well done!" in session.news.plain


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_screen_fits_the_terminal(session, language):
    session.t = Translator(language)
    save(session.directory / "batchnorm.py", mutate("batchnorm.py", *WRONG_VARIANCE))
    session.grade(session.course.ids)
    session.current = "bn_forward"
    for key in ("", "h", "h", "h", "h", "l", "e", "j", "j", "e", "n", "n", "n", "n"):
        if key:
            session.on_key(key)
        else:
            session.render()
        screen = frames(session.console)[-1]
        lines = screen.rstrip("\n").split("\n")
        assert len(lines) <= 24, (key, screen)
        assert max(cell_len(ANSI.sub("", line)) for line in lines) <= 80, (key, screen)
        assert ("q quit" if language == "en" else "q salir") in screen  # the keys are never scrolled off
        borders = [line for line in lines if re.match(r"^\s*[╭╰]─+ ", ANSI.sub("", line))]
        assert all(re.search(r" ─+[╮╯]\s*$", ANSI.sub("", line)) for line in borders), screen  # no title cut


# -- the command in a real pseudo-terminal ------------------------------------------------------


@pytest.fixture
def watching(tmp_path, reference, solutions_report):
    course = copy_kit(tmp_path / "kit")
    shutil.copytree(reference.cache_dir, tmp_path / "state" / "cache")  # the expected values, already computed
    env = {**os.environ, "GRADE_STATE_DIR": str(tmp_path / "state"), "TERM": "xterm"}
    env.pop("GRADE_LANG", None)
    child = pexpect.spawn(str(GRADE), ["watch", "--course", str(course)], env=env, encoding="utf-8",
                          timeout=60, dimensions=(24, 80))
    child.expect("Implement batchnorm_forward in exercises/batchnorm.py")
    child.expect("q quit")
    yield child, course.parent / "exercises"
    if child.isalive():
        child.terminate(force=True)


def test_watch_follows_saves_and_answers_its_keys(watching):
    child, exercises = watching
    save(exercises / "batchnorm.py", mutate("batchnorm.py", *WRONG_VARIANCE))
    child.expect("Looks like the batch was normalised with the unbiased variance")
    child.expect("graded in")
    child.send("h")  # the hint about the recognised mistake first
    child.expect("About your mistake · bn_forward")
    child.expect(r"1 used so far")
    child.send("c")  # the checkpoint questions, typed as whole lines, then back to watching
    child.expect("checkpoint of bn_forward")
    child.sendline("q")
    child.expect("bn_forward · Batch Normalization, forward pass")
    child.expect("q quit")
    stub = (exercises / "dropout.py").read_text()
    save(exercises / "dropout.py", stub.replace("import numpy as np", "import numpy as np\ndef broken(:\n"))
    child.expect("dropout · Inverted Dropout")  # it follows the file just saved
    child.expect("could not be imported: SyntaxError")
    child.expect(r"\^")
    child.expect("q quit")
    save(exercises / "batchnorm.py", (SOLUTIONS / "batchnorm.py").read_text())
    child.expect("bn_forward passes, well done!")  # and bn_backward, bn_running_stats with it
    child.expect("bn_sgd_step · Training gamma and beta with SGD")
    child.expect("q quit")
    child.send("n")
    child.expect("spatial_bn · Spatial Batch Normalization")
    child.send("q")
    child.expect(pexpect.EOF)
    child.wait()
    assert child.exitstatus == 0
