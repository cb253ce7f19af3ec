"""``grade lab``: see what BatchNorm and Dropout do, trained with your own layers.

    grade lab [EXPERIMENT] [--reference] [--quick] [--json] [--lang en|es]
    grade lab --list

Exit codes: 0 every experiment ran with the student's code (or the reference, with
``--reference``), 1 some could not (an exercise not started, or the code failed during a run),
2 a usage or course error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autograder.arguments import FAILED, OK, Parser, UsageError, common_options, make_console, open_kit, suggestion
from autograder.i18n import Translator
from autograder.kit import Kit
from autograder.lab.experiments import BY_ID, EXPERIMENTS


def main(argv: list[str], t: Translator) -> int:
    args = _parser(t).parse_args(argv)
    kit, t = open_kit(args)
    if kit.course.lab is None:
        raise UsageError(t("lab.errors.no_lab"))
    from autograder.lab import checkpoint

    checkpoint.check_ids(kit, list(BY_ID))
    if args.list:
        return list_experiments(kit, t)
    if args.experiment and args.experiment not in BY_ID:
        raise UsageError(t("lab.errors.unknown", name=args.experiment,
                           suggestion=suggestion(args.experiment, list(BY_ID), t)))
    experiments = [BY_ID[args.experiment]] if args.experiment else EXPERIMENTS
    return run_lab(kit, t, experiments, reference_only=args.reference, quick=args.quick, as_json=args.json)


def _parser(t: Translator) -> argparse.ArgumentParser:
    parser = Parser(t, prog="grade lab", description=t("lab.help.description"), epilog=t("lab.help.epilog"))
    parser.add_argument("experiment", nargs="?", metavar="EXPERIMENT", help=t("lab.help.experiment"))
    parser.add_argument("--list", action="store_true", help=t("lab.help.list"))
    parser.add_argument("--reference", action="store_true", help=t("lab.help.reference"))
    parser.add_argument("--quick", action="store_true", help=t("lab.help.quick"))
    parser.add_argument("--json", action="store_true", help=t("lab.help.json"))
    common_options(parser, t)
    return parser


def list_experiments(kit: Kit, t: Translator) -> int:
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("id", "title", "needs", "question"):
        table.add_column(t(f"lab.list.{column}"), no_wrap=column in ("id", "question"),
                         min_width=len("bn_running_stats,") if column == "needs" else None)
    for experiment in EXPERIMENTS:
        table.add_row(experiment.id, t(f"lab.{experiment.id}.title"), ", ".join(needed(kit, experiment)),
                      kit.course.lab.checkpoints.get(experiment.id, ""))
    console = make_console()
    console.print(table)
    console.print(t("lab.list.how"))
    return OK


def needed(kit: Kit, experiment) -> list[str]:
    """The exercises whose functions an experiment calls, in course order."""
    owners = {kit.course.owner(f).id for f in experiment.functions}
    return [e for e in kit.course.ids if e in owners]


def run_lab(kit: Kit, t: Translator, experiments: list, *, reference_only: bool, quick: bool, as_json: bool) -> int:
    from autograder.lab.cache import RunCache
    from autograder.lab.execution import REFERENCE, STUDENT, Trainer
    from autograder.sandbox.client import SandboxError

    directory = kit.exercises_dir.resolve()
    if not kit.solutions_dir.is_dir():  # a student release: no reference runs to compare with
        raise UsageError(t("lab.errors.no_reference", path=kit.solutions_dir))
    if not reference_only and not directory.is_dir():
        raise UsageError(t("errors.not_a_folder", path=directory))
    sides = {REFERENCE: kit.solutions_dir.resolve()} | ({} if reference_only else {STUDENT: directory})
    figures = kit.state_dir / "lab"
    trainer = Trainer(kit, sides, RunCache(figures / "runs", kit.course))
    console = make_console()
    report = []
    try:
        status = {} if reference_only else exercise_status(kit, directory, experiments, t, show=not as_json)
        for number, experiment in enumerate(experiments, 1):
            result = run_experiment(kit, t, trainer, experiment, status, figures, reference_only=reference_only,
                                    quick=quick, progress=not as_json)
            report.append(result)
            if not as_json:
                show(kit, t, console, result, f"{number}/{len(experiments)}")
    except SandboxError as error:
        raise UsageError(t("errors.sandbox", message=str(error).splitlines()[0])) from None
    finally:
        trainer.close()
    if as_json:
        from autograder.lab.views import to_json

        print(json.dumps({"reference_only": reference_only, "quick": quick, "figures": str(figures),
                          "experiments": [to_json(r, t) for r in report]}, ensure_ascii=False, indent=2))
    elif any(r.png for r in report):
        console.print()
        console.print(t("lab.figures", path=_shown(figures)), style="bold")
    return OK if all(r.not_started == [] and r.error is None for r in report) else FAILED


def run_experiment(kit: Kit, t: Translator, trainer, experiment, status: dict[str, str], figures: Path, *,
                   reference_only: bool, quick: bool, progress: bool):
    """One experiment's `Outcome`, and its PNG; nothing runs when an exercise it needs is
    still an untouched stub."""
    from autograder.lab import outcome
    from autograder.lab.charts import png

    exercises = needed(kit, experiment)
    not_started = [e for e in exercises if status.get(e) == "not_started"]
    if not_started:
        return outcome.Outcome(experiment, experiment.runs(quick), not_started=not_started)
    lab = kit.course.lab
    with _progress(t, t(f"lab.{experiment.id}.title"), enabled=progress) as on_done:
        result = outcome.run(trainer, experiment, quick=quick, seed=lab.seed, noise_seeds=lab.noise_seeds,
                             student=not reference_only, on_done=on_done)
    result.failing = [e for e in exercises if status.get(e) == "failed"]
    name = f"{experiment.id}-reference.png" if reference_only else f"{experiment.id}.png"
    drawn = [chart for chart in experiment.charts(result.reference, result.student) if chart.png]
    result.png = png(drawn, t(f"lab.{experiment.id}.title"), t, figures / name)
    return result


def show(kit: Kit, t: Translator, console, result, position: str) -> None:
    """The experiment on the console, then its checkpoint question (asked in a terminal)."""
    from autograder.lab.views import OutcomeView

    console.print(OutcomeView(result, position, t, colour=console.is_terminal))
    if result.png:
        console.print(t("lab.png", path=_shown(result.png)), style="dim")
    question = kit.course.lab.checkpoints.get(result.experiment.id)
    if not question or result.numbers is None:
        return
    if kit.course.quiz is not None and sys.stdin.isatty() and sys.stdout.isatty():
        from autograder.lab import checkpoint

        checkpoint.ask(kit, question, t, console)
    else:
        console.print(t("lab.checkpoint.later", topic=_topic(kit, question)), style="dim")


def exercise_status(kit: Kit, directory: Path, experiments: list, t: Translator, *, show: bool) -> dict[str, str]:
    """Each needed exercise: "not_started" (untouched stubs), "passed" or "failed" (its checks,
    through the grading result cache, so an exercise graded since its last change is not run
    again)."""
    from autograder.grading.runner import grade, result_cache
    from autograder.grading.stubs import not_started

    wanted = [e for e in kit.course.ids if any(e in needed(kit, x) for x in experiments)]
    stubs = not_started(kit.course, directory)
    status = {e: "not_started" for e in wanted if e in stubs}
    started = [e for e in wanted if e not in stubs]
    if started:
        seed = kit.course.policy.seed
        with _progress(t, t("lab.checking"), enabled=show, count=False):
            report = grade(kit, directory, exercises=started, seed=seed, cache=result_cache(kit, directory, seed))
        status.update({result.id: "passed" if result.status == "passed" else "failed" for result in report.exercises})
    return status


def _shown(path: Path) -> str:
    """A path relative to the current folder when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _topic(kit: Kit, question_id: str) -> str:
    from autograder.quiz.bank import load_bank

    return load_bank(kit).question(question_id).topic


class _progress:
    """A transient progress bar on stderr while an experiment trains (only on a terminal)."""

    def __init__(self, t: Translator, label: str, enabled: bool, count: bool = True) -> None:
        self.t, self.label, self.count = t, label, count
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = [TextColumn("{task.description}"), BarColumn()]
        if self.count:
            columns += [MofNCompleteColumn(), TextColumn(self.t("lab.runs"))]
        self.bar = Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task(self.label, total=None)

        def on_done(done: int, total: int) -> None:
            self.bar.update(task, completed=done, total=total)

        return on_done

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.stop()
