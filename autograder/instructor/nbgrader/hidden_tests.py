"""What the hidden tests of an exported notebook call: the kit's own checks, in its sandbox.

An autograder-tests cell of an exported notebook reads::

    ### BEGIN HIDDEN TESTS
    import autograder.instructor.nbgrader.hidden_tests as kit_tests  # the kit must be importable where nbgrader runs
    kit_tests.run_checks("bn_forward", lang="en")
    ### END HIDDEN TESTS
    check("bn_forward", lang="en")   <- visible: the kit's feedback while working (`jupyter`)

`run_checks` rebuilds the student's files from the notebooks of the assignment
(`autograder.instructor.notebooks`, into a temporary folder), grades that one exercise with
`autograder.grading.runner.grade` (student code runs in the sandbox worker, never in the kernel),
prints the kit's feedback and publishes the exercise's score as the cell's result, which nbgrader
takes as partial credit. `run_quiz` does the same for the quiz notebook's answers.

Why it is shaped like this (learned by running nbgrader 0.9.6):

- nbgrader grades a test cell by its outputs in order: an ``execute_result`` holding a number is
  the score, an error or anything on stderr before it scores 0. So the hidden block comes first
  and publishes the score at once (`IPython displayhook`); whatever the visible part does
  afterwards (fail, warn on stderr) cannot change it. Nothing here writes to stderr.
- A failing visible part prints a traceback whose context lines would show the hidden block:
  for the rest of the cell tracebacks are minimal (exception and message only).
- The hidden block never raises with its own source in view: a failing check is the kit's
  feedback message, printed.
- During ``nbgrader autograde`` the kernel runs in ``autograded/<student>/<assignment>``,
  where later notebooks are not written yet: the code is read from
  ``submitted/<student>/<assignment>``, the student's own notebooks.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

from autograder.i18n import Translator, choose_language
from autograder.instructor.notebooks import (
    QUIZ_MODULE,
    notebook_names,
    read_notebook,
    write_submission,
)


class GraderError(Exception):
    """The kit itself could not grade (not the student's fault); shown as one line."""

    def _render_traceback_(self) -> list[str]:  # IPython: no traceback, no cell source
        return [f"{type(self).__name__}: {self}"]


def run_checks(exercise_id: str, *, lang: str | None = None, folder: str | Path | None = None) -> float | None:
    """Grade one exercise from the notebooks in `folder` (default: see `notebooks_folder`).
    In IPython the score becomes the cell's result and None is returned; elsewhere the score
    is returned."""
    from autograder.kit import Kit

    with _minimal_tracebacks(), _silent():
        kit = Kit.locate()
        t = Translator(choose_language(lang, kit.course.default_language))
        try:
            from autograder.ui.plain_text import exercise_text, isolation_text

            report = _grade(kit, Path(folder) if folder else notebooks_folder(), exercise_id)
            result = report.exercise(exercise_id)
            text = exercise_text(kit.course, result, t) + isolation_text(report, t)
        except Exception as error:  # noqa: BLE001 - shown as one line, never the hidden source
            raise GraderError(t("notebook.grader_failed", error=f"{type(error).__name__}: {error}")) from None
    print(text, end="")
    return _publish(result.score)


def run_quiz(seed: int, *, lang: str | None = None, folder: str | Path | None = None) -> float | None:
    """Grade the quiz notebook's answers with the numbers of `seed`."""
    from autograder.kit import Kit

    with _minimal_tracebacks(), _silent():
        kit = Kit.locate()
        t = Translator(choose_language(lang, kit.course.default_language))
        try:
            text, score = _quiz(kit, Path(folder) if folder else notebooks_folder(), seed, t)
        except Exception as error:  # noqa: BLE001
            raise GraderError(t("notebook.grader_failed", error=f"{type(error).__name__}: {error}")) from None
    print(text, end="")
    return _publish(score)


def notebooks_folder() -> Path:
    """Where the assignment's notebooks are: the kernel's folder, except under ``nbgrader
    autograde`` (``autograded/<student>/<assignment>``), where the submitted ones are read."""
    here = Path.cwd()
    if os.environ.get("NBGRADER_EXECUTION") == "autograde" and len(here.parts) > 3 \
            and here.parts[-3] == "autograded":
        submitted = here.parents[2] / "submitted" / here.parts[-2] / here.parts[-1]
        if submitted.is_dir():
            return submitted
    return here


def _grade(kit, notebooks: Path, exercise_id: str):
    from autograder.grading.runner import grade

    with tempfile.TemporaryDirectory(prefix="grade-notebook-") as work:
        write_submission(kit.course, notebooks, Path(work), only=set(notebook_names(kit.course)) - {QUIZ_MODULE})
        return grade(kit, Path(work), exercises=[exercise_id])


def _quiz(kit, notebooks: Path, seed: int, t: Translator) -> tuple[str, float]:
    from autograder.instructor.notebooks import quiz_answers
    from autograder.quiz.answers import FORMAT, AnswersFile, file_result
    from autograder.quiz.bank import load_bank
    from autograder.ui.plain_text import quiz_text

    bank = load_bank(kit)
    notebook = read_notebook(notebooks / f"{notebook_names(kit.course)[QUIZ_MODULE]}.ipynb")
    answers = AnswersFile(FORMAT, seed, quiz_answers(notebook) if notebook is not None else {}, shown_order=True)
    result = file_result(bank, kit.course.quiz.points, answers)
    return quiz_text(bank, result, answers.judged(bank), t), result.score


def _publish(score: float) -> float | None:
    """The score as the cell's ``execute_result`` (what nbgrader reads as partial credit)."""
    shell = _shell()
    if shell is None:
        return score
    sys.stdout.flush()
    shell.displayhook(float(score))
    return None


def _shell():
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "displayhook") else None


@contextlib.contextmanager
def _minimal_tracebacks() -> Iterator[None]:
    """Minimal tracebacks until the end of the running cell: a visible assert failing after the
    hidden block shows its message, not context lines from the hidden block."""
    shell = _shell()
    tb = getattr(shell, "InteractiveTB", None)
    if tb is None or not hasattr(tb, "set_mode"):
        yield
        return
    previous = tb.mode

    def restore(*_args: object) -> None:
        tb.set_mode(mode=previous)
        with contextlib.suppress(ValueError):
            shell.events.unregister("post_run_cell", restore)

    tb.set_mode(mode="Minimal")
    shell.events.register("post_run_cell", restore)
    yield


@contextlib.contextmanager
def _silent() -> Iterator[None]:
    """Nothing reaches stderr while the kit grades (in nbgrader, any stderr output in a test
    cell scores 0): Python warnings off, sys.stderr and file descriptor 2 set aside."""
    sink = tempfile.TemporaryFile()
    saved = None
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
    except (OSError, ValueError, AttributeError):
        saved = None
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
        sink.close()
