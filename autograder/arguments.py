"""What every `grade` command shares: its parser, its usage errors, its exit codes, the kit it
works on and the console it prints to. The commands themselves live in their wings."""

from __future__ import annotations

import argparse
import difflib
import functools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from autograder.i18n import Translator, choose_language
from autograder.kit import Kit

if TYPE_CHECKING:
    from rich.console import Console

OK, FAILED, USAGE = 0, 1, 2


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


def open_kit(args: argparse.Namespace) -> tuple[Kit, Translator]:
    """The kit named by ``--course`` (or found from here) and a translator for ``--lang``."""
    kit = Kit.locate(args.course)
    t = Translator(choose_language(args.lang, kit.course.default_language))
    here = Path.cwd().resolve()
    if not (args.course or os.environ.get("GRADE_COURSE")) and kit.root != here and kit.root not in here.parents:
        print(t("errors.prefix") + t("errors.kit_elsewhere", root=kit.root), file=sys.stderr)
    return kit, t


def common_options(parser: argparse.ArgumentParser, t: Translator) -> None:
    """The options every command takes: ``--lang`` and ``--course``."""
    parser.add_argument("--lang", choices=["en", "es"], help=t("help.lang"))
    parser.add_argument("--course", metavar="PATH", help=t("help.course"))


def parse_seed(value: str, t: Translator) -> int | None:
    """``--seed``: an integer, or None for "random"."""
    if value == "random":
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(t("errors.seed", value=value)) from None


def suggestion(name: str, choices: list[str], t: Translator) -> str:
    """" Did you mean 'x'?" for the closest of `choices`, or ""."""
    close = difflib.get_close_matches(name, choices, n=1)
    return t("errors.did_you_mean", name=close[0]) if close else ""


def make_console() -> "Console":
    """The console every command prints to (Rich, imported only now)."""
    from rich.console import Console

    return Console(highlight=False)
