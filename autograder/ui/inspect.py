"""``grade inspect EXERCISE [CHECK] [--save DIR]``: run a check again and look at the arrays.

The exercise is graded as `grade` grades it (the student's functions in the sandbox worker,
`Sandbox.for_kit`; never in this process), while a recorder notes, check by check, every call
of a student function (its inputs and what came back) and every array comparison (the
student's array and PyTorch's). The chosen check (by default the first that fails) is then
shown: its inputs, and the student's output beside the expected one, first rows, the entries
outside the tolerance highlighted. ``--save DIR`` writes the inputs and both outputs as
``.npy`` files and prints three lines of Python that load them.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from autograder.arguments import FAILED, OK, Parser, TitledPanel, UsageError, common_options, make_console, open_kit
from autograder.course import Course, Tolerance
from autograder.grading.compare import outside_tolerance, witnessed
from autograder.grading.reference import Reference
from autograder.grading.results import CheckResult, ExerciseResult
from autograder.i18n import Translator
from autograder.kit import Kit
from autograder.sandbox.client import Opaque, Rng, Sandbox
from autograder.ui.commands import exercise_id, require_files
from autograder.ui.report import CheckDetails, check_line, display_path, first_explained

ROWS = 6
CELL = 10  # "-1.234e-05"


@dataclass
class Call:
    """One call of a student function during a check."""

    function: str
    inputs: list[tuple[str, Any]]
    """(parameter name, value) in call order."""
    value: Any = None


@dataclass
class Comparison:
    """One array of the student's compared with the expected one."""

    name: str
    function: str
    got: Any
    expected: np.ndarray
    call: Call | None
    """The call of `function` that produced it."""


@dataclass
class Record:
    calls: list[Call] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)


class Recorder:
    """A pytest plugin (with the sandbox below) that records each check's calls and comparisons."""

    def __init__(self, course: Course, directory: Path) -> None:
        self.course = course
        self.directory = directory
        self.records: dict[str, Record] = {}
        self.current = Record()
        self._parameters: dict[str, list[str]] = {}

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        exercise = next(e.id for e in self.course.exercises if e.checks == item.module.__name__.rpartition(".")[2])
        self.current = self.records[f"{exercise}::{item.name.removeprefix('test_')}"] = Record()
        with witnessed(self.compared):
            return (yield)

    def called(self, module: str, function: str, args: tuple, kwargs: dict) -> Call:
        names = self.parameters(module, function)
        inputs = [(names[i] if i < len(names) else f"arg{i}", value) for i, value in enumerate(args)]
        call = Call(function, inputs + list(kwargs.items()))
        self.current.calls.append(call)
        return call

    def compared(self, name: str, function: str, got: Any, expected: np.ndarray) -> None:
        call = next((c for c in reversed(self.current.calls) if c.function == function), None)
        self.current.comparisons.append(Comparison(name, function, got, expected, call))

    def parameters(self, module: str, function: str) -> list[str]:
        """The parameter names of a student function, read from its file (never run here)."""
        if function not in self._parameters:
            names: list[str] = []
            try:
                tree = ast.parse((self.directory / f"{module}.py").read_text(encoding="utf-8"))
                node = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function][-1]
                names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
            except (OSError, SyntaxError, ValueError, IndexError):
                pass
            self._parameters[function] = names
        return self._parameters[function]


class RecordingSandbox(Sandbox):
    """The grading sandbox, telling a `Recorder` about every call."""

    recorder: Recorder

    def call(self, module: str, function: str, args: tuple = (), kwargs: dict | None = None, *,
             echo_args: bool = False):
        record = self.recorder.called(module, function, args, dict(kwargs or {}))
        result = super().call(module, function, args, kwargs, echo_args=echo_args)
        record.value = result.value
        return result


# -- the command -------------------------------------------------------------------------------


def main(argv: list[str], t: Translator) -> int:
    parser = Parser(t, prog="grade inspect", description=t("inspect.help.description"))
    parser.add_argument("exercise", metavar="EXERCISE", help=t("inspect.help.exercise"))
    parser.add_argument("check", nargs="?", metavar="CHECK", help=t("inspect.help.check"))
    parser.add_argument("--save", metavar="DIR", help=t("inspect.help.save"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    exercise = exercise_id(kit, args.exercise, t)
    directory = kit.exercises_dir.resolve()
    require_files(kit, directory, [exercise], t)
    result, recorder = run_recorded(kit, directory, exercise, t)
    console = make_console()
    if result.not_started:
        console.print(t("inspect.not_started", exercise=exercise))
        return FAILED
    check = choose_check(result, args.check, t)
    if check is None:
        console.print(Text(t("inspect.all_pass", exercise=exercise), style="bold green"))
        return OK
    record = recorder.records.get(check.id, Record())
    tolerance = kit.course.policy.tolerance
    console.print(InspectView(check, record, t, tolerance))
    if args.save:
        save(Path(args.save), check, record, console, t)
    return OK if check.passed else FAILED


def run_recorded(kit: Kit, directory: Path, exercise: str, t: Translator,
                 reference: Reference | None = None) -> tuple[ExerciseResult, Recorder]:
    """Grade `exercise` (no cached result: its checks must run) with every call recorded."""
    from autograder.grading.runner import grade
    from autograder.sandbox.client import SandboxError

    recorder = Recorder(kit.course, directory)
    sandbox = RecordingSandbox.for_kit(kit, directory)
    sandbox.recorder = recorder
    try:
        report = grade(kit, directory, exercises=[exercise], sandbox=sandbox, reference=reference,
                       plugins=(recorder,))
    except SandboxError as error:
        raise UsageError(t("errors.sandbox", message=str(error).splitlines()[0])) from None
    finally:
        sandbox.close()
    return report.exercise(exercise), recorder


def choose_check(result: ExerciseResult, name: str | None, t: Translator) -> CheckResult | None:
    """The check named (by its name, a unique start of it, or its number), else the first
    that fails on its own (or waits for another exercise)."""
    checks = result.checks
    if name is None:
        return first_explained(result) or result.first_failure
    names = [check.id.partition("::")[2] for check in checks]
    if name.isdigit() and 1 <= int(name) <= len(checks):
        return checks[int(name) - 1]
    matching = [check for check, full in zip(checks, names) if full == name] or [
        check for check, full in zip(checks, names) if full.startswith(name)]
    if len(matching) >= 1 and (len(matching) == 1 or name in names):
        return matching[0]
    close = difflib.get_close_matches(name, names, n=1)
    raise UsageError(t("inspect.errors.unknown_check", name=name, exercise=result.id,
                       suggestion=t("errors.did_you_mean", name=close[0]) if close else "",
                       checks=", ".join(f"{i} {n}" for i, n in enumerate(names, 1))))


# -- showing ------------------------------------------------------------------------------------


def failing_comparison(check: CheckResult, record: Record) -> Comparison | None:
    """The comparison a failed check failed on (the last one of the array its failure
    names; None when it failed on something else, a property or an exception); for a check
    that passed, its last comparison."""
    if check.passed:
        return record.comparisons[-1] if record.comparisons else None
    params = check.feedback.summary.params if check.feedback is not None else {}
    return next((c for c in reversed(record.comparisons)
                 if c.name == params.get("name") and c.function == params.get("function")), None)


def the_call(comparison: Comparison | None, record: Record) -> Call | None:
    """The call that produced the compared array, else the check's last call."""
    if comparison is not None and comparison.call is not None:
        return comparison.call
    return record.calls[-1] if record.calls else None


def describe(value: Any) -> str:
    """An input or output in a few words: an array's shape and dtype, a number, a type."""
    if isinstance(value, np.ndarray):
        return f"{value.shape} {value.dtype}"
    if isinstance(value, Rng):
        return f"numpy.random.default_rng({value.seed})"
    if isinstance(value, Opaque):
        return value.text
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(describe(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {describe(v)}" for k, v in value.items()) + "}"
    return repr(value)


@dataclass
class InspectView:
    """The check, the call that produced the array it failed on, and the two arrays."""

    check: CheckResult
    record: Record
    t: Translator
    tolerance: dict[str, Tolerance]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, check = self.t, self.check
        yield check_line(check, t)
        if not check.passed:
            yield from CheckDetails(check, t).renderables()
        comparison = failing_comparison(check, self.record)
        call = the_call(comparison, self.record)
        if call is None:
            yield Text(t("inspect.no_call"), style="dim")
            return
        inputs = Table.grid(padding=(0, 1))
        inputs.add_column(style="bold", no_wrap=True)
        inputs.add_column()
        for name, value in call.inputs:
            inputs.add_row(name, describe(value))
        yield TitledPanel(inputs, t("inspect.inputs", function=call.function), border_style="dim")
        if comparison is None:
            yield Text(t("inspect.returned", function=call.function, value=describe(call.value)))
            return
        yield SideBySide(comparison, t, self.tolerance)


@dataclass
class SideBySide:
    """The expected array and the student's, first rows side by side (each wrapped into rows
    of a 2-D table); the student's entries outside the tolerance in red."""

    comparison: Comparison
    t: Translator
    tolerance: dict[str, Tolerance]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        t, comparison = self.t, self.comparison
        expected, got = comparison.expected, comparison.got
        expected_title = Text(t("inspect.expected", name=comparison.name, shape=describe(expected)), style="bold")
        if not isinstance(got, np.ndarray) or got.dtype.kind not in "biuf":
            yield Text(t("inspect.not_an_array", name=comparison.name, value=describe(got)))
            yield Group(expected_title, table(as_rows(expected), options.max_width, None))
            return
        yours_title = Text(t("inspect.yours", name=comparison.name, shape=describe(got)), style="bold")
        if got.shape != expected.shape:  # one above the other: entries cannot be paired
            yield Group(expected_title, table(as_rows(expected), options.max_width, None))
            yield Group(yours_title, table(as_rows(got), options.max_width, None))
            return
        tol = self.tolerance["float32" if got.dtype == np.float32 else "float64"]
        wrong = as_rows(outside_tolerance(got.astype(np.float64), expected.astype(np.float64), tol)[0])[1]
        half = (options.max_width - 1) // 2
        rows = focus_rows(wrong)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=half)
        grid.add_column(width=half)
        grid.add_row(expected_title, yours_title)
        grid.add_row(table(as_rows(expected), half, None, rows), table(as_rows(got), half, wrong, rows))
        yield grid
        yield Text(t("inspect.legend", count=int(wrong.sum()), total=wrong.size), style="dim")


def as_rows(array: np.ndarray) -> tuple[list[str], np.ndarray]:
    """A 2-D view: row labels and the values (a 1-D array is one row; leading axes are folded
    into the rows, labelled by their indices)."""
    array = np.asarray(array)
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        array = array.reshape(1, -1)
    leading = array.shape[:-1]
    labels = [",".join(str(i) for i in index) for index in np.ndindex(*leading)]
    return labels, array.reshape(-1, array.shape[-1])


def focus_rows(wrong: np.ndarray) -> list[int]:
    """The first rows, and the first row with a wrong entry when it comes later."""
    rows = list(range(min(ROWS, wrong.shape[0])))
    bad = np.flatnonzero(wrong.any(axis=1))
    if bad.size and bad[0] not in rows:
        rows = rows[:-1] + [int(bad[0])]
    return rows


def table(labelled: tuple[list[str], np.ndarray], width: int, wrong: np.ndarray | None,
          rows: list[int] | None = None) -> Table:
    """The first `rows` of a 2-D array and as many columns as fit in `width`; the entries
    where `wrong` is true in red."""
    labels, values = labelled
    label_width = max(len(label) for label in labels)
    columns = max(1, min(values.shape[1], (width - label_width - 4) // (CELL + 1)))
    rows = rows if rows is not None else list(range(min(ROWS, values.shape[0])))
    grid = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0, 0, 1),
                 caption=more_caption(values.shape, len(rows), columns), caption_justify="left")
    grid.add_column("", style="dim", no_wrap=True, min_width=label_width)
    for j in range(columns):
        grid.add_column(str(j), justify="right", no_wrap=True, min_width=CELL)
    previous = -1
    for i in rows:
        if i != previous + 1:
            grid.add_row("⋮", *[""] * columns)
        cells = [Text(f"{values[i, j]:.4g}", style="bold red" if wrong is not None and wrong[i, j] else "")
                 for j in range(columns)]
        grid.add_row(labels[i], *cells)
        previous = i
    return grid


def more_caption(shape: tuple, rows: int, columns: int) -> str | None:
    hidden = []
    if shape[0] > rows:
        hidden.append(f"+{shape[0] - rows} ↓")
    if shape[1] > columns:
        hidden.append(f"+{shape[1] - columns} →")
    return " ".join(hidden) or None


# -- saving -------------------------------------------------------------------------------------


def save(folder: Path, check: CheckResult, record: Record, console: Console, t: Translator) -> None:
    """The call's input arrays, the student's output and the expected one as .npy files, and
    three lines that load them."""
    comparison = failing_comparison(check, record)
    call = the_call(comparison, record)
    if call is None:
        raise UsageError(t("inspect.errors.nothing_to_save", check=check.id))
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for name, value in call.inputs:
        for file_name, array in arrays_in(name, value):
            np.save(folder / f"{file_name}.npy", array, allow_pickle=False)
            names.append(file_name)
    outputs = []
    for output in record.comparisons:
        if isinstance(output.got, np.ndarray) and output.got.dtype.kind in "biuf":
            np.save(folder / f"{output.name}.yours.npy", output.got, allow_pickle=False)
            np.save(folder / f"{output.name}.expected.npy", output.expected, allow_pickle=False)
            outputs.append(output.name)
    shown = display_path(folder)
    loaded = comparison.name if comparison is not None and comparison.name in outputs else None
    snippet = ["import numpy as np", load_line(names, shown)]
    if loaded:
        snippet.append(f"yours, expected = np.load(\"{shown}/{loaded}.yours.npy\"), "
                       f"np.load(\"{shown}/{loaded}.expected.npy\")")
    console.print(t("inspect.saved", folder=shown, count=len(names) + 2 * len(outputs)))
    console.print(Text("\n".join(snippet)), soft_wrap=True)


def load_line(names: list[str], folder: str) -> str:
    """One line of Python that loads the saved inputs under their own names."""
    if len(names) == 1:
        return f"{names[0]} = np.load(\"{folder}/{names[0]}.npy\")"
    return f"{', '.join(names)} = (np.load(f\"{folder}/{{n}}.npy\") for n in {tuple(names)!r})"


def arrays_in(name: str, value: Any) -> list[tuple[str, np.ndarray]]:
    """(file name, array) for an input: the array itself, or the arrays inside a tuple, list
    or dict (``cache.0``, ``cache.1``...)."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return [(name, value)]
    if isinstance(value, (tuple, list)):
        return [item for i, v in enumerate(value) for item in arrays_in(f"{name}_{i}", v)]
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in arrays_in(f"{name}_{k}", v)]
    return []

