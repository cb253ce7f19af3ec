"""Notebook cells with nbgrader's cell metadata, schema version 3.

Three kinds are used (nbgrader's names in its "Create Assignment" toolbar):

    kind          cell      grade  solution  locked  points   what
    read_only     md/code   no     no        yes     -        intro, setup code
    answer        code      no     yes       no      -        "Autograded answer": the student's code
    tests         code      yes    no        yes     yes      "Autograder tests": scored by its output

Every nbgrader cell carries ``grade``, ``grade_id``, ``locked``, ``schema_version`` (3),
``solution`` and ``task``; grade cells add ``points``. ``grade_id`` is unique in a notebook.
"""

from __future__ import annotations

import re

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell

SCHEMA_VERSION = 3
GRADE_ID = re.compile(r"^[a-zA-Z0-9_\-]+$")


def metadata(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
             points: float | None = None) -> dict:
    if not GRADE_ID.match(grade_id):
        raise ValueError(f"invalid nbgrader grade_id {grade_id!r}")
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def read_only_markdown(grade_id: str, text: str) -> NotebookNode:
    return new_markdown_cell(text.strip(), metadata=metadata(grade_id, locked=True))


def read_only_code(grade_id: str, source: str) -> NotebookNode:
    return new_code_cell(source.strip(), metadata=metadata(grade_id, locked=True))


def answer(grade_id: str, source: str) -> NotebookNode:
    return new_code_cell(source.strip(), metadata=metadata(grade_id, solution=True))


def tests(grade_id: str, source: str, points: float) -> NotebookNode:
    return new_code_cell(source.strip(), metadata=metadata(grade_id, grade=True, locked=True, points=points))
