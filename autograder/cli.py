"""The `grade` command line: reads the subcommand and hands it to the wing that owns it.

    grade [EXERCISE ...] [--json] [--solutions | --submission DIR] [--lang en|es] [--seed N]
    grade list | grade hint [EXERCISE] | grade watch                       (autograder.ui)
    grade inspect EXERCISE [CHECK] [--save DIR] | grade reset EXERCISE [--yes]
    grade quiz [...] | grade learn [TOPIC]                                  (autograder.quiz)
    grade lab [EXPERIMENT] [--list] [--reference] [--json]                  (autograder.lab)
    grade batch DIR [...] | grade export nbgrader|gradescope [...]          (autograder.instructor)

Exit codes: 0 every graded exercise passes, 1 some check fails, 2 a usage or course error.
Errors in what the user typed are one clear line, never a traceback. Each command's module is
imported only when it runs, so heavy imports (pytest, Rich, torch) stay out of the others.
In a terminal, ``grade [EXERCISE ...]`` is handed to the warm server when one is running
(`autograder.ui.warm_client`), before this module imports anything else of the kit.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable

TYPE_CHECKING = False  # as typing's, without importing typing (a tenth of a served run's start)
if TYPE_CHECKING:
    from autograder.i18n import Translator

GLOBAL_OPTIONS = ("--lang", "--course")
COMMANDS = {
    "list": "autograder.ui.commands:list_command",
    "hint": "autograder.ui.commands:hint_command",
    "watch": "autograder.ui.commands:watch_command",
    "inspect": "autograder.ui.inspect:main",
    "reset": "autograder.ui.reset:main",
    "quiz": "autograder.quiz.commands:main",
    "learn": "autograder.quiz.learn:main",
    "lab": "autograder.lab.command:main",
    "batch": "autograder.instructor.batch.command:main",
    "export": "autograder.instructor.export:main",
}
GRADE = "autograder.ui.commands:grade_command"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if _split_command(argv)[0] is not None:
        return run(argv)
    from autograder.ui import warm_client

    if not warm_client.wanted():
        return run(argv)
    try:
        code = warm_client.delegate(argv, lost=lambda: _server_lost(argv, warm_client.SERVER_ENV))
    except KeyboardInterrupt:  # before the run was handed over (then the client passes it on)
        t = _translator(argv)
        print(t("errors.prefix") + t("errors.interrupted"), file=sys.stderr)
        return 130
    if code is None:
        code = run(argv)
        warm_client.start_server()
    return code


def serve() -> None:
    """The warm server's process: serves ``grade`` runs with `run` (see `warm_server`)."""
    from autograder.ui.warm_server import serve as serve_warm

    serve_warm(run)


def run(argv: list[str]) -> int:
    """``grade argv`` in this process."""
    from autograder.arguments import FAILED, USAGE, UsageError
    from autograder.course import CourseError

    t = _translator(argv)
    try:
        command, rest = _split_command(argv)
        return _command(command or GRADE)(rest, t)
    except (UsageError, CourseError) as error:
        print(t("errors.prefix") + str(error), file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print(t("errors.prefix") + t("errors.interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:  # `grade --json | head`: the reader left; end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILED


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
        return COMMANDS[argv[i]], argv[i + 1:] + global_options
    return None, argv


def _server_lost(argv: list[str], variable: str) -> str:
    t = _translator(argv)
    return t("errors.prefix") + t("errors.server_lost", variable=variable)


def _translator(argv: list[str]) -> Translator:
    from autograder.i18n import Translator, choose_language

    return Translator(choose_language(_peek_language(argv)))


def _peek_language(argv: list[str]) -> str | None:
    """--lang before the parser exists (its help text is translated)."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def _command(target: str) -> Callable[[list[str], Translator], int]:
    """The function behind ``module:function``, its module imported only now."""
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)
