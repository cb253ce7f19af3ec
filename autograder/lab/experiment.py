"""What an experiment of the lab is made of, and the numbers its messages carry.

An `Experiment` lists its training runs (driver specs, see `autograder.lab.driver`), turns the
runs' results into its measured numbers, and from those numbers alone draws its charts, tells
whether its claim shows, writes its reading and names known mistakes. Each experiment is a
module of `autograder.lab.experiments`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from autograder.i18n import Msg, msg

Numbers = dict[str, Any]
BN_LAYERS = ("batchnorm_forward", "batchnorm_backward", "update_running_stats", "batchnorm_eval", "sgd_step")
CHANCE = 0.1  # ten classes: the accuracy of a network that learnt nothing (or diverged)


@dataclass(frozen=True)
class Pct:
    """An accuracy (0..1) in a message: 97.4% (en), 97,4 % (es)."""

    value: float


@dataclass(frozen=True)
class Num:
    """A plain number in a message, with `digits` decimals (``None``: as short as exact)."""

    value: float
    digits: int | None = 2


@dataclass(frozen=True)
class Series:
    """One curve: the student's or the reference's, for one condition (its colour)."""

    label: Msg
    x: list[float]
    y: list[float]
    group: int
    reference: bool


@dataclass(frozen=True)
class Chart:
    title: Msg
    x_label: Msg
    y_label: Msg
    series: list[Series]
    x_log: bool = False
    y_max: float | None = None
    """Values above are drawn at the top (a diverging loss would flatten everything else)."""
    terminal: bool = True
    png: bool = True
    """Where it is drawn (the PNG has room for more curves than 80 columns)."""


@dataclass(frozen=True)
class Experiment:
    """One claim of the lecture, reproduced with the student's layers."""

    id: str
    functions: tuple[str, ...]
    """The student's functions its runs call."""
    runs: Callable[[bool], list[dict]]
    """quick -> the driver spec of each run (without its seed)."""
    numbers: Callable[[list[dict], list[dict]], Numbers]
    """(the specs of `runs`, the driver's results in the same order) -> the measured numbers."""
    claim: Callable[[Numbers], bool]
    """Whether the numbers show the claim, with a margin."""
    reading: Callable[[Numbers], list[Msg]]
    """What the numbers show, each sentence computed from them."""
    charts: Callable[[Numbers, Numbers | None], list[Chart]]
    """(reference, student or None) -> the charts."""
    compared: Callable[[Numbers], list[tuple[Msg, float]]]
    """Accuracies compared with the reference's, to tell a departure from run-to-run noise."""
    findings: Callable[[Numbers, Numbers], list[Msg]] = field(default=lambda student, reference: [])
    """(student, reference) -> known mistakes the student's numbers show."""


# -- helpers the experiments share -----------------------------------------------------------


def final(values: list[float]) -> float:
    """The last value of a curve (NaN when the run diverged)."""
    return float(values[-1]) if values else math.nan


def trained(accuracy: float) -> float:
    """A final accuracy, with a diverged run (NaN) counted as chance."""
    return CHANCE if not math.isfinite(accuracy) else accuracy


def spread(values: list[float]) -> float:
    values = [trained(v) for v in values]
    return max(values) - min(values)


def loss_text(value: float) -> Msg | Num:
    """A final loss, or "diverged"."""
    return Num(value) if math.isfinite(value) else msg("lab.diverged")


def series_label(what: Msg, is_reference: bool) -> Msg:
    """"yours · with BN", "reference · with BN"."""
    return msg("lab.series", who=msg("lab.reference" if is_reference else "lab.yours"), what=what)


def student_and_reference(make: Callable[[Numbers, bool], list[Series]], reference: Numbers,
                          student: Numbers | None) -> list[Series]:
    """The reference's series, then the student's (drawn on top)."""
    return make(reference, True) + (make(student, False) if student is not None else [])
