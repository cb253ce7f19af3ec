"""Recognise untouched stubs without running student code."""

from __future__ import annotations

import ast
from pathlib import Path

from autograder.course import Course


def not_started(course: Course, directory: Path) -> set[str]:
    """Exercises whose functions in `directory` are all still the untouched stubs (an
    integration exercise, with no functions of its own, is not started while all it requires
    is not started)."""
    stubs_by_file: dict[str, set[str]] = {}
    result: set[str] = set()
    for exercise in course.exercises:
        if exercise.file:
            if exercise.file not in stubs_by_file:
                stubs_by_file[exercise.file] = unimplemented(directory / exercise.file,
                                                             int(course.policy.max_file_mb * 2**20))
            if set(exercise.functions) <= stubs_by_file[exercise.file]:
                result.add(exercise.id)
        elif exercise.requires and set(exercise.requires) <= result:
            result.add(exercise.id)
    return result


def unimplemented(path: Path, max_bytes: int | None = None) -> set[str]:
    """Names of top-level functions in `path` whose body only raises NotImplementedError.

    A file that is missing or does not parse has no stubs (running it reports the problem),
    nor has a link or a file over `max_bytes` (not even read: the sandbox refuses it).
    When a name is defined twice, the last definition counts, as in Python.
    """
    try:
        if path.is_symlink() or (max_bytes is not None and path.stat().st_size > max_bytes):
            return set()
        return unimplemented_in(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return set()


def unimplemented_in(source: str) -> set[str]:
    """`unimplemented` for the text of a file (one that does not parse has no stubs)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    stub: dict[str, bool] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stub[node.name] = _only_raises_not_implemented(node.body)
        elif isinstance(node, (ast.Assign, ast.ImportFrom, ast.Import)):
            for name in _bound_names(node):
                stub[name] = False
    return {name for name, is_stub in stub.items() if is_stub}


def _only_raises_not_implemented(body: list[ast.stmt]) -> bool:
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc
    target = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(target, ast.Name) and target.id == "NotImplementedError"


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    return [alias.asname or alias.name.partition(".")[0] for alias in node.names]
