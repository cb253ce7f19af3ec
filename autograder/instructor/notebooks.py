"""Notebooks back into the kit's submission form: one ``.py`` file per exercise file and
``quiz_answers.yml``, so a notebook is graded exactly like the same code given as files.

The notebooks are the ones `autograder.instructor.nbgrader.export` writes (names from `notebook_names`;
the quiz notebook's answers in ``quiz_answers = {...}``). A module is rebuilt from the code
cells of its notebook, in order:

- test cells (nbgrader ``grade`` without ``solution``) are left out;
- answer cells (nbgrader ``solution``) and locked cells (the setup) are kept whole, with IPython
  magics (``%timeit``, ``!pip``) commented out; one that does not compile becomes, for each
  function it defines, a function raising that ``SyntaxError``, so the others still count;
- any other cell (the student's own experiments) contributes only its definitions: ``def``,
  ``class``, assignments of literals and imports (guarded, so a plotting library missing where
  grading runs breaks nothing). Exploration code never runs at import.

Quiz answers are data: each value is read with ``ast.literal_eval``; a value that is not a
literal is kept as its source text (``1/4`` becomes ``"1/4"``, which the quiz reads) and
``None`` means unanswered. Nothing in a notebook is ever executed here.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course import Course

DEFAULT_ASSIGNMENT = "bn_dropout"  # the nbgrader assignment `grade export nbgrader` writes
QUIZ_MODULE = "quiz"
ANSWERS_NAME = "quiz_answers"
METADATA_KEY = "grade_kit"
"""Notebook metadata written by the exporter: {"file": ..., "exercises": [...], "quiz_seed": ...}."""
MAGIC = re.compile(r"^(\s*)(%|!(?!=))", re.MULTILINE)
DEF_NAME = re.compile(r"^def\s+([A-Za-z_]\w*)", re.MULTILINE)


# -- names ------------------------------------------------------------------------------------


def notebook_names(course: Course) -> dict[str, str]:
    """Student file -> notebook name (no extension), numbered in course order so that nbgrader,
    which lists and grades notebooks alphabetically, follows the course; the quiz comes last
    under the key ``"quiz"``."""
    files: list[str] = []
    for exercise in course.exercises:
        if exercise.file and exercise.file not in files:
            files.append(exercise.file)
    names = {file: f"{index:02d}_{file[:-3]}" for index, file in enumerate(files, 1)}
    if course.quiz is not None:
        names[QUIZ_MODULE] = f"{len(files) + 1:02d}_{QUIZ_MODULE}"
    return names


def notebook_of_exercise(course: Course, exercise_id: str) -> str:
    """The file whose notebook holds the exercise's test cell: its own file, or, for an
    integration exercise, the file of its last requirement in course order (so every notebook
    it needs comes before it)."""
    exercise = course.exercise(exercise_id)
    if exercise.file:
        return exercise.file
    files = [course.exercise(e).file for e in course.with_requirements([exercise_id]) if course.exercise(e).file]
    order = list(notebook_names(course))
    return max(files, key=order.index)


def assignment_seed(assignment: str) -> int:
    """The quiz seed of an assignment: every student of it gets the same numbers (nbgrader
    releases one notebook to the whole class), another assignment name gets others."""
    return int(hashlib.sha256(assignment.encode()).hexdigest()[:8], 16) % 2**31


# -- cells --------------------------------------------------------------------------------------


def _nbgrader(cell: Any) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def is_test_cell(cell: Any) -> bool:
    meta = _nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def is_kept_whole(cell: Any) -> bool:
    meta = _nbgrader(cell)
    return bool(meta.get("solution")) or bool(meta.get("locked"))


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.get("cells", []) if cell.get("cell_type") == "code"]


# -- modules ------------------------------------------------------------------------------------


def module_source(notebook: Any) -> str:
    """The student's module written in `notebook` (an nbformat node or plain JSON dict)."""
    parts = []
    for cell in code_cells(notebook):
        if is_test_cell(cell):
            continue
        source = without_magics(_source(cell))
        part = whole_cell(source) if is_kept_whole(cell) else definitions(source)
        if part.strip():
            parts.append(part.rstrip() + "\n")
    return "\n\n".join(parts)


def without_magics(source: str) -> str:
    """`source` with IPython magics (``%timeit``, ``!ls``) commented out, when it needs it:
    Python that compiles is left alone (``% 2`` or ``!= 0`` may start a continuation line)."""
    try:
        compile(source, "<cell>", "exec", dont_inherit=True)
        return source
    except (SyntaxError, ValueError, OverflowError):
        return MAGIC.sub(r"\1# \2", source)


def whole_cell(source: str) -> str:
    """An answer cell as is, or, when it does not compile, each function it defines replaced by
    one raising the SyntaxError (it is reported on that function only)."""
    try:
        compile(source, "<cell>", "exec", dont_inherit=True)
    except SyntaxError as error:
        message = f"{error.msg} (line {error.lineno} of its cell)"
        return "\n".join(f"def {name}(*args, **kwargs):\n    raise SyntaxError({message!r})\n"
                         for name in DEF_NAME.findall(source))
    except (ValueError, OverflowError):  # null bytes, literals too large
        return ""
    return source


def definitions(source: str) -> str:
    """The definitions of a cell: functions, classes, assignments of literals, and imports
    (guarded: a package missing where grading runs does not break the answers)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, OverflowError):
        return ""
    lines = source.splitlines()
    kept = []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = "\n".join(lines[start - 1:node.end_lineno])
        if isinstance(node, (ast.Import, ast.Assign, ast.AnnAssign)) or isinstance(node, ast.ImportFrom):
            text = ast.get_source_segment(source, node) or ""
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            kept.append("try:\n" + "\n".join("    " + line for line in text.splitlines())
                        + "\nexcept ImportError:\n    pass")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or (
                isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _literal(node.value)):
            kept.append(text)
    return "\n\n".join(kept)


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


# -- quiz answers ---------------------------------------------------------------------------------


def quiz_answers(notebook: Any) -> dict[str, Any]:
    """The answers in the ``quiz_answers`` assignments of the notebook's code cells: ``= {...}``,
    ``.update({...})`` and ``[key] = value``, in order; None values are unanswered."""
    answers: dict[str, Any] = {}
    for cell in code_cells(notebook):
        if is_test_cell(cell):
            continue
        source = _source(cell)
        try:
            tree = ast.parse(without_magics(source))
        except (SyntaxError, ValueError, OverflowError):
            continue
        for node in tree.body:
            _apply(node, answers, source)
    return {key: value for key, value in answers.items() if value is not None}


def _apply(node: ast.stmt, answers: dict[str, Any], source: str) -> None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == ANSWERS_NAME and isinstance(node.value, ast.Dict):
            answers.clear()
            answers.update(_dict(node.value, source))
        elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
              and target.value.id == ANSWERS_NAME):
            key = _value(target.slice, source)
            if isinstance(key, str):
                answers[key] = _value(node.value, source)
    elif (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
          and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "update"
          and isinstance(node.value.func.value, ast.Name) and node.value.func.value.id == ANSWERS_NAME
          and len(node.value.args) == 1 and isinstance(node.value.args[0], ast.Dict)):
        answers.update(_dict(node.value.args[0], source))


def _dict(node: ast.Dict, source: str) -> dict[str, Any]:
    result = {}
    for key, value in zip(node.keys, node.values):
        key_value = _value(key, source) if key is not None else None
        if isinstance(key_value, str):
            result[key_value] = _value(value, source)
    return result


def _value(node: ast.expr, source: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ast.get_source_segment(source, node) or ""


# -- a folder of notebooks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Converted:
    """What `write_submission` wrote."""

    files: list[str]
    """Student files written (``batchnorm.py``...), from the notebooks found."""
    quiz: bool
    """Whether ``quiz_answers.yml`` was written (the quiz notebook was found)."""


def read_notebook(path: Path) -> dict | None:
    """A notebook as plain JSON, or None when it is missing or unreadable (nothing is graded
    from it then, as for a missing file)."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def write_submission(course: Course, notebooks: Path, destination: Path, *, quiz_seed: int | None = None,
                     only: set[str] | None = None) -> Converted:
    """Turn the course's notebooks in `notebooks` into a submission folder `destination`
    (created): ``<file>.py`` per exercise notebook and ``quiz_answers.yml`` from the quiz
    notebook. `only` limits it to some files ("quiz" for the answers). The quiz seed is
    `quiz_seed`, else the one the notebook was exported with."""
    destination.mkdir(parents=True, exist_ok=True)
    written, quiz = [], False
    for file, name in notebook_names(course).items():
        if only is not None and file not in only:
            continue
        notebook = read_notebook(notebooks / f"{name}.ipynb")
        if notebook is not None and convert_notebook(file, notebook, destination, quiz_seed):
            if file == QUIZ_MODULE:
                quiz = True
            else:
                written.append(file)
    return Converted(written, quiz)


def convert_notebook(file: str, notebook: dict, destination: Path, quiz_seed: int | None = None) -> bool:
    """Write what one notebook holds into `destination`: the exercise file `file`, or for the
    quiz notebook (`file` == QUIZ_MODULE) ``quiz_answers.yml``, with `quiz_seed` or the seed
    it was exported with (no file without a seed). Whether a file was written."""
    from autograder.quiz.answers import ANSWERS_FILE, write_answers

    if file != QUIZ_MODULE:
        (destination / file).write_text(module_source(notebook), encoding="utf-8")
        return True
    seed = quiz_seed if quiz_seed is not None else exported_seed(notebook)
    if seed is not None:
        write_answers(destination / ANSWERS_FILE, seed, quiz_answers(notebook), shown_order=True)
    return seed is not None


def exported_seed(notebook: Any) -> int | None:
    seed = ((notebook.get("metadata") or {}).get(METADATA_KEY) or {}).get("quiz_seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None
