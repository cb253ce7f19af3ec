"""The `grade` command line.

    grade [EXERCISE ...] [--json] [--solutions | --submission DIR] [--lang en|es] [--seed N]
    grade list
    grade hint [EXERCISE]
    grade quiz [--topic TOPIC | --checkpoint EXERCISE] [--answers FILE | --export FILE | --reset]
    grade learn [TOPIC]
    grade batch DIR [--jobs N] [--output OUT] [--seed N|random] [--force]
    grade export nbgrader DIR [--assignment NAME] | grade export gradescope [--output FILE]

Exit codes: 0 every graded exercise passes, 1 some check fails, 2 a usage or course error.
Errors in what the user typed are one clear line, never a traceback. Heavy imports (pytest,
Rich, torch) happen only in the commands that need them, after the worker has been started.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NoReturn

from autograder.course import CourseError
from autograder.i18n import Translator, choose_language
from autograder.kit import Kit

if TYPE_CHECKING:
    from autograder.results import GradeReport

OK, FAILED, USAGE = 0, 1, 2
GLOBAL_OPTIONS = ("--lang", "--course")


class UsageError(Exception):
    """Something the user typed is wrong; the message is shown as one line."""


class Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported as one line (a `UsageError`) that points to the
    command's --help, instead of the usage block."""

    def __init__(self, t: Translator | None = None, **options) -> None:
        super().__init__(**options)
        self.t = t or Translator()

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.t("errors.usage", message=message, command=self.prog))

    def add_subparsers(self, **options):
        return super().add_subparsers(parser_class=functools.partial(Parser, self.t), **options)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    t = Translator(choose_language(_peek_language(argv)))
    try:
        command, rest = _split_command(argv)
        if command is not None:
            return COMMANDS[command](rest, t)
        return grade_command(argv, t)
    except (UsageError, CourseError) as error:
        print(t("errors.prefix") + str(error), file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print(t("errors.prefix") + t("errors.interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # `grade --json | head`: the reader left; end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILED


# -- grade [EXERCISE ...] ------------------------------------------------------------------------


def grade_command(argv: list[str], t: Translator) -> int:
    args = _grade_parser(t).parse_args(argv)
    kit, t = open_kit(args)
    exercises = [_exercise_id(kit, name, t) for name in args.exercises] or None
    directory = _graded_folder(kit, args, t)
    seed = _seed(kit, args.seed, t)

    from autograder.runner import grade, needs_worker, result_cache

    advice = bool(exercises)  # timing advice when working on chosen exercises
    cache = result_cache(kit, directory, seed, advice)
    sandbox = None
    if needs_worker(kit, directory, exercises, cache):
        sandbox = kit.sandbox(directory)
        sandbox.start()  # boots while pytest and Rich are imported
    from autograder.sandbox import SandboxError

    try:
        with _progress(t, enabled=not args.json) as on_check:
            report = grade(kit, directory, exercises=exercises, seed=seed, sandbox=sandbox, on_check=on_check,
                           advice=advice, cache=cache)
    except SandboxError as error:
        raise UsageError(t("errors.sandbox", message=str(error).splitlines()[0])) from None
    finally:
        if sandbox is not None:
            sandbox.close()
    if exercises is None:  # the whole course: the theory quiz counts too
        from autograder.quiz_answers import quiz_for_report

        report.quiz = quiz_for_report(kit, directory, solutions=args.solutions)
    if directory == kit.exercises_dir.resolve():
        _remember(kit, report)
    if args.json:
        from autograder.json_report import report_to_json

        print(json.dumps(report_to_json(report, kit.course, t), ensure_ascii=False, indent=2))
    else:
        from autograder.report import ReportView

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


def open_kit(args: argparse.Namespace) -> tuple[Kit, Translator]:
    """The kit named by ``--course`` (or found from here) and a translator for ``--lang``."""
    kit = Kit.locate(args.course)
    t = Translator(choose_language(args.lang, kit.course.default_language))
    here = Path.cwd().resolve()
    if not (args.course or os.environ.get("GRADE_COURSE")) and kit.root != here and kit.root not in here.parents:
        print(t("errors.prefix") + t("errors.kit_elsewhere", root=kit.root), file=sys.stderr)
    return kit, t


def common_options(parser: argparse.ArgumentParser, t: Translator) -> None:
    parser.add_argument("--lang", choices=["en", "es"], help=t("help.lang"))
    parser.add_argument("--course", metavar="PATH", help=t("help.course"))


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


def parse_seed(value: str, t: Translator) -> int | None:
    """``--seed``: an integer, or None for "random"."""
    if value == "random":
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(t("errors.seed", value=value)) from None


def _seed(kit: Kit, value: str | None, t: Translator) -> int:
    seed = kit.course.policy.seed if value is None else parse_seed(value, t)
    return random.SystemRandom().randrange(2**31) if seed is None else seed


def suggestion(name: str, choices: list[str], t: Translator) -> str:
    """" Did you mean 'x'?" for the closest of `choices`, or ""."""
    close = difflib.get_close_matches(name, choices, n=1)
    return t("errors.did_you_mean", name=close[0]) if close else ""


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


def make_console():
    from rich.console import Console

    return Console(highlight=False)


# -- grade list / grade hint ---------------------------------------------------------------------


def list_command(argv: list[str], t: Translator) -> int:
    parser = Parser(t, prog="grade list", description=t("help.list"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    from autograder.report import ProgressView
    from autograder.state import State

    state = State.load(kit.state_dir)
    make_console().print(ProgressView(kit.course, state.progress, state.hints, t, quiz=state.data.get("quiz")))
    return OK


def hint_command(argv: list[str], t: Translator) -> int:
    parser = Parser(t, prog="grade hint", description=t("help.hint"))
    parser.add_argument("exercise", nargs="?", metavar="EXERCISE", help=t("help.hint_exercise"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    from autograder.report import HintView
    from autograder.state import State

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
    from autograder.watch import run

    return run(kit, t, make_console())


def _current_exercise(kit: Kit, state) -> str:
    """The first exercise, in course order, that did not pass at the last grading."""
    for exercise_id in kit.course.ids:
        if (state.progress.get(exercise_id) or {}).get("status") != "passed":
            return exercise_id
    return kit.course.ids[-1]


def _split_command(argv: list[str]) -> tuple[str | None, list[str]]:
    """The subcommand, if any, and its arguments; ``--lang``/``--course`` may come before it
    (``grade --lang es hint``) and are passed on to it, after its own arguments so that a
    command with subcommands (``grade --lang es export nbgrader DIR``) reads them too."""
    global_options, i = [], 0
    while i < len(argv):
        if argv[i] in GLOBAL_OPTIONS and i + 1 < len(argv):
            global_options += argv[i:i + 2]
            i += 2
        elif argv[i].startswith(tuple(f"{option}=" for option in GLOBAL_OPTIONS)):
            global_options.append(argv[i])
            i += 1
        else:
            break
    if i < len(argv) and argv[i] in COMMANDS:
        return argv[i], argv[i + 1:] + global_options
    return None, argv


def _peek_language(argv: list[str]) -> str | None:
    """--lang before the parser exists (its help text is translated)."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


COMMANDS: dict[str, Callable[[list[str], Translator], int]] = {
    "list": list_command,
    "hint": hint_command,
    "watch": watch_command,
    "quiz": lambda argv, t: _command("autograder.quiz_command")(argv, t),
    "learn": lambda argv, t: _command("autograder.learn_command")(argv, t),
    "batch": lambda argv, t: _command("autograder.batch_command")(argv, t),
    "export": lambda argv, t: _command("autograder.export_command")(argv, t),
}


def _command(module: str) -> Callable[[list[str], Translator], int]:
    """The ``main`` of a command kept in its own module, imported only when it runs."""
    import importlib

    return importlib.import_module(module).main
