"""The student's everyday commands: ``grade [EXERCISE ...]``, ``grade list``, ``grade hint``
and ``grade watch``."""

from __future__ import annotations

import argparse
import json
import random
import sys
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
    from autograder.grading.results import GradeReport


def grade_command(argv: list[str], t: Translator) -> int:
    args = _grade_parser(t).parse_args(argv)
    kit, t = open_kit(args)
    exercises = [_exercise_id(kit, name, t) for name in args.exercises] or None
    directory = _graded_folder(kit, args, t)
    seed = _seed(kit, args.seed, t)

    from autograder.grading.runner import grade, needs_worker, result_cache

    advice = bool(exercises)  # timing advice when working on chosen exercises
    cache = result_cache(kit, directory, seed, advice)
    from autograder.sandbox.client import Sandbox, SandboxError

    sandbox = None
    try:
        if needs_worker(kit, directory, exercises, cache):
            sandbox = Sandbox.for_kit(kit, directory)
            sandbox.start()  # boots while pytest and Rich are imported
        with _progress(t, enabled=not args.json) as on_check:
            report = grade(kit, directory, exercises=exercises, seed=seed, sandbox=sandbox, on_check=on_check,
                           advice=advice, cache=cache)
    except SandboxError as error:
        raise UsageError(t("errors.sandbox", message=str(error).splitlines()[0])) from None
    finally:
        if sandbox is not None:
            sandbox.close()
    if exercises is None:  # the whole course: the theory quiz counts too
        from autograder.quiz.answers import quiz_for_report

        report.quiz = quiz_for_report(kit, directory, solutions=args.solutions)
    if directory == kit.exercises_dir.resolve():
        _remember(kit, report)
    if args.json:
        from autograder.ui.json_report import report_to_json

        print(json.dumps(report_to_json(report, kit.course, t), ensure_ascii=False, indent=2))
    else:
        from autograder.ui.report import ReportView

        make_console().print(ReportView(report, kit.course, t, detail="all" if exercises else "first"))
    return OK if report.all_passed else FAILED


def _grade_parser(t: Translator) -> argparse.ArgumentParser:
    parser = Parser(t, prog="grade", description=t("help.description"), epilog=t("help.commands"))
    parser.add_argument("exercises", nargs="*", metavar="EXERCISE", help=t("help.exercises"))
    parser.add_argument("--json", action="store_true", help=t("help.json"))
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


def _exercise_id(kit: Kit, name: str, t: Translator) -> str:
    if name in kit.course.ids:
        return name
    raise UsageError(t("errors.unknown_exercise", name=name, suggestion=suggestion(name, kit.course.ids, t)))


def _remember(kit: Kit, report: GradeReport) -> None:
    """Store each graded exercise's status in the state file (for `grade list`)."""
    from autograder.state import State

    state = State.load(kit.state_dir)
    state.record_progress(report.exercises)
    state.try_save()


class _progress:
    """A transient progress bar on stderr while checks run (only on a terminal)."""

    def __init__(self, t: Translator, enabled: bool) -> None:
        self.t = t
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None

    def __enter__(self) -> Callable | None:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task(self.t("report.grading"), total=None)

        def on_check(result, done: int, total: int) -> None:
            self.bar.update(task, completed=done, total=total,
                            description=f"{self.t('report.grading')} {result.exercise}")

        return on_check

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()


# -- grade list / grade hint ---------------------------------------------------------------------


def list_command(argv: list[str], t: Translator) -> int:
    parser = Parser(t, prog="grade list", description=t("help.list"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    from autograder.state import State
    from autograder.ui.report import ProgressView

    state = State.load(kit.state_dir)
    make_console().print(ProgressView(kit.course, state.progress, state.hints, t, quiz=state.data.get("quiz")))
    return OK


def hint_command(argv: list[str], t: Translator) -> int:
    parser = Parser(t, prog="grade hint", description=t("help.hint"))
    parser.add_argument("exercise", nargs="?", metavar="EXERCISE", help=t("help.hint_exercise"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    from autograder.state import State
    from autograder.ui.report import HintView

    state = State.load(kit.state_dir)
    exercise_id = _exercise_id(kit, args.exercise, t) if args.exercise else _current_exercise(kit, state)
    exercise = kit.course.exercise(exercise_id)
    shown = state.reveal_hint(exercise_id, len(exercise.hints))
    state.try_save()
    make_console().print(HintView(exercise, shown, t))
    return OK


def watch_command(argv: list[str], t: Translator) -> int:
    parser = Parser(t, prog="grade watch", description=t("help.watch"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    from autograder.ui.watch import run

    return run(kit, t, make_console())


def _current_exercise(kit: Kit, state) -> str:
    """The first exercise, in course order, that did not pass at the last grading."""
    for exercise_id in kit.course.ids:
        if (state.progress.get(exercise_id) or {}).get("status") != "passed":
            return exercise_id
    return kit.course.ids[-1]
