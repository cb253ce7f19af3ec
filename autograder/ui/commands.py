"""The student's everyday commands: ``grade [EXERCISE ...] [--verbose]``, ``grade list``,
``grade hint`` and ``grade watch``."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from autograder.arguments import (
    FAILED,
    OK,
    Parser,
    UsageError,
    common_options,
    make_console,
    open_kit,
    parse_seed,
    suggestion,
)
from autograder.i18n import Translator
from autograder.kit import Kit

if TYPE_CHECKING:
    from concurrent.futures import Future

    from autograder.grading.results import GradeReport


def grade_command(argv: list[str], t: Translator) -> int:
    args = _grade_parser(t).parse_args(argv)
    kit, t = open_kit(args)
    exercises = [exercise_id(kit, name, t) for name in args.exercises] or None
    directory = _graded_folder(kit, args, t)
    seed = _seed(kit, args.seed, t)
    advice = bool(exercises)  # timing advice when working on chosen exercises
    with Grading(kit, directory, exercises, seed, t, advice=advice) as grading:
        quiz = None
        if exercises is None:  # the whole course: the theory quiz counts too
            from autograder.quiz.answers import quiz_for_report

            quiz = meanwhile(quiz_for_report, kit, directory, solutions=args.solutions)
        with _progress(t, enabled=not args.json) as on_check:
            report = grading.run(on_check)
    if quiz is not None:
        report.quiz = quiz.result()
    hints = None
    if directory == kit.exercises_dir.resolve():
        hints = _remember(kit, report, t)
    if args.json:
        from autograder.ui.json_report import report_to_json

        print(json.dumps(report_to_json(report, kit.course, t, hints=hints), ensure_ascii=False, indent=2))
    else:
        from autograder.ui.report import ReportView

        detail = "verbose" if args.verbose else ("all" if exercises else "first")
        make_console().print(ReportView(report, kit.course, t, detail=detail, hints=hints))
    return OK if report.all_passed else FAILED


def meanwhile(function: Callable, *args, **kwargs) -> Future:
    """Start `function` in a thread: while the checks run, this process mostly waits for the
    worker's answers, and the theory quiz's bank is read in those waits."""
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor(max_workers=1)
    future = executor.submit(function, *args, **kwargs)
    executor.shutdown(wait=False)
    return future


class Grading:
    """One grading of `exercises` (all by default) of the student code in `directory`, as
    `grade` does it: cached results reused, and, when some code has to run, the worker and (on
    a cold reference cache, first of all) torch's reference process started at once, so that
    they boot while this process imports NumPy, pytest and Rich. A file that course.yml names
    but the folder lacks is a usage error. Use it as a context (the processes are stopped at
    the end)."""

    def __init__(self, kit: Kit, directory: Path, exercises: list[str] | None, seed: int, t: Translator, *,
                 advice: bool = False) -> None:
        require_files(kit, directory, exercises, t)
        from autograder.grading.reference_process import start_if_cold

        early = start_if_cold(kit, seed)  # before NumPy is imported, which takes a tenth of a second
        from autograder.grading.runner import make_reference, needs_worker, result_cache

        self.kit, self.directory, self.exercises, self.seed, self.t, self.advice = (
            kit, directory, exercises, seed, t, advice)
        self.sandbox = self.reference = None
        needed = False
        try:
            self.cache = result_cache(kit, directory, seed, advice)
            needed = needs_worker(kit, directory, exercises, self.cache)
        finally:
            if early is not None and not needed:
                early.close()  # not needed after all (only stubs, every result cached), or a failure
        if needed:
            self.reference = make_reference(kit, seed, process=early)
            from autograder.sandbox.client import Sandbox, SandboxError

            self.sandbox = Sandbox.for_kit(kit, directory)
            try:
                self.sandbox.start()
            except SandboxError as error:
                self.__exit__()
                raise UsageError(t("errors.sandbox", message=str(error).splitlines()[0])) from None

    def run(self, on_check: Callable | None = None) -> GradeReport:
        from autograder.grading.runner import grade
        from autograder.sandbox.client import SandboxError

        try:
            return grade(self.kit, self.directory, exercises=self.exercises, seed=self.seed, sandbox=self.sandbox,
                         reference=self.reference, on_check=on_check, advice=self.advice, cache=self.cache)
        except SandboxError as error:
            raise UsageError(self.t("errors.sandbox", message=str(error).splitlines()[0])) from None

    def __enter__(self) -> Grading:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
        if self.reference is not None:
            self.reference.close()


def run_grading(kit: Kit, directory: Path, exercises: list[str] | None, seed: int, t: Translator, *,
                advice: bool = False) -> GradeReport:
    """`Grading` start to end."""
    with Grading(kit, directory, exercises, seed, t, advice=advice) as grading:
        return grading.run()


def require_files(kit: Kit, directory: Path, exercises: list[str] | None, t: Translator) -> None:
    """Every student file the graded exercises need must be in `directory`."""
    for exercise_id in kit.course.with_requirements(exercises or kit.course.ids):
        file = kit.course.exercise(exercise_id).file
        if file and not (directory / file).is_file():
            from autograder.ui.report import display_path

            own = directory == kit.exercises_dir.resolve()
            raise UsageError(t("errors.file_missing" if own else "errors.submission_file_missing",
                               file=display_path(directory / file), exercise=exercise_id))


def _grade_parser(t: Translator) -> argparse.ArgumentParser:
    parser = Parser(t, prog="grade", description=t("help.description"), epilog=t("help.commands"))
    parser.add_argument("exercises", nargs="*", metavar="EXERCISE", help=t("help.exercises"))
    parser.add_argument("--json", action="store_true", help=t("help.json"))
    parser.add_argument("-v", "--verbose", action="store_true", help=t("help.verbose"))
    folder = parser.add_mutually_exclusive_group()
    folder.add_argument("--solutions", action="store_true", help=t("help.solutions"))
    folder.add_argument("--submission", metavar="DIR", help=t("help.submission"))
    common_options(parser, t)
    parser.add_argument("--seed", help=t("help.seed"))
    return parser


def _graded_folder(kit: Kit, args: argparse.Namespace, t: Translator) -> Path:
    if args.solutions:
        folder = kit.solutions_dir
    elif args.submission:
        folder = Path(args.submission)
    else:
        folder = kit.exercises_dir
    if not folder.is_dir():
        raise UsageError(t("errors.not_a_folder", path=folder))
    return folder.resolve()


def _seed(kit: Kit, value: str | None, t: Translator) -> int:
    seed = kit.course.policy.seed if value is None else parse_seed(value, t)
    return random.SystemRandom().randrange(2**31) if seed is None else seed


def exercise_id(kit: Kit, name: str, t: Translator) -> str:
    """`name` if it is an exercise of the course, else a usage error suggesting the closest."""
    if name in kit.course.ids:
        return name
    raise UsageError(t("errors.unknown_exercise", name=name, suggestion=suggestion(name, kit.course.ids, t)))


def failed_internally(report: GradeReport) -> bool:
    """Whether some check failed inside the grader (then the report says nothing of the
    student's progress)."""
    return any(c.feedback is not None and c.feedback.stage == "internal" for e in report.exercises for c in e.checks)


def _remember(kit: Kit, report: GradeReport, t: Translator) -> dict[str, int]:
    """Store each graded exercise's status in the state file (for `grade list`), unless the
    grader failed internally (a run that went wrong never overwrites progress); returns the
    hints used per exercise."""
    from autograder.state import State

    state = State.load(kit.state_dir)
    if failed_internally(report):
        print(t("errors.prefix") + t("errors.progress_not_saved"), file=sys.stderr)
    else:
        state.record_progress(report.exercises)
        state.try_save()
    return {exercise_id: state.hints_used(exercise_id) for exercise_id in kit.course.ids}


class _progress:
    """A transient progress bar on stderr while checks run (only on a terminal). It appears
    once a run has taken `DELAY` seconds and is redrawn when a check ends, at most `RATE`
    times a second, from this thread: a redrawing thread of its own would hold the
    interpreter lock while this one has answers from the worker to read."""

    DELAY = 0.3
    RATE = 10

    def __init__(self, t: Translator, enabled: bool) -> None:
        self.t = t
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = self.task = None

    def __enter__(self) -> Callable | None:
        if not self.enabled:
            return None
        drawn = time.monotonic() + self.DELAY - 1 / self.RATE  # as if drawn: the first draw waits DELAY

        def on_check(result, done: int, total: int) -> None:
            nonlocal drawn
            now = time.monotonic()
            if now - drawn < 1 / self.RATE:
                return
            description = f"{self.t('report.grading')} {result.exercise}"
            if self.bar is None:
                self._start(description, done, total)
            else:
                self.bar.update(self.task, completed=done, total=total, description=description)
                self.bar.refresh()
            drawn = now

        return on_check

    def _start(self, description: str, done: int, total: int) -> None:
        """Show the bar (drawn once now)."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            console=Console(stderr=True), transient=True, auto_refresh=False)
        self.task = self.bar.add_task(description, completed=done, total=total)
        self.bar.start()

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()


# -- grade list / grade hint / grade watch -------------------------------------------------------


def list_command(argv: list[str], t: Translator) -> int:
    parser = Parser(t, prog="grade list", description=t("help.list"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    from autograder.state import State
    from autograder.ui.report import ProgressView

    state = State.load(kit.state_dir)
    make_console().print(ProgressView(kit.course, state.progress, state.hints, t, quiz=state.data.get("quiz"),
                                      misconception_hints=state.misconception_hints))
    return OK


def hint_command(argv: list[str], t: Translator) -> int:
    """The next hint of an exercise, after grading it (cached results make that instant): none
    when it passes, the one about a recognised mistake first."""
    parser = Parser(t, prog="grade hint", description=t("help.hint"))
    parser.add_argument("exercise", nargs="?", metavar="EXERCISE", help=t("help.hint_exercise"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    from autograder.state import State
    from autograder.ui.hints import HintView, reveal_next

    if args.exercise:
        chosen = exercise_id(kit, args.exercise, t)
    else:
        chosen = _current_exercise(kit, State.load(kit.state_dir))
    directory = kit.exercises_dir.resolve()
    report = run_grading(kit, directory, [chosen], kit.course.policy.seed, t)
    _remember(kit, report, t)
    state = State.load(kit.state_dir)
    reveal = reveal_next(state, kit.course.exercise(chosen), report.exercise(chosen))
    state.try_save()
    make_console().print(HintView(reveal, t))
    return OK


def watch_command(argv: list[str], t: Translator) -> int:
    parser = Parser(t, prog="grade watch", description=t("help.watch"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    require_files(kit, kit.exercises_dir.resolve(), None, t)
    from autograder.ui.watch import run

    return run(kit, t, make_console())


def _current_exercise(kit: Kit, state) -> str:
    """The first exercise, in course order, that did not pass at the last grading."""
    for exercise_id in kit.course.ids:
        if (state.progress.get(exercise_id) or {}).get("status") != "passed":
            return exercise_id
    return kit.course.ids[-1]
