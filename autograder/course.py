"""The course: `course.yml` loaded into validated, typed models.

`course.yml` is the single source of truth: the ordered exercises (what to implement, points,
hints, prerequisites, which checks grade them), the grading policy, the quiz and the lab. `load_course`
turns a mistake in it into a `CourseError` naming the line and the key.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

import msgspec

if TYPE_CHECKING:
    import yaml  # imported where a YAML file is parsed: a cached course needs no parser

Language = Literal["en", "es"]
LANGUAGES: tuple[str, ...] = ("en", "es")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
M = TypeVar("M")
DEFAULT_CONTRACT_SHARE = 0.1
MAX_CONTRACT_SHARE = 0.5


class CourseError(Exception):
    """course.yml (or a file it references) is invalid. The message names where and why."""


class Text(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A course text in every language of the kit."""

    en: str
    es: str

    def __call__(self, language: str) -> str:
        return getattr(self, language, self.en)


class Tolerance(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """How close a float result must be: element-wise ``|got - expected| <= atol * scale +
    rtol * |expected|`` (scale = the largest expected magnitude, at least 1) and a norm-wise
    relative error ``||got - expected|| / ||expected|| <= rtol``."""

    rtol: float
    atol: float


class Policy(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """How student code is run and judged (the limits: `autograder.sandbox.limits`)."""

    seconds_per_call: float = 5.0
    """Wall-clock limit for one call of a student function (the import included); the CPU
    time of one call is limited to the same, plus a second."""
    memory_mb: int = 1024
    """Extra address space a worker may use beyond what it needs to start."""
    max_processes: int = 8
    """Processes and threads a worker may have at once (a fork bomb costs one call)."""
    scratch_mb: int = 32
    """Size of the worker's own temporary folder, its only writable place."""
    max_file_mb: float = 2.0
    """Largest submission file graded; a larger one is refused at once, with a message."""
    output_limit: int = 4000
    """Characters of what student code printed shown with a check's feedback."""
    forbidden_imports: list[str] = msgspec.field(default_factory=lambda: ["torch", "tensorflow", "jax"])
    """Top-level packages student code may not import (an exercise may lift some:
    `Exercise.allowed_imports`)."""
    seed: int = 0
    """Default seed for the generated test inputs; graders can choose another one."""
    tolerance: dict[str, Tolerance] = msgspec.field(default_factory=lambda: {
        "float64": Tolerance(rtol=1e-6, atol=1e-9), "float32": Tolerance(rtol=1e-4, atol=1e-6)})
    """Per dtype name ("float64", "float32")."""
    contract_share: float = DEFAULT_CONTRACT_SHARE
    """The share of an exercise's points that its contract checks (rules of the kit's API: edge
    cases, validation, dtype) weigh together; its math checks share the rest. 0 makes the
    contract free, e.g. for code written against another API."""

    def __post_init__(self) -> None:
        if not 0 <= self.contract_share <= MAX_CONTRACT_SHARE:
            raise ValueError(f"`contract_share` must be between 0 and {MAX_CONTRACT_SHARE:g} "
                             "(the contract never outweighs the mathematics)")
        if self.seconds_per_call <= 0:
            raise ValueError("`seconds_per_call` must be positive")
        if self.memory_mb < 64:
            raise ValueError("`memory_mb` must be at least 64")
        if not 0 <= self.seed < 2**32:
            raise ValueError("`seed` must be a whole number from 0 to 4294967295")
        if self.max_processes < 2:
            raise ValueError("`max_processes` must be at least 2 (the worker and its sandbox)")
        if self.scratch_mb < 1 or self.max_file_mb <= 0:
            raise ValueError("`scratch_mb` and `max_file_mb` must be positive")
        missing = {"float64", "float32"} - set(self.tolerance)
        if missing:
            raise ValueError(f"`tolerance` needs entries for {', '.join(sorted(missing))}")


class Exercise(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """One graded exercise."""

    id: str
    """Short name used on the command line (``grade bn_forward``)."""
    title: Text
    points: float
    """Weight in the total; split equally among the exercise's checks."""
    checks: str
    """Module under ``autograder/grading/checks/`` holding the pytest checks."""
    hints: list[Text]
    """Two or three progressive hints, shown one at a time by ``grade hint``."""
    file: str | None = None
    """Student file (under the exercises folder) that holds the functions."""
    functions: list[str] = msgspec.field(default_factory=list)
    """Functions the student writes for this exercise (none for an integration exercise)."""
    requires: list[str] = msgspec.field(default_factory=list)
    """Exercises whose functions this one's checks also call."""
    allowed_imports: list[str] = msgspec.field(default_factory=list)
    """Libraries of the policy's `forbidden_imports` this exercise may use (e.g. ``[torch]``):
    it is graded in a worker of its own where they are importable and visible; other
    exercises still refuse them, also in the same file."""

    def __post_init__(self) -> None:
        if not ID_PATTERN.match(self.id):
            raise ValueError(f"`id` {self.id!r} must be lower_case_with_underscores")
        if self.points <= 0:
            raise ValueError(f"`points` of {self.id!r} must be positive")
        if not 2 <= len(self.hints) <= 3:
            raise ValueError(f"`hints`: {self.id!r} needs 2 or 3 hints, has {len(self.hints)}")
        if bool(self.file) != bool(self.functions):
            raise ValueError(f"`functions`: {self.id!r} needs both 'file' and 'functions', or neither")
        if self.file and not self.file.endswith(".py"):
            raise ValueError(f"`file` {self.file!r} of {self.id!r} must be a .py file")
        for name in self.allowed_imports:
            if not name.isidentifier():
                raise ValueError(f"`allowed_imports` of {self.id!r}: {name!r} is not a top-level module name")

    @property
    def module(self) -> str | None:
        return self.file[:-3] if self.file else None


class QuizConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The theory quiz: where its questions and lessons are and what it adds to the total."""

    bank: str = "quiz.yml"
    """The question bank (next to course.yml), loaded by `autograder.quiz.bank`."""
    lessons: str = "lessons"
    """Folder of the lessons: ``<lessons>/<language>/<topic>.md``."""
    points: float = 10
    """Weight of the whole quiz in the kit's total, split equally among its questions."""

    def __post_init__(self) -> None:
        if self.points <= 0:
            raise ValueError("`points` of the quiz must be positive")
        if not self.bank.endswith((".yml", ".yaml")):
            raise ValueError(f"`bank` {self.bank!r} must be a .yml file")


class Deadline(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """When the work is due, and what lateness costs (``grade batch``, Gradescope).

    A submission ``grace_minutes`` or less after `due` is on time; after that, each day late,
    started, costs `penalty_per_day` percent of the score, at most `max_penalty` percent."""

    due: datetime
    """ISO 8601 (``2025-03-14T23:59:00+01:00``); without an offset, in `timezone`."""
    timezone: str = "UTC"
    """IANA name (``Europe/Madrid``) for a `due` without an offset, and for the naive times of
    a submission-times file."""
    grace_minutes: float = 0
    penalty_per_day: float = 0
    """Percent of the score."""
    max_penalty: float = 100
    """Percent of the score."""

    def __post_init__(self) -> None:
        try:
            self.zone()
        except (KeyError, ValueError):
            raise ValueError(f"`timezone` {self.timezone!r} is not a known time zone (e.g. Europe/Madrid)") from None
        if self.grace_minutes < 0:
            raise ValueError("`grace_minutes` must not be negative")
        if not 0 <= self.penalty_per_day <= 100 or not 0 <= self.max_penalty <= 100:
            raise ValueError("`penalty_per_day` and `max_penalty` are percentages, from 0 to 100")

    def zone(self):
        from zoneinfo import ZoneInfo

        return timezone.utc if self.timezone.upper() == "UTC" else ZoneInfo(self.timezone)

    def aware(self, moment: datetime) -> datetime:
        """`moment` with this deadline's time zone when it has none."""
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.zone())

    def days_late(self, submitted: datetime, due: datetime | None = None) -> int:
        """Started days after `due` (default: this deadline's) plus the grace; 0 when on time."""
        late = self.aware(submitted) - self.aware(due or self.due) - timedelta(minutes=self.grace_minutes)
        return max(0, math.ceil(late / timedelta(days=1)))

    def penalty(self, days_late: int) -> float:
        """Percent of the score lost."""
        return min(self.max_penalty, self.penalty_per_day * days_late)


VisibilityLevel = Literal["visible", "after_due_date", "after_published", "hidden"]
DEFAULT_VISIBILITY: dict[str, str] = {"default": "visible", "quiz": "after_due_date"}
"""Exercises' feedback is the teaching, shown at once; the quiz's output says which answers
are right, shown after the due date."""


class LabConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``grade lab``: small networks trained with the student's layers (`autograder.lab`)."""

    seconds_per_run: float = 30.0
    """Wall-clock limit for one training run, which the worker runs as one request."""
    memory_mb: int = 512
    """Extra memory one lab worker may use."""
    seed: int = 0
    """Seed of the student's runs and of the reference runs drawn at the same seeds."""
    noise_seeds: int = 2
    """Reference runs at this many other seeds measure run-to-run noise (0: none)."""
    workers: int = 2
    """Training runs in parallel, one worker process each."""
    checkpoints: dict[str, str] = msgspec.field(default_factory=dict)
    """Experiment id -> id of the quiz question asked after it."""

    def __post_init__(self) -> None:
        if self.seconds_per_run <= 0:
            raise ValueError("`seconds_per_run` must be positive")
        if self.memory_mb < 64:
            raise ValueError("`memory_mb` must be at least 64")
        if not 0 <= self.noise_seeds <= 5:
            raise ValueError("`noise_seeds` must be between 0 and 5")
        if not 1 <= self.workers <= 8:
            raise ValueError("`workers` must be between 1 and 8")


class Course(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """The whole course."""

    title: Text
    default_language: Language = "en"
    exercises_dir: str = "exercises"
    solutions_dir: str = "solutions"
    policy: Policy
    exercises: list[Exercise]
    quiz: QuizConfig | None = None
    deadline: Deadline | None = None
    visibility: dict[str, VisibilityLevel] = msgspec.field(default_factory=dict)
    """Gradescope visibility per test: ``default``, ``quiz`` or an exercise id -> one of
    visible, after_due_date, after_published, hidden (Gradescope's own words)."""
    lab: LabConfig | None = None

    def __post_init__(self) -> None:
        seen: set[str] = set()
        owners: dict[str, str] = {}
        for index, exercise in enumerate(self.exercises):
            at = f"`exercises[{index}]"
            if exercise.id in seen:
                raise ValueError(f"{at}.id`: exercise id {exercise.id!r} appears twice")
            for required in exercise.requires:
                if required not in seen:
                    raise ValueError(f"{at}.requires`: {exercise.id!r} requires {required!r}, "
                                     "which must be an earlier exercise")
            for function in exercise.functions:
                if function in owners:
                    raise ValueError(f"{at}.functions`: function {function!r} belongs to both "
                                     f"{owners[function]!r} and {exercise.id!r}")
                owners[function] = exercise.id
            seen.add(exercise.id)
        if not self.exercises:
            raise ValueError("the course has no exercises")
        for key in self.visibility:
            if key not in seen and key not in DEFAULT_VISIBILITY:
                raise ValueError(f"`visibility.{key}`: not an exercise id, 'quiz' or 'default'")

    def visibility_of(self, test: str) -> str:
        """Gradescope visibility of the test `test` (an exercise id or "quiz"); "default" for
        results.json's overall score and output."""
        if test in self.visibility:
            return self.visibility[test]
        if test == "quiz" and "default" not in self.visibility:
            return DEFAULT_VISIBILITY["quiz"]
        return self.visibility.get("default", DEFAULT_VISIBILITY["default"])

    # lookups

    def exercise(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        raise KeyError(exercise_id)

    @property
    def ids(self) -> list[str]:
        return [exercise.id for exercise in self.exercises]

    def owner(self, function: str) -> Exercise | None:
        """The exercise in which `function` is written."""
        for exercise in self.exercises:
            if function in exercise.functions:
                return exercise
        return None

    def with_requirements(self, exercise_ids: list[str]) -> list[str]:
        """The given exercises and everything they require, in course order."""
        wanted = set(exercise_ids)
        for exercise in reversed(self.exercises):
            if exercise.id in wanted:
                wanted.update(exercise.requires)
        return [e for e in self.ids if e in wanted]

    @property
    def total_points(self) -> float:
        return sum(exercise.points for exercise in self.exercises)


# -- loading -----------------------------------------------------------------------------------


def load_course(path: Path, *, checks_dir: Path | None = None, cache_dir: Path | None = None) -> Course:
    """Read and validate `path`; raise `CourseError` naming the line and key of a mistake.
    With `cache_dir`, a validated course is kept there as JSON under a hash of course.yml and
    of this module, and read back instead of the YAML: every command loads the course, and
    the YAML parser's import and parse cost about 15 ms. A copy that is missing, stale or
    damaged is simply made again."""
    copy = _course_copy(path, cache_dir)
    course, root = _read_copy(copy), None
    if course is None:
        course, root = load_yaml(path, Course)
        _keep_copy(copy, course)
    if checks_dir is not None:
        for index, exercise in enumerate(course.exercises):
            if not (checks_dir / f"{exercise.checks}.py").is_file():
                root = root or load_yaml(path, Course)[1]
                line = _line_of(root, ["exercises", index, "checks"])
                raise CourseError(f"{path.name}, line {line} (exercises[{index}].checks): "
                                  f"no check module {exercise.checks!r} in {checks_dir}")
    return course


def _course_copy(path: Path, cache_dir: Path | None) -> Path | None:
    """Where the validated copy of the course file `path` is kept (None: nowhere)."""
    try:
        digest = hashlib.blake2b(path.read_bytes() + Path(__file__).read_bytes(), digest_size=10)
    except OSError:
        return None  # load_yaml says why the course cannot be read
    return None if cache_dir is None else cache_dir / f"course-{digest.hexdigest()}.json"


def _read_copy(copy: Path | None) -> Course | None:
    try:
        return msgspec.json.decode(copy.read_bytes(), type=Course) if copy is not None else None
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, ValueError):
        return None


def _keep_copy(copy: Path | None, course: Course) -> None:
    """Write `copy` atomically in place of copies of older versions; nothing happens where
    the folder cannot be written."""
    if copy is None:
        return
    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        for old in copy.parent.glob("course-*.json"):
            old.unlink(missing_ok=True)
        fd, temporary = tempfile.mkstemp(dir=copy.parent, prefix=".course-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(msgspec.json.encode(course))
        os.replace(temporary, copy)
    except OSError:
        pass


def load_yaml(path: Path, model: type[M]) -> tuple[M, yaml.Node | None]:
    """Read `path` into the msgspec `model`, with the YAML node tree (for `located_error`).
    A mistake raises `CourseError` naming the file, the line and the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CourseError(f"{path}: cannot be read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise CourseError(f"{path.name}, line {line}: not UTF-8 text (save the file as UTF-8)") from None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:  # parsed once: the node tree gives the lines, the data is built from it
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise CourseError(f"{path.name}{where}: not valid YAML ({problem})") from None
    finally:
        loader.dispose()
    try:
        return msgspec.convert(data, model), root
    except msgspec.ValidationError as error:
        raise CourseError(_locate(path.name, root, str(error))) from None


def located_error(filename: str, root: yaml.Node | None, message: str) -> CourseError:
    """A `CourseError` for a mistake found after loading; `message` starts with the offending
    key in backticks (``"`topics[2].id`: no lesson file"``)."""
    return CourseError(_locate(filename, root, message))


def _locate(filename: str, root: yaml.Node | None, message: str) -> str:
    """Turn msgspec's "... - at `$.a[0].b`" into "file, line N (a[0].b): ...".

    Our own validation messages start with the offending key in backticks, relative to the
    object being validated ("`points` must be positive"); unknown fields are named by msgspec.
    """
    match = re.search(r" - at `\$([^`]*)`$", message)
    reason, where = (message[: match.start()], match.group(1)) if match else (message, "")
    inner = re.match(r"`([\w.\[\]]+)`", reason) or re.search(r"unknown field `([^`]+)`", reason)
    if inner:
        where += ("" if inner.group(1).startswith("[") else ".") + inner.group(1)
    steps: list[str | int] = [int(i) if i else k for k, i in re.findall(r"\.(\w+)|\[(\d+)\]", where)]
    key = where.lstrip(".") or "top level"
    reason = re.sub(r"^Object contains unknown field (`[^`]+`)", r"unknown key \1 (a misspelling?)", reason)
    reason = re.sub(r"^Object missing required field (`[^`]+`)", r"the key \1 is missing", reason)
    return f"{filename}, line {_line_of(root, steps)} ({key}): {reason}"


def _line_of(node: yaml.Node | None, steps: list[str | int]) -> int:
    """The 1-based line of the key (or list item) reached along `steps`, as deep as it goes."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else 1
    for step in steps:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == step), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line
