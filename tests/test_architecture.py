"""The package's layout: wings with documented rules, and imports that only go down.

The rule itself is the import-linter contract in pyproject.toml; these tests run it on the
kit, and on a copy of the kit with one upward import added, which it must refuse.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT

PACKAGE = ROOT / "autograder"
WINGS = ["sandbox", "grading", "ui", "lab", "quiz", "instructor", "instructor/batch", "instructor/nbgrader"]
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
        "sys.exit(lint_imports_command())", "--no-cache", "--no-logo"]


def lint(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([*LINT, str(root / "pyproject.toml")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_imports_only_go_down():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, upward", [
    ("autograder/kit.py", "autograder.grading.runner"),         # ground -> grading
    ("autograder/sandbox/client.py", "autograder.quiz.bank"),   # sandbox -> quiz
    ("autograder/grading/results.py", "autograder.ui.report"),  # grading -> ui
    ("autograder/sandbox/worker.py", "autograder.kit"),         # the worker -> the kit
    ("autograder/lab/views.py", "autograder.ui.report"),        # lab -> ui, its sibling
    ("autograder/lab/driver.py", "autograder.lab.experiment"),  # the lab's driver -> the kit
    ("autograder/grading/torch_probe.py", "autograder.grading.compare"),  # the probe -> the kit
])
def test_an_upward_import_breaks_the_rule(tmp_path, module, upward):
    shutil.copytree(PACKAGE, tmp_path / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n\ndef _upward():\n    import {upward}  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and upward in result.stdout


def test_the_package_holds_at_most_eight_modules_directly():
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 8, modules


@pytest.mark.parametrize("wing", WINGS)
def test_each_wing_says_what_it_is_for_and_what_it_may_import(wing):
    docstring = ast.get_docstring(ast.parse((PACKAGE / wing / "__init__.py").read_text()))
    assert docstring and len(docstring.splitlines()) >= 3, wing
    assert "May import" in docstring or "may import" in docstring, wing
