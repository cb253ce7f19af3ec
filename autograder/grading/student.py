"""The student's functions as the checks see them: ``student.batchnorm_forward(x, ...)``.

Each call runs in the `Sandbox` worker. The proxy knows which exercise owns each function
(from course.yml), collects what the student's code printed during the current check, and
makes sure a failure is attributed to the exercise whose function failed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.course import Course
from autograder.sandbox.client import Call, Sandbox, StudentError


class Student:
    """Attribute access returns a callable that runs the student's function in the sandbox."""

    def __init__(self, sandbox: Sandbox, course: Course) -> None:
        self._sandbox = sandbox
        self._course = course
        self.output: list[str] = []
        self.output_bytes = 0

    def __getattr__(self, function: str) -> StudentFunction:
        if function.startswith("_"):
            raise AttributeError(function)
        exercise = self._course.owner(function)
        if exercise is None:
            raise AttributeError(f"{function} is not a function of this course")
        return StudentFunction(self, exercise.module, function)

    def drive(self, probe: Path, functions: list[str], *args: Any, entry: str) -> Any:
        """What ``entry(functions, *args)`` of the kit's `probe` file returns when the worker runs
        it with the student's `functions` (by name): plain numbers only (`Sandbox.drive`)."""
        modules = {name: self._course.owner(name).module for name in functions}
        try:
            result = self._sandbox.drive(probe, modules, args, entry=entry)
        except StudentError as error:
            self._record(error.output, error.output_bytes)
            raise
        self._record(result.output, result.output_bytes)
        return result.value

    def forget(self) -> None:
        """Start a new check: clear collected output and the worker's stored values."""
        self.output.clear()
        self.output_bytes = 0
        self._sandbox.reset()

    def _record(self, output: str, size: int) -> None:
        if output:
            self.output.append(output)
        self.output_bytes += size


class StudentFunction:
    def __init__(self, student: Student, module: str, function: str) -> None:
        self.student, self.module, self.name = student, module, function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs).value

    def call(self, *args: Any, echo_args: bool = False, **kwargs: Any) -> Call:
        """Like calling the function, but returns the whole `Call` (timing, inputs after)."""
        try:
            result = self.student._sandbox.call(self.module, self.name, args, kwargs, echo_args=echo_args)
        except StudentError as error:
            self.student._record(error.output, error.output_bytes)
            raise
        self.student._record(result.output, result.output_bytes)
        return result
