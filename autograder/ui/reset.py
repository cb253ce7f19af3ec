"""``grade reset EXERCISE [--yes]``: bring back the starting version of one exercise's functions.

The only command of the kit that writes a student file. It takes the stubs from the kit's own
history (git: the newest committed version of the file in which the exercise's functions are
still stubs), never from the student's folder; it replaces only the exercise's functions and
leaves the file's other functions as the student wrote them; it asks first (``--yes`` does not),
and it keeps the student's file as a timestamped backup in the state folder, whose path it
prints. A file that does not parse cannot be taken apart: then the whole file is restored
(after saying so), and the backup keeps all of it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from autograder.arguments import FAILED, OK, Parser, UsageError, common_options, make_console, open_kit
from autograder.grading.stubs import unimplemented_in
from autograder.i18n import Translator
from autograder.kit import Kit
from autograder.state import atomic_write
from autograder.ui.commands import exercise_id
from autograder.ui.report import display_path

YES = {"y", "yes", "s", "si", "sí"}


def main(argv: list[str], t: Translator) -> int:
    parser = Parser(t, prog="grade reset", description=t("reset.help.description"))
    parser.add_argument("exercise", metavar="EXERCISE", help=t("reset.help.exercise"))
    parser.add_argument("--yes", "-y", action="store_true", help=t("reset.help.no_question"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    exercise = kit.course.exercise(exercise_id(kit, args.exercise, t))
    if not exercise.file:
        raise UsageError(t("reset.errors.no_functions", exercise=exercise.id, requires=", ".join(exercise.requires)))
    path = kit.exercises_dir / exercise.file
    stub = starting_version(kit, path, exercise.functions)
    if stub is None:
        raise UsageError(t("reset.errors.no_stub", file=display_path(path)))
    current = path.read_text(encoding="utf-8", errors="surrogateescape") if path.is_file() else None
    restored = restore(current, stub, exercise.functions)
    whole = restored is None
    restored = stub if whole else restored
    console = make_console()
    if current == restored:
        console.print(t("reset.unchanged", functions=", ".join(exercise.functions), file=display_path(path)))
        return OK
    question = t("reset.ask_whole" if whole and current is not None else "reset.ask",
                 functions=", ".join(exercise.functions), file=display_path(path))
    if not args.yes and not confirmed(question, t):
        console.print(t("reset.declined"))
        return FAILED
    backup = keep_backup(kit, path) if current is not None else None
    write_student_file(path, restored)
    console.print(t("reset.done_whole" if whole else "reset.done", functions=", ".join(exercise.functions),
                    file=display_path(path)), style="bold green")
    if backup is not None:
        console.print(t("reset.backup", backup=display_path(backup)))
    return OK


def starting_version(kit: Kit, path: Path, functions: list[str]) -> str | None:
    """The newest version of `path` in the kit's git history in which all of `functions` are
    still stubs (None: not a git checkout, or no such version)."""
    try:
        top = Path(_git(kit.root, "rev-parse", "--show-toplevel").strip())
        relative = path.resolve().relative_to(top.resolve()).as_posix()
        commits = _git(top, "log", "--format=%H", "--", relative).split()
    except (OSError, ValueError, subprocess.CalledProcessError):
        return None
    for commit in commits:
        try:
            source = _git(top, "show", f"{commit}:{relative}")
        except (subprocess.CalledProcessError, UnicodeDecodeError):
            continue
        if set(functions) <= unimplemented_in(source):
            return source
    return None


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, check=True,
                          timeout=30).stdout


def restore(current: str | None, stub: str, functions: list[str]) -> str | None:
    """`current` with each of `functions` replaced by its version in `stub` (appended when
    missing); the rest unchanged. None when `current` does not parse (or is missing)."""
    if current is None:
        return None
    try:
        mine = definitions(current)
    except SyntaxError:
        return None
    theirs = definitions(stub)
    lines = current.splitlines(keepends=True)
    missing = []
    for name in sorted(functions, key=lambda f: mine.get(f, (0, 0))[0], reverse=True):  # bottom up
        start, end = theirs[name]
        replacement = stub.splitlines(keepends=True)[start - 1:end]
        if name in mine:
            first, last = mine[name]
            lines[first - 1:last] = replacement
        else:
            missing.append(replacement)
    for replacement in reversed(missing):
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines += ["\n", "\n", *replacement]
    return "".join(lines)


def definitions(source: str) -> dict[str, tuple[int, int]]:
    """Top-level function name -> (first line with its decorators, last line), 1-based; the
    last definition of a name wins, as in Python."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found[node.name] = (first, node.end_lineno)
    return found


def confirmed(question: str, t: Translator) -> bool:
    """Ask on the terminal; an answer other than yes (or no answer) is no."""
    print(f"{question} {t('reset.yes_no')} ", end="", flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in YES


def keep_backup(kit: Kit, path: Path) -> Path:
    """Copy the student's file to ``<state>/backups/<name>.<UTC time>.py`` (never overwriting)."""
    folder = kit.state_dir / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    backup, number = folder / f"{path.stem}.{stamp}{path.suffix}", 1
    while backup.exists():
        number += 1
        backup = folder / f"{path.stem}.{stamp}-{number}{path.suffix}"
    shutil.copy2(path, backup)
    return backup


def write_student_file(path: Path, text: str) -> None:
    """Write atomically, keeping the file's permissions."""
    mode = path.stat().st_mode if path.exists() else None
    atomic_write(path, text.encode("utf-8", errors="surrogateescape"))
    if mode is not None:
        os.chmod(path, mode)
    else:
        os.chmod(path, 0o644)

