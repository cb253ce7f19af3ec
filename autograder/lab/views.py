"""How an experiment's outcome is shown: Rich views for the terminal, a dict for ``--json``.

Messages carry numbers as `Pct` and `Num`, written here in the reader's language (97.4% in
English, 97,4 % in Spanish), and lists, joined with commas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from autograder.i18n import Msg, Translator
from autograder.lab import charts
from autograder.lab.experiment import Num, Pct
from autograder.lab.outcome import Outcome
from autograder.sandbox.client import StudentError

SAME = 0.0005  # accuracies closer than this are the same numbers (printed to 0.1%)


def say(t: Translator, item: Any) -> str:
    """A message (its numbers in `t`'s language), a number, a list, or a string."""
    if isinstance(item, Msg):
        return t(item.key, **{name: say(t, value) for name, value in item.params.items()})
    if isinstance(item, Pct):
        return number(t, 100 * item.value, 1) + ("\u00a0%" if t.language == "es" else "%")
    if isinstance(item, Num):
        return number(t, item.value, item.digits)
    if isinstance(item, (list, tuple)):
        return ", ".join(say(t, value) for value in item)
    return str(item)


def number(t: Translator, value: float, digits: int | None) -> str:
    if not math.isfinite(value):
        return t("lab.not_a_number")
    text = f"{value:.{digits}f}" if digits is not None else f"{value:g}"
    return text.replace(".", ",") if t.language == "es" else text


@dataclass
class OutcomeView:
    """One experiment: title, claim, charts, reading, verdict, comparison, findings."""

    outcome: Outcome
    position: str
    t: Translator
    colour: bool = True

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        o, t, experiment = self.outcome, self.t, self.outcome.experiment
        key = f"lab.{experiment.id}"
        yield Rule(Text(f"{self.position} · {t(key + '.title')}", style="bold"))
        yield Text(t("lab.claim", claim=t(key + ".claim")), style="italic")
        yield Text(t(key + ".setup", epochs=o.specs[0]["epochs"] if o.specs else ""), style="dim")
        if o.not_started:
            yield Text(t("lab.needs", exercises=", ".join(o.not_started), first=o.not_started[0]), style="yellow")
            return
        if o.reference is None:
            return
        width = max(40, min(options.max_width, 100) - 2)
        for chart in experiment.charts(o.reference, o.student):
            if chart.terminal:
                yield charts.terminal(chart, t, width=width, colour=self.colour)
        if o.error is not None:
            yield Text(failure(t, o.error), style="red")
        numbers = o.numbers
        whose = "lab.reading_yours" if o.student is not None else "lab.reading_reference"
        yield Text(t(whose), style="bold")
        yield bullets([say(t, line) for line in experiment.reading(numbers)])
        shown = o.claim_shown
        yield Text(("✔ " if shown else "✘ ") + t("lab.shown" if shown else "lab.not_shown", test=t(key + ".test")),
                   style="green" if shown else "yellow")
        yield from comparison(o, t)
        for finding in o.findings():
            yield Text("! " + say(t, finding), style="bold yellow")
        if o.failing:
            yield Text(t("lab.failing", exercises=", ".join(o.failing), first=o.failing[0]), style="yellow")


def bullets(lines: list[str]) -> Table:
    """Lines with a bullet and a hanging indent."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=2, justify="right")
    grid.add_column()
    for line in lines:
        grid.add_row("•", line)
    return grid


def comparison(o: Outcome, t: Translator) -> RenderResult:
    rows = o.differences()
    if not rows:
        return
    worst = rows[0]
    values = {"what": say(t, worst.label), "yours": say(t, Pct(worst.student)),
              "reference": say(t, Pct(worst.reference)), "noise": say(t, Num(100 * worst.tolerance, 1))}
    if worst.departs:
        key = "lab.departs_failing" if o.failing else "lab.departs_passing"
        yield Text(t(key, count=sum(d.departs for d in rows), total=len(rows), **values), style="bold yellow")
    elif max(d.size for d in rows) < SAME:
        yield Text(t("lab.identical"), style="green")
    else:
        yield Text(t("lab.matches", **values), style="green")


def failure(t: Translator, error: StudentError) -> str:
    """One line on how the student's code failed during a run."""
    detail = error.detail or {}
    kind = type(error).__name__
    if kind == "TimedOut":
        return t("lab.error.timeout", function=error.function, seconds=detail.get("seconds", ""))
    if kind == "MissingFunction":
        return t("lab.error.missing", function=error.function, module=error.module)
    where = error.frames[-1] if error.frames else None
    place = t("lab.error.where", line=where["line"], function=where["function"]) if where else ""
    return t("lab.error.raised", function=error.function, type=detail.get("type", kind),
             message=str(detail.get("message", ""))[:200], where=place)


def to_json(outcome: Outcome, t: Translator) -> dict:
    """The numbers of one experiment (NaN as null) and its texts in `t`'s language."""
    o = outcome
    return clean({
        "id": o.experiment.id,
        "ran": o.numbers is not None,
        "not_started": o.not_started,
        "failing": o.failing,
        "error": failure(t, o.error) if o.error is not None else None,
        "claim_shown": o.claim_shown,
        "student": o.student,
        "reference": o.reference,
        "reading": [say(t, line) for line in o.experiment.reading(o.numbers)] if o.numbers is not None else [],
        "differences": [{"what": say(t, d.label), "student": d.student, "reference": d.reference,
                         "tolerance": d.tolerance, "departs": d.departs} for d in o.differences()],
        "findings": [say(t, f) for f in o.findings()],
        "png": str(o.png) if o.png else None,
        "seconds": round(o.seconds, 2),
    })


def clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


