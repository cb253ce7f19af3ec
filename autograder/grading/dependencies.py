"""Which functions of other exercises a student's code builds on, found by reading it.

An exercise's file, and the files of its folder that it imports (import statements), are
searched for the names of the course's functions. A check uses this to tell a mistake of its
own exercise from one of a function it builds on (spatial batch norm written with the (N, D)
batchnorm_forward, say): only then does it probe that function, and a wrong answer there makes
the check "blocked by" its exercise instead of failed.
"""

from __future__ import annotations

import ast
from pathlib import Path

from autograder.course import Course


def builds_on(course: Course, directory: Path, exercise_id: str) -> set[str]:
    """Functions of other exercises that `exercise_id`'s file, or a local file it imports,
    names (imports, calls or attributes)."""
    exercise = course.exercise(exercise_id)
    if exercise.file is None:
        return set()
    others = {f for e in course.exercises if e.id != exercise_id for f in e.functions}
    pending, seen, named = {exercise.file}, set(), set()
    while pending:
        name = pending.pop()
        seen.add(name)
        tree = _parse(Path(directory) / name)
        if tree is None:
            continue
        named |= _names(tree) & others
        pending |= local_imports(Path(directory) / name, tree) - seen
    return named


def local_imports(path: Path, tree: ast.AST | None = None) -> set[str]:
    """Files next to `path` that its import statements name (``import batchnorm``,
    ``from batchnorm import ...``)."""
    tree = tree if tree is not None else _parse(path)
    if tree is None:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.partition(".")[0])
    return {f"{name}.py" for name in names if (path.parent / f"{name}.py").is_file()}


def _parse(path: Path) -> ast.AST | None:
    try:
        return ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None


def _names(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.add(node.name.rpartition(".")[2])
    return found
