"""Per-student feedback files of `grade batch`: ``OUT/feedback/<student>.md`` and ``.html``.

Each holds exactly the report the student would see by running ``grade`` on their own files
(`autograder.ui.report.ReportView`, the whole course, the first failure of each exercise),
rendered once by Rich: as plain text in a Markdown code block, and as HTML with its colours.
Nothing more: no seed, no late penalty, no score of anyone else, and paths relative to the
student's own folder (shown as ``<student>/``), never the grader's.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

from autograder.course import Course
from autograder.grading.results import GradeReport
from autograder.i18n import Translator
from autograder.state import atomic_write

WIDTH = 100
"""Columns of the rendered report (what a wide terminal shows)."""


def render(report: GradeReport, course: Course, t: Translator, student: str) -> tuple[str, str]:
    """The report as (plain text, HTML page); the report's folder is named after `student`."""
    from rich.console import Console

    from autograder.ui.report import ReportView

    folder = Path(report.directory)
    console = Console(record=True, width=WIDTH, file=io.StringIO(), color_system="truecolor", highlight=False)
    with _inside(folder.parent):  # paths are shown relative to the folder holding the student's
        console.print(ReportView(report, course, t))
    text = console.export_text(clear=False, styles=False)
    html = console.export_html(inline_styles=True)
    return text, html


def markdown(text: str) -> str:
    """`text` as a Markdown code block (a fence longer than any backtick run inside)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}\n"


def write(report: GradeReport, course: Course, t: Translator, student: str, folder: Path) -> list[Path]:
    """Write ``<folder>/<student>.md`` and ``.html`` (atomically); their paths."""
    text, html = render(report, course, t, student)
    paths = [folder / f"{student}.md", folder / f"{student}.html"]
    atomic_write(paths[0], markdown(text).encode("utf-8"))
    atomic_write(paths[1], html.encode("utf-8"))
    return paths


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)
