"""``grade export nbgrader DIR``: a ready nbgrader course directory.

    DIR/nbgrader_config.py
    DIR/source/<assignment>/01_batchnorm.ipynb ... 06_quiz.ipynb

One notebook per student file, in course order, then the quiz notebook. An exercise notebook is
built by a pipeline of small passes, each adding cells:

    intro        read-only markdown: the course, this notebook's exercises and points, how to work
    setup        read-only code: the stub file's imports
    exercises    for each exercise whose test cell lives here (`notebook_of_exercise`):
                   heading   read-only markdown: title and points
                   answers   one answer cell per function (`autograder.instructor.nbgrader.solution_cells`)
                   tests     the locked autograder-tests cell: hidden block, then the visible
                             ``check("<exercise>")`` (`autograder.instructor.nbgrader.jupyter`)

The hidden block of a tests cell calls the kit's own checks (`autograder.instructor.nbgrader.hidden_tests`) and
its score, published as the cell's result, is the kit's score for that exercise: the cell is
worth the exercise's points from course.yml. The config makes nbgrader 0.9.6 behave: a time
limit per cell that does not kill the whole autograde, and hidden tests cleared from feedback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_notebook

from autograder.course import Exercise
from autograder.grading.results import points
from autograder.i18n import Translator
from autograder.instructor.nbgrader import cells
from autograder.instructor.nbgrader.quiz import HIDDEN_BEGIN, HIDDEN_END, quiz_cells
from autograder.instructor.nbgrader.solution_cells import SpliceError, answer_cell, setup_code
from autograder.instructor.notebooks import (
    DEFAULT_ASSIGNMENT,
    METADATA_KEY,
    QUIZ_MODULE,
    assignment_seed,
    notebook_names,
    notebook_of_exercise,
)
from autograder.kit import Kit


def cell_timeout(course) -> int:
    """Seconds one cell may run under ``nbgrader autograde``: enough for a test cell whose
    every function hangs (the sandbox stops each after the course's per-call limit, and skips
    the rest of a function's checks), with room to spare; a student cell that loops forever
    costs no more than this."""
    functions = max(len([f for e in course.with_requirements([x.id]) for f in course.exercise(e).functions])
                    for x in course.exercises)
    return int(30 + 2 * course.policy.seconds_per_call * max(functions, 1))


KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

CONFIG_MARK = "written by `grade export nbgrader`"
CONFIG = '''\
"""nbgrader configuration written by `grade export nbgrader` (the BN & Dropout kit).

Run nbgrader from this folder, with the environment where the kit is installed first on PATH
(nbgrader runs `alembic` by name, and the notebooks' hidden tests import the kit).
"""
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821 - provided by nbgrader
c.CourseDirectory.course_id = {course_id!r}

# A test cell may run {timeout} s. On a timeout nbgrader interrupts the kernel; code that swallows
# the interrupt must not fail the student's whole autograde, hence no error on iopub timeouts.
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False

# Feedback shows test cells without their hidden part (nbgrader shows it by default).
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests]
'''


@dataclass(frozen=True)
class Export:
    """What `export` wrote."""

    root: Path
    assignment: str
    notebooks: list[Path]
    quiz_seed: int | None
    config_written: bool
    """False when DIR already had an nbgrader_config.py of the instructor's (it is kept)."""


class ExportError(Exception):
    """The export cannot be written (the message says why, for the user)."""


def export(kit: Kit, root: Path, *, assignment: str = DEFAULT_ASSIGNMENT, t: Translator | None = None,
           quiz_seed: int | None = None, force: bool = False) -> Export:
    """Write the course directory `root` (created; an existing assignment is replaced only with
    `force`)."""
    t = t or Translator(kit.course.default_language)
    source = root / "source" / assignment
    if source.exists() and any(source.iterdir()) and not force:
        raise ExportError(t("export.errors.exists", path=source))
    source.mkdir(parents=True, exist_ok=True)
    config = root / "nbgrader_config.py"
    config_written = not config.exists() or CONFIG_MARK in config.read_text(encoding="utf-8", errors="replace")
    if config_written:
        config.write_text(CONFIG.format(course_id=course_id(kit), timeout=cell_timeout(kit.course)), encoding="utf-8")
    names = notebook_names(kit.course)
    seed = quiz_seed if quiz_seed is not None else assignment_seed(assignment)
    written = []
    for file, name in names.items():
        if file == QUIZ_MODULE:
            notebook = quiz_notebook(kit, t, seed)
        else:
            notebook = exercise_notebook(kit, file, t)
        nbformat.validate(notebook)
        path = source / f"{name}.ipynb"
        nbformat.write(notebook, path)
        written.append(path)
    return Export(root, assignment, written, seed if QUIZ_MODULE in names else None, config_written)


def course_id(kit: Kit) -> str:
    """The nbgrader course id (the exchange needs one): the English course title as a slug."""
    return re.sub(r"[^a-z0-9]+", "-", kit.course.title("en").lower()).strip("-") or "course"


# -- notebooks ------------------------------------------------------------------------------


def _notebook(cells_: list[NotebookNode], meta: dict) -> NotebookNode:
    notebook = new_notebook(cells=cells_)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.metadata[METADATA_KEY] = meta
    return notebook


@dataclass(frozen=True)
class Context:
    """What the passes of one exercise notebook read."""

    kit: Kit
    file: str
    t: Translator
    number: int
    total: int

    @property
    def exercises(self) -> list[Exercise]:
        """The exercises whose test cells live in this notebook, in course order."""
        return [e for e in self.kit.course.exercises if notebook_of_exercise(self.kit.course, e.id) == self.file]

    @property
    def functions(self) -> set[str]:
        return {f for e in self.kit.course.exercises if e.file == self.file for f in e.functions}

    def stub(self) -> str:
        return (self.kit.exercises_dir / self.file).read_text(encoding="utf-8")

    def solution(self) -> str:
        return (self.kit.solutions_dir / self.file).read_text(encoding="utf-8")


Pass = Callable[[Context], list[NotebookNode]]


def intro(ctx: Context) -> list[NotebookNode]:
    t = ctx.t
    items = "\n".join(f"- {t.text(e.title)} · {points(e.points)} {t('notebook.points')}" for e in ctx.exercises)
    text = "\n\n".join([
        f"# {t.text(ctx.kit.course.title)}",
        t("notebook.heading", number=ctx.number, total=ctx.total, file=ctx.file),
        items,
        t("notebook.intro"),
    ])
    return [cells.read_only_markdown(f"intro_{ctx.file[:-3]}", text)]


def setup(ctx: Context) -> list[NotebookNode]:
    code = setup_code(ctx.stub(), ctx.functions)
    return [cells.read_only_code(f"setup_{ctx.file[:-3]}", code)] if code.strip() else []


def exercises(ctx: Context) -> list[NotebookNode]:
    result = []
    stub, solution = ctx.stub(), ctx.solution()
    for exercise in ctx.exercises:
        result.append(cells.read_only_markdown(f"heading_{exercise.id}", heading(exercise, ctx.kit.course, ctx.t)))
        for function in exercise.functions:
            try:
                code = answer_cell(stub, solution, function, ctx.functions)
            except (SpliceError, SyntaxError) as error:
                raise ExportError(ctx.t("export.errors.splice", file=ctx.file, function=function,
                                        error=error)) from None
            result.append(cells.answer(f"answer_{function}", code))
        result.append(cells.tests(f"tests_{exercise.id}", tests_source(exercise, ctx.t), exercise.points))
    return result


PASSES: list[Pass] = [intro, setup, exercises]


def exercise_notebook(kit: Kit, file: str, t: Translator) -> NotebookNode:
    names = list(notebook_names(kit.course))
    ctx = Context(kit, file, t, names.index(file) + 1, len(names))
    meta = {"file": file, "exercises": [e.id for e in ctx.exercises]}
    return _notebook([cell for step in PASSES for cell in step(ctx)], meta)


def quiz_notebook(kit: Kit, t: Translator, seed: int) -> NotebookNode:
    from autograder.quiz.bank import load_bank

    names = list(notebook_names(kit.course))
    head = cells.read_only_markdown("quiz_heading", "\n\n".join([
        f"# {t.text(kit.course.title)}",
        t("notebook.quiz.heading", number=len(names), total=len(names))]))
    body = quiz_cells(load_bank(kit), kit.course.quiz.points, seed, t)
    return _notebook([head, *body], {"file": QUIZ_MODULE, "quiz_seed": seed})


def heading(exercise: Exercise, course, t: Translator) -> str:
    title = f"## {t.text(exercise.title)} · {points(exercise.points)} {t('notebook.points')}"
    if exercise.functions:
        return title + "\n\n" + t("notebook.write", functions=", ".join(f"`{f}`" for f in exercise.functions))
    # an integration exercise: the functions it chains, and the notebooks they are written in
    names = notebook_names(course)
    required = [course.exercise(r) for r in course.with_requirements(exercise.requires)]
    functions = ", ".join(f"`{f}`" for r in required for f in r.functions)
    notebooks = ", ".join(dict.fromkeys(f"{names[r.file]}.ipynb" for r in required if r.file))
    return title + "\n\n" + t("notebook.integration", functions=functions, notebooks=notebooks)


def tests_source(exercise: Exercise, t: Translator) -> str:
    lines = [
        f"# {t('notebook.tests', exercise=exercise.id, points=points(exercise.points))}",
        HIDDEN_BEGIN,
        f"import autograder.instructor.nbgrader.hidden_tests as kit_tests  # {t('notebook.kit_needed')}",
        f"kit_tests.run_checks({exercise.id!r}, lang={t.language!r})",
        HIDDEN_END,
        f"from autograder.instructor.nbgrader.jupyter import check  # {t('notebook.check_comment')}",
        f"check({exercise.id!r}, lang={t.language!r})",
    ]
    return "\n".join(lines)

