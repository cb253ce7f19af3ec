"""The pytest plugin that runs the hidden checks and turns their outcomes into results.

`grade` runs ``pytest.main([...check files], plugins=[GradingPlugin(...)])`` in-process. The
plugin provides the checks' fixtures (``student``, ``reference``, ``rng``, ``tolerance``,
``gradients``, ``builds_on``), orders the checks as course.yml orders the exercises, skips
exercises that are still stubs, and records one `CheckResult` per check, of kind "contract"
when the check is marked ``@pytest.mark.contract`` (else "math"). A check that fails inside a
function of another exercise that is not passing is recorded as "blocked by" that exercise.
"""

from __future__ import annotations

import time
import zlib
from pathlib import PurePath
from typing import Callable

import numpy as np
import pytest

from autograder.course import Course, Tolerance
from autograder.grading.dependencies import builds_on
from autograder.grading.feedback import CheckFailed, Feedback
from autograder.grading.reference import Reference
from autograder.grading.results import CheckResult, ExerciseResult, Kind
from autograder.grading.student import Student
from autograder.i18n import Msg, msg
from autograder.sandbox.client import (
    Crashed,
    Exceeded,
    Exited,
    Forbidden,
    ImportFailed,
    MissingFunction,
    Raised,
    Refused,
    Sandbox,
    StudentError,
    TimedOut,
    Unencodable,
)

OnCheck = Callable[[CheckResult, int, int], None]


class GradingPlugin:
    def __init__(self, course: Course, sandbox: Sandbox, reference: Reference, *, seed: int,
                 run: list[str], not_started: set[str], on_check: OnCheck | None = None,
                 advice: bool = False, known: dict[str, ExerciseResult] | None = None,
                 sandboxes: dict[str, Sandbox] | None = None) -> None:
        self.course = course
        self.exercise_of_module = {e.checks: e.id for e in course.exercises}
        self.advice = advice
        self.scored = 0  # scored checks among the collected ones
        self.target(sandbox, reference, seed=seed, run=run, not_started=not_started, on_check=on_check,
                    known=known, sandboxes=sandboxes)

    def target(self, sandbox: Sandbox, reference: Reference, *, seed: int, run: list[str], not_started: set[str],
               on_check: OnCheck | None = None, known: dict[str, ExerciseResult] | None = None,
               sandboxes: dict[str, Sandbox] | None = None) -> None:
        """Grade this folder (`sandbox.directory`) next, from fresh results: a session that
        stays open (`runner.grade_many`) grades one folder after another."""
        course = self.course
        self.default = self.proxy = Student(sandbox, course)  # the current check's: set up with it
        own = {id(sandbox): self.default}
        self.proxies = {exercise: own.setdefault(id(other), Student(other, course))
                        for exercise, other in (sandboxes or {}).items()}
        """Exercises graded in a sandbox of their own (`sandboxes`: allowed imports) -> its proxy."""
        self._reference = reference
        self.seed = seed
        self.not_started = not_started
        self.on_check = on_check
        self.results = {e.id: ExerciseResult(e.id, e.points, not_started=e.id in not_started,
                                             contract_share=course.policy.contract_share)
                        for e in course.exercises if e.id in run}
        self.known = known or {}  # results of prerequisites graded earlier (for "blocked by")
        self.done = 0
        self.started = 0.0
        self.gradient_rows: list = []
        self.directory = sandbox.directory
        self._builds_on: dict[str, set[str]] = {}
        self.total = self.scored

    # -- fixtures ----------------------------------------------------------------------------

    @pytest.fixture
    def student(self, request: pytest.FixtureRequest) -> Student:
        """The student's functions, run in the sandbox of the check's exercise."""
        return self.proxy_for(request.node)

    def proxy_for(self, item: pytest.Item) -> Student:
        return self.proxies.get(self.exercise(item), self.default)

    @pytest.fixture
    def reference(self) -> Reference:
        """PyTorch reference computations (cached)."""
        return self._reference

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        """Random inputs for this check: the same for the same seed and check."""
        return np.random.default_rng([self.seed, zlib.crc32(self.check_id(request.node).encode())])

    @pytest.fixture
    def builds_on(self, request: pytest.FixtureRequest) -> set[str]:
        """Functions of other exercises that this exercise's code names (`dependencies.builds_on`)."""
        exercise = self.exercise(request.node)
        if exercise not in self._builds_on:
            self._builds_on[exercise] = builds_on(self.course, self.directory, exercise)
        return self._builds_on[exercise]

    @pytest.fixture
    def gradients(self) -> list:
        """Rows of the gradient-check view (`autograder.grading.gradcheck.GradientRow`) for this check."""
        self.gradient_rows = []
        return self.gradient_rows

    @pytest.fixture
    def tolerance(self) -> Callable[..., Tolerance]:
        """``tolerance(dtype, case=None)``: how close a result of that dtype must be; a case
        with its own entry in course.yml's tolerance table (e.g. "large_offset") uses it."""
        table = self.course.policy.tolerance

        def lookup(dtype, case: str | None = None) -> Tolerance:
            if case in table:
                return table[case]
            return table["float32"] if np.dtype(dtype) == np.float32 else table["float64"]

        return lookup

    # -- hooks -------------------------------------------------------------------------------

    def pytest_collection_modifyitems(self, session, config, items: list[pytest.Item]) -> None:
        order = {exercise_id: i for i, exercise_id in enumerate(self.course.ids)}
        items[:] = [item for item in items if self.exercise(item) in self.results
                     and (self.advice or not is_advice(item))]
        # Advice runs after every scored check: its large batch may time out, and a timed-out
        # function is not called again in the same run.
        items.sort(key=lambda item: (is_advice(item), order[self.exercise(item)]))
        self.total = self.scored = sum(not is_advice(item) for item in items)

    def pytest_runtest_protocol(self, item: pytest.Item, nextitem) -> bool | None:
        if is_advice(item) and self.results[self.exercise(item)].status != "passed":
            return True  # advice is for code that already works
        if self.exercise(item) in self.not_started:
            self._add(CheckResult(self.check_id(item), self.exercise(item), self.title(item), "not_started",
                                  kind=kind(item)))
            return True  # a stub: nothing to run
        return None

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.proxy = self.proxy_for(item)
        self.proxy.forget()
        self.started = time.perf_counter()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        if is_advice(item):
            if call.when == "call" and call.excinfo is not None:
                self._advise(self.results[self.exercise(item)], call.excinfo.value)
        elif call.when == "call" or (call.when == "setup" and report.failed):
            self._add(self._result(item, call))
        return report

    # -- results -----------------------------------------------------------------------------

    def exercise(self, item: pytest.Item) -> str:
        return self.exercise_of_module[item.module.__name__.rpartition(".")[2]]

    def check_id(self, item: pytest.Item) -> str:
        return f"{self.exercise(item)}::{item.name.removeprefix('test_')}"

    def title(self, item: pytest.Item) -> Msg:
        name = getattr(item, "originalname", item.name).removeprefix("test_")
        params = {}
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            params["case"] = msg(f"checks.{self.exercise(item)}.cases.{callspec.id}")
        return Msg(f"checks.{self.exercise(item)}.{name}", params)

    @staticmethod
    def _advise(result: ExerciseResult, error: BaseException) -> None:
        """An advisory check's failure becomes a note; a timeout there is advice too."""
        note = None
        if isinstance(error, CheckFailed):
            note = error.feedback.summary
        elif isinstance(error, TimedOut):
            note = msg("advice.too_slow", function=error.function, seconds=f"{error.detail.get('seconds', 0):g}")
        if note is not None and note not in result.notes:
            result.notes.append(note)

    def _result(self, item: pytest.Item, call: pytest.CallInfo) -> CheckResult:
        exercise = self.exercise(item)
        output = "".join(self.proxy.output)[: self.course.policy.output_limit]
        result = CheckResult(self.check_id(item), exercise, self.title(item), "passed",
                             output=output, output_bytes=self.proxy.output_bytes,
                             duration=time.perf_counter() - self.started, gradients=self.gradient_rows,
                             kind=kind(item))
        self.gradient_rows = []
        if call.excinfo is None:
            return result
        error = call.excinfo.value
        owner = None
        if isinstance(error, CheckFailed):
            result.feedback, owner = error.feedback, error.owner
        elif isinstance(error, StudentError):
            result.feedback, owner = feedback_for(error), self._owner(error)
            result.feedback.rule = getattr(error, "rule", None)  # see compare.rule
        else:
            result.feedback = Feedback("internal", msg("feedback.internal", error=f"{type(error).__name__}: {error}"))
        result.outcome = "failed"
        owner_result = self.results.get(owner) or self.known.get(owner)
        if (owner and owner != exercise and owner_result is not None and owner_result.status != "passed"
                and not self._own_file_broken(exercise, error)):
            result.outcome, result.blocked_by = "blocked", owner
        return result

    def _own_file_broken(self, exercise: str, error: BaseException) -> bool:
        """The exercise's own file does not import: that, not a prerequisite, is its problem."""
        return isinstance(error, ImportFailed) and error.module == self.course.exercise(exercise).module

    def _owner(self, error: StudentError) -> str | None:
        """The exercise whose function failed: the innermost graded function on the stack."""
        for frame in reversed(error.frames):
            exercise = self.course.owner(frame["function"])
            if exercise is not None:
                return exercise.id
        exercise = self.course.owner(error.function)
        return exercise.id if exercise else None

    def _add(self, result: CheckResult) -> None:
        self.results[result.exercise].checks.append(result)
        self.done += 1
        if self.on_check is not None:
            self.on_check(result, self.done, self.total)


def kind(item: pytest.Item) -> Kind:
    """A check marked ``@pytest.mark.contract`` tests a rule of the kit's API; the others the
    mathematics."""
    return "contract" if item.get_closest_marker("contract") is not None else "math"


def is_advice(item: pytest.Item) -> bool:
    """An advisory check: never scored; a failure becomes a note on its exercise."""
    return item.get_closest_marker("advice") is not None


def feedback_for(error: StudentError) -> Feedback:
    """Explain a failure of student code (before any value could be compared)."""
    detail = error.detail
    where = {"function": error.function, "module": error.module}
    location = dict(error.frames[-1]) if error.frames else None
    if isinstance(error, Refused):
        return _refused_feedback(error, location)
    if isinstance(error, ImportFailed):
        if detail.get("type") == "ModuleNotFoundError" and f"'{error.module}'" in detail.get("message", ""):
            return Feedback("import", msg("feedback.file_missing", **where))
        syntax = detail.get("syntax")
        if syntax and syntax.get("file"):  # a file that cannot be decoded has no line to show
            location = {"file": syntax["file"], "line": syntax["line"], "function": None, "code": syntax["text"],
                        "column": syntax.get("offset") if isinstance(syntax.get("offset"), int) else None}
        return Feedback("import", msg("feedback.import", **where, type=detail.get("type", "?"),
                                      message=detail.get("message", "")), location=location)
    if isinstance(error, MissingFunction):
        key = "feedback.not_callable" if detail.get("present") else "feedback.missing"
        return Feedback("missing", msg(key, **where))
    if isinstance(error, Forbidden):
        operation = detail.get("operation")
        if isinstance(operation, dict) and operation.get("kind") in FORBIDDEN_OPERATIONS:
            who = f"{error.module}.py" if detail.get("kind") == "import" else error.function
            return Feedback("forbidden", msg(f"feedback.forbidden_{operation['kind']}", who=who,
                                             target=str(operation.get("target", ""))), location=location)
        modules = ", ".join(detail.get("modules", [])) or detail.get("message", "")
        if detail.get("kind") == "import":
            return _forbidden_import_feedback(error, modules, location)
        return Feedback("forbidden", msg("feedback.forbidden", **where, modules=modules), location=location)
    if isinstance(error, Exceeded):
        return Feedback("crash", msg("feedback.scratch_full", **where, megabytes=detail.get("megabytes", 0)))
    if isinstance(error, TimedOut):
        key = "feedback.timeout_import" if detail.get("importing") else "feedback.timeout"
        return Feedback("timeout", msg(key, **where, seconds=f"{detail['seconds']:g}"))
    if isinstance(error, Crashed):
        return _crash_feedback(error, where)
    if isinstance(error, Exited):
        return Feedback("exit", msg("feedback.exit", **where, code=detail.get("exit_code", "")), location=location)
    if isinstance(error, Unencodable):
        return Feedback("type", msg("feedback.unencodable", **where, message=detail.get("message", "")))
    if isinstance(error, Raised) and error.not_implemented:
        return Feedback("not_implemented", msg("feedback.not_implemented", **where), location=location)
    key = "feedback.memory" if detail.get("type") == "MemoryError" else "feedback.exception"
    return Feedback("exception", msg(key, **where, type=detail.get("type", "?"),
                                     message=detail.get("message", "")), location=location)


FORBIDDEN_OPERATIONS = ("process", "signal", "native", "write", "network", "limits")


def _forbidden_import_feedback(error: StudentError, modules: str, location: dict | None) -> Feedback:
    """A forbidden import at import time, named where it is: the file and line of the import
    statement, which may be in a helper module the graded file imports."""
    module_file = f"{error.module}.py"
    if not location:
        return Feedback("forbidden", msg("feedback.forbidden_import", file=module_file, line="?", modules=modules))
    file = PurePath(location["file"]).name
    key = "feedback.forbidden_import" if file == module_file else "feedback.forbidden_import_via"
    return Feedback("forbidden", msg(key, file=file, line=location["line"], modules=modules, module=error.module),
                    location=location)


def _refused_feedback(error: StudentError, location: dict | None) -> Feedback:
    """A file the sandbox left out of its copy of the submission (a link, too large...)."""
    from autograder.sandbox.snapshot import MAX_FILES

    refused = error.detail["refused"]
    reasons = ("symlink", "too_large", "not_a_file", "too_many")
    reason = refused["reason"] if refused["reason"] in reasons else "not_a_file"
    size = f"{refused.get('size', 0) / 2**20:.1f}"
    return Feedback("import", msg(f"feedback.refused_{reason}", file=refused["file"], size=size,
                                  limit=f"{error.detail.get('limit_mb', 0):g}", count=MAX_FILES),
                    location=location, data={"refused": refused})


def _crash_feedback(error: StudentError, where: dict) -> Feedback:
    detail = error.detail
    if "protocol" in detail:  # the details are for instructors (JSON), not the student
        return Feedback("crash", msg("feedback.protocol", **where), data={"protocol": detail["protocol"]})
    if detail.get("signal") == "SIGXCPU":
        return Feedback("crash", msg("feedback.cpu_time", **where, seconds=f"{detail.get('seconds', 0):g}"))
    if detail.get("signal"):
        summary = msg("feedback.crash_signal", **where, signal=detail["signal"])
    else:
        summary = msg("feedback.crash_exit", **where, code=detail.get("returncode"))
    location = dict(error.frames[-1]) if error.frames else None
    return Feedback("crash", summary, location=location)
