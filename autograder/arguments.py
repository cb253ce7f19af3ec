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
from autograder.state import EVERYTHING, Damage, State

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
    """The kit named by ``--course`` (or found from here) and a translator for ``--lang``.
    A damaged state file is set aside here, once, and the student told what happened."""
    kit = Kit.locate(args.course)
    t = Translator(choose_language(args.lang, kit.course.default_language))
    here = Path.cwd().resolve()
    if not (args.course or os.environ.get("GRADE_COURSE")) and kit.root != here and kit.root not in here.parents:
        print(t("errors.prefix") + t("errors.kit_elsewhere", root=kit.root), file=sys.stderr)
    damage = State.load(kit.state_dir).damage
    if damage is not None:
        print(t("errors.prefix") + damage_notice(damage, t), file=sys.stderr)
    return kit, t


def damage_notice(damage: Damage, t: Translator) -> str:
    """One line: which state file was damaged, where it went and what starts again from zero."""
    if damage.backup is None:
        return t("errors.state_unusable", path=damage.path)
    if EVERYTHING in damage.lost:
        return t("errors.state_damaged", path=damage.path, backup=damage.backup)
    sections = ", ".join(t(f"errors.state_section.{name}") for name in damage.lost)
    return t("errors.state_sections_damaged", path=damage.path, backup=damage.backup, sections=sections)


def common_options(parser: argparse.ArgumentParser, t: Translator) -> None:
    """The options every command takes: ``--lang`` and ``--course``."""
    parser.add_argument("--lang", choices=["en", "es"], help=t("help.lang"))
    parser.add_argument("--course", metavar="PATH", help=t("help.course"))


SEED_LIMIT = 2**32
"""Seeds are non-negative integers below this (NumPy's seed sequences and every kit file agree)."""


def parse_seed(value: str, t: Translator) -> int | None:
    """``--seed``: an integer in [0, 2**32), or None for "random"."""
    if value == "random":
        return None
    try:
        seed = int(value)
    except ValueError:
        raise UsageError(t("errors.seed", value=value)) from None
    if not 0 <= seed < SEED_LIMIT:
        raise UsageError(t("errors.seed_range", value=value, limit=SEED_LIMIT - 1))
    return seed


def suggestion(name: str, choices: list[str], t: Translator) -> str:
    """" Did you mean 'x'?" for the closest of `choices`, or ""."""
    close = difflib.get_close_matches(name, choices, n=1)
    return t("errors.did_you_mean", name=close[0]) if close else ""


def make_console() -> "Console":
    """The console every command prints to (Rich, imported only now)."""
    from rich.console import Console

    return Console(highlight=False)


class TitledPanel:
    """A Rich panel (a box with a title) whose title is never cut: in the top border when it
    fits the width, else wrapped as the first, bold lines inside the box. Quiz, lesson and
    report screens use it, so that long titles stay whole at 80 columns in any language."""

    def __init__(self, body, title: str, *, border_style: str = "none", subtitle: str | None = None) -> None:
        self.body, self.title, self.border_style, self.subtitle = body, title, border_style, subtitle

    def __rich_console__(self, console, options):
        from rich.console import Group
        from rich.panel import Panel
        from rich.text import Text

        title = Text(self.title)
        room = options.max_width - 6  # "╭─ " + title + " ─╮"
        body = self.body
        if title.cell_len > room:
            body, title = Group(Text(self.title, style="bold"), body), None
        subtitle = self.subtitle if self.subtitle and Text(self.subtitle).cell_len <= room else None
        yield Panel(body, title=title, title_align="left", subtitle=subtitle, subtitle_align="right",
                    border_style=self.border_style)
