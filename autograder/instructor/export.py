"""``grade export``: the course for instructors.

    grade export nbgrader DIR [--assignment NAME] [--quiz-seed N] [--force] [--lang en|es]
    grade export gradescope [--output FILE] [--seed N] [--allow-weak-isolation] [--lang en|es]
    grade export student DIR [--force] [--lang en|es]

Exit codes: 0 written, 2 a usage or course error (one line, never a traceback).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from autograder.arguments import OK, Parser, UsageError, common_options, make_console, open_kit
from autograder.i18n import Translator
from autograder.kit import Kit

ASSIGNMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
DEFAULT_ZIP = "gradescope-autograder.zip"


def main(argv: list[str], t: Translator) -> int:
    args = _parser(t).parse_args(argv)
    kit, t = open_kit(args)
    if not kit.solutions_dir.is_dir():
        raise UsageError(t("export.errors.no_solutions", path=kit.solutions_dir))
    return args.run(kit, args, t)


def _parser(t: Translator) -> argparse.ArgumentParser:
    from autograder.instructor.notebooks import DEFAULT_ASSIGNMENT

    parser = Parser(t, prog="grade export", description=t("export.help.description"))
    targets = parser.add_subparsers(dest="target", required=True, metavar="{nbgrader,gradescope,student}")
    nbgrader = targets.add_parser("nbgrader", help=t("export.help.nbgrader"), description=t("export.help.nbgrader"))
    nbgrader.add_argument("directory", metavar="DIR", help=t("export.help.directory"))
    nbgrader.add_argument("--assignment", metavar="NAME", default=DEFAULT_ASSIGNMENT,
                          help=t("export.help.assignment", default=DEFAULT_ASSIGNMENT))
    nbgrader.add_argument("--quiz-seed", metavar="N", type=int, help=t("export.help.quiz_seed"))
    nbgrader.add_argument("--force", action="store_true", help=t("export.help.force"))
    common_options(nbgrader, t)
    nbgrader.set_defaults(run=nbgrader_command)
    gradescope = targets.add_parser("gradescope", help=t("export.help.gradescope"),
                                    description=t("export.help.gradescope"))
    gradescope.add_argument("--output", metavar="FILE", default=DEFAULT_ZIP,
                            help=t("export.help.output", default=DEFAULT_ZIP))
    gradescope.add_argument("--seed", type=int, metavar="N", help=t("export.help.seed"))
    gradescope.add_argument("--allow-weak-isolation", action="store_true",
                            help=t("export.help.allow_weak_isolation"))
    common_options(gradescope, t)
    gradescope.set_defaults(run=gradescope_command)
    student = targets.add_parser("student", help=t("export.help.student"), description=t("export.help.student"))
    student.add_argument("directory", metavar="DIR", help=t("export.help.release_directory"))
    student.add_argument("--force", action="store_true", help=t("export.help.release_force"))
    common_options(student, t)
    student.set_defaults(run=student_command)
    return parser


def nbgrader_command(kit: Kit, args: argparse.Namespace, t: Translator) -> int:
    try:
        from autograder.instructor.nbgrader.export import ExportError, export
    except ImportError as error:  # nbformat comes with the instructor extra
        raise UsageError(t("export.errors.needs_instructor", module=error.name or error)) from None

    if not ASSIGNMENT.match(args.assignment):
        raise UsageError(t("export.errors.bad_assignment", name=args.assignment))
    root = Path(args.directory)
    try:
        result = export(kit, root, assignment=args.assignment, t=t, quiz_seed=args.quiz_seed, force=args.force)
    except ExportError as error:
        raise UsageError(str(error)) from None
    console = make_console()  # soft wrap: paths and commands stay on one line, ready to copy
    console.print(t("export.nbgrader.done", root=root, count=len(result.notebooks), assignment=result.assignment),
                  soft_wrap=True)
    if not result.config_written:
        console.print(t("export.nbgrader.config_kept", path=root / "nbgrader_config.py"), style="yellow",
                      soft_wrap=True)
    console.print(t("export.nbgrader.next", root=root, assignment=result.assignment), style="cyan", soft_wrap=True)
    return OK


def gradescope_command(kit: Kit, args: argparse.Namespace, t: Translator) -> int:
    from autograder.instructor.gradescope import build_zip
    from autograder.ui.report import display_path

    path = build_zip(kit, Path(args.output), language=t.language, seed=args.seed,
                     allow_weak_isolation=args.allow_weak_isolation)
    make_console().print(t("export.gradescope.done", path=display_path(path), size=max(1, path.stat().st_size // 1024)),
                         soft_wrap=True)
    return OK


def student_command(kit: Kit, args: argparse.Namespace, t: Translator) -> int:
    from autograder.instructor.release import ReleaseError, export_student

    try:
        release = export_student(kit, Path(args.directory), force=args.force, messages=t)
    except ReleaseError as error:
        raise UsageError(str(error)) from None
    console = make_console()
    console.print(t("export.student.done", root=release.root, files=release.files, sealed=release.sealed),
                  soft_wrap=True)
    console.print(t("export.student.next", root=release.root), style="cyan", soft_wrap=True)
    return OK
