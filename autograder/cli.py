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
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Callable

from autograder.arguments import FAILED, USAGE, UsageError
from autograder.course import CourseError
from autograder.i18n import Translator, choose_language

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
    t = Translator(choose_language(_peek_language(argv)))
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
