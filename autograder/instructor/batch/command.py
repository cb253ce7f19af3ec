"""``grade batch DIR``: grade a whole class, write the gradebook and the class report.

    grade batch DIR [--jobs N] [--output OUT] [--seed N|random] [--force] [--assignment NAME]
                    [--allow-weak-isolation]

DIR holds one folder per student (laid out like exercises/, or an nbgrader ``submitted/``
tree; one assignment for the whole class). OUT (default: ``DIR-grades`` next to DIR, or
``DIR-NAME-grades`` with ``--assignment NAME``) receives ``results/<student>.json`` as each
submission finishes, then ``gradebook.csv``, ``checks.csv``, ``gradebook.json`` and
``class_report.md``; the class report is also printed, with the isolation level the
submissions were graded at. Where the only isolation is process limits (macOS, Windows),
the batch refuses to grade unless ``--allow-weak-isolation`` is given.

Exit codes: 0 every submission graded (whatever its score), 1 some could not be graded,
2 a usage or course error, 130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from autograder.arguments import (
    FAILED,
    OK,
    Parser,
    UsageError,
    common_options,
    make_console,
    open_kit,
    parse_seed,
)
from autograder.i18n import Translator
from autograder.kit import Kit


def main(argv: list[str], t: Translator) -> int:
    from autograder.instructor.batch.run import Settings, default_jobs

    parser = Parser(t, prog="grade batch", description=t("batch.help.description"))
    parser.add_argument("directory", metavar="DIR", help=t("batch.help.directory"))
    parser.add_argument("--jobs", "-j", type=int, metavar="N", default=default_jobs(),
                        help=t("batch.help.jobs", cores=default_jobs()))
    parser.add_argument("--output", "-o", metavar="OUT", help=t("batch.help.output"))
    parser.add_argument("--seed", metavar="N|random", default="random", help=t("batch.help.seed"))
    parser.add_argument("--force", action="store_true", help=t("batch.help.force"))
    parser.add_argument("--assignment", metavar="NAME", help=t("batch.help.assignment"))
    parser.add_argument("--allow-weak-isolation", action="store_true", help=t("batch.help.allow_weak_isolation"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    _check_isolation(args.allow_weak_isolation, t)
    directory = Path(args.directory)
    if not directory.is_dir():
        raise UsageError(t("errors.not_a_folder", path=directory))
    directory = directory.resolve()
    if args.jobs < 1:
        raise UsageError(t("batch.errors.jobs", jobs=args.jobs))
    suffix = f"-{args.assignment}-grades" if args.assignment else "-grades"
    output = Path(args.output).resolve() if args.output else directory.parent / f"{directory.name}{suffix}"
    if output == directory:
        raise UsageError(t("batch.errors.output_is_input", path=output))
    _check_assignment(kit, directory, args.assignment, output, t)
    settings = Settings(directory, output, args.jobs, parse_seed(args.seed, t), force=args.force,
                        language=t.language, assignment=args.assignment)
    return grade_class(kit, settings, t)


def _check_isolation(allowed_weak: bool, t: Translator) -> None:
    """A class is never graded with process limits alone, unless the instructor says so."""
    from autograder.sandbox.isolation import Level, SandboxError, detect

    try:
        level = detect().level
    except SandboxError as error:  # a misspelt $GRADE_ISOLATION
        raise UsageError(str(error)) from None
    if level == Level.PROCESS and not allowed_weak:
        raise UsageError(t("isolation.refused", command="grade batch", flag="--allow-weak-isolation"))


def _check_assignment(kit: Kit, directory: Path, asked: str | None, output: Path, t: Translator) -> None:
    """One nbgrader assignment for the whole class (see `resolve_assignment`): then each
    student's folder holds at most that one with the course's notebooks."""
    from autograder.instructor.submissions import AssignmentError, resolve_assignment

    try:
        resolve_assignment(directory, kit.course, asked, exclude=[output])
    except AssignmentError as error:
        key = "batch.errors.unknown_assignment" if error.asked else "batch.errors.several_assignments"
        raise UsageError(t(key, asked=error.asked, found=", ".join(error.found))) from None


def grade_class(kit: Kit, settings, t: Translator) -> int:
    from autograder.instructor.batch import class_report, gradebook
    from autograder.instructor.batch import run as batch
    from autograder.state import atomic_write

    try:
        with _Progress(t) as on_record:
            outcome = batch.run(kit, settings, on_record)
    except batch.Busy:
        raise UsageError(t("batch.errors.busy", path=settings.output)) from None
    if not outcome.records:
        if outcome.interrupted:
            raise KeyboardInterrupt
        raise UsageError(t("batch.errors.no_students", path=settings.directory))
    files = gradebook.write(outcome.records, kit.course, settings.output, t)
    summary = class_report.summarize(outcome.records, kit.course)
    report_file = settings.output / "class_report.md"
    from autograder.sandbox.isolation import detect
    from autograder.ui.report import isolation_line

    isolation = isolation_line(detect(), t)
    atomic_write(report_file, (class_report.markdown(summary, kit.course, t) + f"\n{isolation}\n").encode("utf-8"))
    console = make_console()
    console.print(class_report.ClassReportView(summary, kit.course, t))
    console.print(isolation, style="dim")
    console.print(t("batch.summary", graded=outcome.graded, resumed=outcome.resumed, errors=len(outcome.errors),
                    seconds=f"{outcome.seconds:.1f}"))
    console.print(t("batch.written", folder=settings.output,
                    files=", ".join(p.name for p in [*files, report_file]), results=batch.RESULTS))
    if outcome.interrupted:
        print(t("errors.prefix") + t("batch.interrupted", done=len(outcome.records), total=outcome.total),
              file=sys.stderr)
        return 130
    return FAILED if outcome.errors else OK


class _Progress:
    """A Rich progress bar on stderr while the class is graded (only on a terminal)."""

    def __init__(self, t: Translator) -> None:
        self.t = t
        self.bar = None
        self.task = None

    def __enter__(self) -> Callable | None:
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[last]}"),
                            console=Console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task(self.t("batch.progress"), total=None, last="")
        return self.update

    def update(self, record: dict | None, done: int, total: int) -> None:
        last = ""
        if record is not None:
            report = record.get("report")
            last = (self.t("batch.progress_last", student=record["student"], score=f"{report['score']:g}",
                           max=f"{report['max_score']:g}") if report
                    else self.t("batch.progress_error", student=record["student"]))
        self.bar.update(self.task, completed=done, total=total, last=last)

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()
