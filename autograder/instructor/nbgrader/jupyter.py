"""``check("bn_forward")`` in a released notebook: the kit's own feedback, inside Jupyter.

The visible part of each tests cell of an exported notebook reads::

    from autograder.instructor.nbgrader.jupyter import check
    check("bn_forward")

`check` grades that exercise as ``grade bn_forward`` does (Otter-Grader's ``grader.check`` is
the model), and never by running asserts in the student's kernel:

1. the functions the student has run in this kernel are written to files: every cell run so
   far, in order, contributes its definitions (functions, classes, imports, constants; the
   rules of `autograder.instructor.notebooks.definitions`), so what is graded is what the
   kernel holds, saved or not; a file none of whose functions this kernel defines (the
   functions of another notebook, for an integration exercise) comes from that notebook as
   saved next to this one;
2. the runner grades those files: student code runs in the sandboxed worker
   (`autograder.sandbox.client.Sandbox.for_kit`), expected values come from PyTorch in the
   kit's process;
3. the report (`autograder.ui.report.ReportView`, every check of the exercise) is printed with
   Rich, which renders in Jupyter, in the student's language: ``GRADE_LANG``, else the
   language the notebook was exported in, else the course's.

Under ``nbgrader autograde`` it does nothing: the hidden block before it has already graded
the cell and printed the same feedback.
"""

from __future__ import annotations

import ast
import os
import tempfile
from pathlib import Path

from autograder.i18n import ENV_VAR, Translator, choose_language
from autograder.instructor.notebooks import (
    convert_notebook,
    definitions,
    notebook_names,
    read_notebook,
    without_magics,
)


def check(exercise_id: str, *, lang: str | None = None) -> None:
    """Grade `exercise_id` with this kernel's functions and show the kit's report."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return None
    from rich.console import Console

    from autograder.grading.runner import grade
    from autograder.kit import Kit
    from autograder.ui.report import ReportView

    kit = Kit.locate()
    t = Translator(choose_language(os.environ.get(ENV_VAR) or lang, kit.course.default_language))
    if exercise_id not in kit.course.ids:
        raise ValueError(f"{exercise_id!r} is not an exercise of this course ({', '.join(kit.course.ids)})")
    with tempfile.TemporaryDirectory(prefix="grade-check-") as work:
        folder = Path(work)
        write_files(kit.course, exercise_id, folder, kernel_cells(), Path.cwd())
        report = grade(kit, folder, exercises=[exercise_id])
    report.directory = str(Path.cwd())
    Console(highlight=False).print(ReportView(report, kit.course, t, detail="all"))
    return None


def kernel_cells() -> list[str]:
    """The source of every cell run in this kernel so far, in order (empty outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    if shell is None:
        return []
    return [cell for cell in shell.history_manager.input_hist_raw if cell and cell.strip()]


def write_files(course, exercise_id: str, folder: Path, cells: list[str], notebooks: Path) -> list[str]:
    """Write the student files the exercise needs into `folder`: from the kernel's `cells` when
    they define one of the file's functions, else from that file's notebook in `notebooks`.
    Returns the files written from the kernel."""
    from autograder.instructor.notebooks import QUIZ_MODULE

    needed = list(dict.fromkeys(course.exercise(e).file for e in course.with_requirements([exercise_id])
                                if course.exercise(e).file))
    parts = [definitions(without_magics(cell)) for cell in cells]
    source = "\n\n".join(part for part in parts if part.strip()) + "\n"
    defined = _defined(source)
    names = notebook_names(course)
    from_kernel = []
    for file in needed:
        functions = {f for e in course.exercises if e.file == file for f in e.functions}
        if functions & defined:
            (folder / file).write_text(source, encoding="utf-8")
            from_kernel.append(file)
            continue
        notebook = read_notebook(notebooks / f"{names[file]}.ipynb") if file in names and file != QUIZ_MODULE else None
        if notebook is not None:
            convert_notebook(file, notebook, folder)
    return from_kernel


def _defined(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
