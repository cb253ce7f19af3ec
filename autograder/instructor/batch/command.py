"""``grade batch DIR``: grade a whole class, write the gradebook and the class report.

    grade batch DIR [--jobs N] [--output OUT] [--seed N|random] [--force] [--assignment NAME]
                    [--roster FILE] [--only ID ...] [--shard K/N] [--submitted-at FILE]
                    [--nbgrader-db FILE] [--write-gradebook]
                    [--allow-weak-isolation]
    grade batch merge OUT1 OUT2 ... --output OUT

DIR holds, per student, a folder or a zip (laid out like exercises/, anything at any depth, or
an nbgrader ``submitted/`` tree; one assignment for the whole class). OUT (default:
``DIR-grades`` next to DIR, or ``DIR-NAME-grades`` with ``--assignment NAME``) receives
``results/<student>.json`` as each submission finishes, ``submissions/<student>/`` (what was
graded), ``feedback/<student>.md|html``, then the gradebook files, ``similarity.csv`` and
``class_report.md``; the class report is also printed, with the isolation level the
submissions were graded at. Where the only isolation is process limits (macOS, Windows),
the batch refuses to grade unless ``--allow-weak-isolation`` is given. ``merge`` joins the output folders of
``--shard`` runs into one.

Exit codes: 0 every submission graded (whatever its score), 1 some could not be graded,
2 a usage or course error, 130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import re
import shutil
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
    suggestion,
)
from autograder.i18n import Translator
from autograder.kit import Kit

SHARD = re.compile(r"^(\d+)/(\d+)$")


def main(argv: list[str], t: Translator) -> int:
    if argv and argv[0] == "merge":
        return merge_command(argv[1:], t)
    from autograder.instructor.batch.run import Settings, default_jobs

    parser = Parser(t, prog="grade batch", description=t("batch.help.description"), epilog=t("batch.help.merge"))
    parser.add_argument("directory", metavar="DIR", help=t("batch.help.directory"))
    parser.add_argument("--jobs", "-j", type=int, metavar="N", default=default_jobs(),
                        help=t("batch.help.jobs", cores=default_jobs()))
    parser.add_argument("--output", "-o", metavar="OUT", help=t("batch.help.output"))
    parser.add_argument("--seed", metavar="N|random", default="random", help=t("batch.help.seed"))
    parser.add_argument("--force", action="store_true", help=t("batch.help.force"))
    parser.add_argument("--assignment", metavar="NAME", help=t("batch.help.assignment"))
    parser.add_argument("--roster", metavar="FILE", help=t("batch.help.roster"))
    parser.add_argument("--only", metavar="ID", nargs="+", help=t("batch.help.only"))
    parser.add_argument("--shard", metavar="K/N", help=t("batch.help.shard"))
    parser.add_argument("--submitted-at", metavar="FILE", help=t("batch.help.submitted_at"))
    parser.add_argument("--nbgrader-db", metavar="FILE", help=t("batch.help.nbgrader_db"))
    parser.add_argument("--write-gradebook", action="store_true", help=t("batch.help.write_gradebook"))
    parser.add_argument("--allow-weak-isolation", action="store_true",
                        help=t("batch.help.allow_weak_isolation"))
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
    assignment = _check_assignment(kit, directory, args.assignment, output, t)
    roster = _roster(args.roster, t)
    settings = Settings(directory, output, args.jobs, parse_seed(args.seed, t), force=args.force,
                        language=t.language, assignment=args.assignment,
                        roster=roster.ids if roster else None, shard=_shard(args.shard, t),
                        only=_only(args.only, directory, output, roster, t))
    context = _context(kit, roster, args.submitted_at, assignment, t)
    nbgrader = _nbgrader(directory, args.nbgrader_db, args.write_gradebook, assignment, t)
    return grade_class(kit, settings, t, context=context, nbgrader=nbgrader)


def _check_isolation(allowed_weak: bool, t: Translator) -> None:
    """A class is never graded with process limits alone, unless the instructor says so."""
    from autograder.sandbox.isolation import Level, SandboxError, detect

    try:
        level = detect().level
    except SandboxError as error:  # a misspelt $GRADE_ISOLATION
        raise UsageError(str(error)) from None
    if level == Level.PROCESS and not allowed_weak:
        raise UsageError(t("isolation.refused", command="grade batch", flag="--allow-weak-isolation"))


def _check_assignment(kit: Kit, directory: Path, asked: str | None, output: Path, t: Translator) -> str | None:
    """One nbgrader assignment for the whole class (see `resolve_assignment`): then each
    student's folder holds at most that one with the course's notebooks."""
    from autograder.instructor.submissions import AssignmentError, resolve_assignment

    try:
        return resolve_assignment(directory, kit.course, asked, exclude=[output])
    except AssignmentError as error:
        key = "batch.errors.unknown_assignment" if error.asked else "batch.errors.several_assignments"
        raise UsageError(t(key, asked=error.asked, found=", ".join(error.found))) from None


def _roster(path: str | None, t: Translator):
    if path is None:
        return None
    from autograder.instructor.submissions import RosterError, read_roster

    try:
        return read_roster(Path(path))
    except RosterError as error:
        raise UsageError(t("batch.errors.roster", error=error)) from None


def _shard(value: str | None, t: Translator) -> tuple[int, int] | None:
    if value is None:
        return None
    match = SHARD.match(value)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(t("batch.errors.shard", value=value))
    return int(match.group(1)), int(match.group(2))


def _only(ids: list[str] | None, directory: Path, output: Path, roster, t: Translator) -> set[str] | None:
    """The students of ``--only``; each must be in the class folder or on the roster."""
    if ids is None:
        return None
    from autograder.instructor.submissions import find_submissions

    known = [s.student for s in find_submissions(directory, exclude=[output], roster=roster.ids if roster else None)]
    for student in ids:
        if student not in known:
            raise UsageError(t("batch.errors.unknown_student", student=student, path=directory,
                               suggestion=suggestion(student, known, t)))
    return set(ids)


def _context(kit: Kit, roster, times_file: str | None, assignment: str | None, t: Translator):
    from autograder.instructor.batch.gradebook import Context

    times = {}
    if times_file is not None:
        from autograder.instructor.late import TimesError, read_times

        try:
            times = read_times(Path(times_file))
        except TimesError as error:
            raise UsageError(t("batch.errors.times", error=error)) from None
        if kit.course.deadline is None:
            print(t("errors.prefix") + t("batch.no_deadline"), file=sys.stderr)
    return Context(roster=roster.columns if roster else {}, times=times,
                   assignment=f"{t.text(kit.course.title)} ({assignment})" if assignment else "")


def _nbgrader(directory: Path, database: str | None, write: bool, assignment: str | None,
              t: Translator) -> tuple[Path, str, bool] | None:
    """nbgrader's gradebook to compare with (and write into): ``--nbgrader-db``, else the one
    next to a ``submitted/`` folder of notebooks."""
    from autograder.instructor.nbgrader.verify import default_database

    path = Path(database) if database else default_database(directory) if assignment else None
    if database and not path.is_file():
        raise UsageError(t("batch.errors.no_database", path=path))
    if path is None or assignment is None:
        if write:
            raise UsageError(t("batch.errors.write_needs_nbgrader"))
        return None
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        raise UsageError(t("export.errors.needs_instructor", module="nbgrader")) from None
    return path, assignment, write


def grade_class(kit: Kit, settings, t: Translator, *, context=None, nbgrader=None) -> int:
    from autograder.instructor.batch import run as batch

    try:
        with _Progress(t) as on_record:
            outcome = batch.run(kit, settings, on_record)
    except batch.Busy:
        raise UsageError(t("batch.errors.busy", path=settings.output)) from None
    if not outcome.records:
        if outcome.interrupted:
            raise KeyboardInterrupt
        raise UsageError(t("batch.errors.no_students", path=settings.directory))
    console = make_console()
    files = write_outputs(kit, outcome.records, settings.output, t, context, nbgrader, console)
    console.print(t("batch.summary", graded=outcome.graded, resumed=outcome.resumed, errors=len(outcome.errors),
                    seconds=f"{outcome.seconds:.1f}"))
    console.print(t("batch.written", folder=settings.output, files=", ".join(p.name for p in files),
                    results=batch.RESULTS))
    if outcome.interrupted:
        print(t("errors.prefix") + t("batch.interrupted", done=len(outcome.records), total=outcome.total),
              file=sys.stderr)
        return 130
    return FAILED if outcome.errors else OK


def write_outputs(kit: Kit, records: list[dict], output: Path, t: Translator, context, nbgrader, console) -> list[Path]:
    """The gradebook files, the similarity hints, the nbgrader check and the class report
    (printed too); the paths written."""
    from autograder.instructor.batch import class_report, gradebook, similarity
    from autograder.state import atomic_write

    files = gradebook.write(records, kit.course, output, t, context)
    clusters = similarity.clusters({r["student"]: r.get("fingerprints") or [] for r in records})
    files.append(output / "similarity.csv")
    atomic_write(files[-1], gradebook.csv_text(similarity.cluster_rows(clusters)).encode("utf-8"))
    differences = []
    if nbgrader is not None:
        from autograder.instructor.nbgrader import verify

        database, assignment, write = nbgrader
        differences, count = verify.check(database, assignment, kit.course, records, write=write)
        files.append(output / "nbgrader_differences.csv")
        atomic_write(files[-1], gradebook.csv_text(
            [["student", "test", "nbgrader", "kit"]] +
            [[d.student, d.test, _score(d.nbgrader), _score(d.kit)] for d in differences]).encode("utf-8"))
        if write:
            console.print(t("batch.gradebook_written", count=count, path=database), soft_wrap=True)
    summary = class_report.summarize(records, kit.course, clusters=clusters, differences=differences)
    files.append(output / "class_report.md")
    console.print(class_report.ClassReportView(summary, kit.course, t))
    from autograder.sandbox.isolation import detect
    from autograder.ui.report import isolation_line

    isolation = isolation_line(detect(), t)  # the level its submissions were graded at
    atomic_write(files[-1], (class_report.markdown(summary, kit.course, t) + f"\n{isolation}\n").encode("utf-8"))
    console.print(isolation, style="dim")
    return files


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def merge_command(argv: list[str], t: Translator) -> int:
    """``grade batch merge OUT1 OUT2 ... --output OUT``: the results of several shards (or of
    runs on several machines) joined into one output folder, gradebook and report."""
    from autograder.instructor.batch import run as batch

    parser = Parser(t, prog="grade batch merge", description=t("batch.help.merge"))
    parser.add_argument("parts", nargs="+", metavar="PART", help=t("batch.help.parts"))
    parser.add_argument("--output", "-o", metavar="OUT", required=True, help=t("batch.help.merge_output"))
    parser.add_argument("--roster", metavar="FILE", help=t("batch.help.roster"))
    parser.add_argument("--submitted-at", metavar="FILE", help=t("batch.help.submitted_at"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    output = Path(args.output).resolve()
    parts = [Path(p).resolve() for p in args.parts]
    for part in parts:
        if not (part / batch.RESULTS).is_dir():
            raise UsageError(t("batch.errors.not_an_output", path=part))
        if part == output:
            raise UsageError(t("batch.errors.output_is_input", path=output))
    course = batch.course_digest(kit)
    records: dict[str, dict] = {}
    for part in parts:
        for path in sorted((part / batch.RESULTS).glob("*.json")):
            record = batch.load_record(path)
            if record is None:
                continue
            if record.get("course") != course:
                raise UsageError(t("batch.errors.other_kit", path=path))
            if record["student"] in records:
                raise UsageError(t("batch.errors.twice", student=record["student"], path=path))
            records[record["student"]] = record
            _copy_part(part, output, record)
    if not records:
        raise UsageError(t("batch.errors.no_results", paths=", ".join(map(str, parts))))
    roster = _roster(args.roster, t)
    merged = [records[s] for s in sorted(records)]
    context = _context(kit, roster, args.submitted_at, merged[0].get("assignment"), t)
    console = make_console()
    files = write_outputs(kit, merged, output, t, context, None, console)
    console.print(t("batch.merged", count=len(merged), parts=len(parts), folder=output,
                    files=", ".join(p.name for p in files)), soft_wrap=True)
    return FAILED if any(r.get("error") for r in merged) else OK


def _copy_part(part: Path, output: Path, record: dict) -> None:
    """One student's record, graded files and feedback, from a part into the merged folder."""
    from autograder.instructor.batch.run import FEEDBACK, RESULTS, STAGED

    student = record["student"]
    (output / RESULTS).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(part / RESULTS / f"{student}.json", output / RESULTS / f"{student}.json")
    staged = part / STAGED / student
    if staged.is_dir():
        shutil.copytree(staged, output / STAGED / student, dirs_exist_ok=True)
    for suffix in (".md", ".html"):
        feedback = part / FEEDBACK / f"{student}{suffix}"
        if feedback.is_file():
            (output / FEEDBACK).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(feedback, output / FEEDBACK / f"{student}{suffix}")


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
            if report:
                last = self.t("batch.progress_last", student=record["student"], score=f"{report['score']:g}",
                              max=f"{report['max_score']:g}")
            elif record.get("error"):
                last = self.t("batch.progress_error", student=record["student"])
            else:
                last = f"{record['student']}: {self.t('batch.status.not_submitted')}"
        self.bar.update(self.task, completed=done, total=total, last=last)

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()
