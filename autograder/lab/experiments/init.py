"""b. Initialisation: a sweep of log-spaced weight scales, with and without BN.

Claim: BN makes training less sensitive to the initialisation. Shown when the spread of final
validation accuracy across the scales is smaller with BN by at least 0.2 (20 points).
"""

from __future__ import annotations

import numpy as np

from autograder.i18n import Msg, msg
from autograder.lab.experiment import (
    BN_LAYERS,
    Chart,
    Experiment,
    Num,
    Numbers,
    Pct,
    Series,
    final,
    series_label,
    spread,
    student_and_reference,
    trained,
)

HIDDEN = [64] * 5
SCALES = [float(f"{s:.3g}") for s in np.logspace(-3, 0, 8)]
CONDITIONS = ("plain", "bn")
TRAINED = 0.5  # a run that reaches this validation accuracy trained
MARGIN = 0.2


def runs(quick: bool) -> list[dict]:
    return [{"hidden": HIDDEN, "bn": bn, "weight_scale": scale, "lr": 0.05, "momentum": 0.9,
             "epochs": 2 if quick else 5, "batch_size": 64}
            for bn in (False, True) for scale in SCALES]


def numbers(specs: list[dict], results: list[dict]) -> Numbers:
    out: Numbers = {"scales": [s["weight_scale"] for s in specs if not s["bn"]]}
    for bn, condition in ((False, "plain"), (True, "bn")):
        accuracies = [final(r["val_acc"]) for s, r in zip(specs, results) if s["bn"] == bn]
        out[condition] = {"val_acc": accuracies, "spread": spread(accuracies),
                          "trained": sum(trained(a) >= TRAINED for a in accuracies)}
    return out


def claim(n: Numbers) -> bool:
    return n["bn"]["spread"] < n["plain"]["spread"] - MARGIN


def reading(n: Numbers) -> list[Msg]:
    lines = []
    for condition in CONDITIONS:
        accuracies = [trained(a) for a in n[condition]["val_acc"]]
        lines.append(msg("lab.init.range", condition=msg(f"lab.condition.{condition}"), low=Pct(min(accuracies)),
                         high=Pct(max(accuracies)), spread=Num(100 * n[condition]["spread"], 1)))
    lines.append(msg("lab.init.trained", count=len(n["scales"]), plain=n["plain"]["trained"], bn=n["bn"]["trained"],
                     threshold=Pct(TRAINED)))
    return lines


def charts(reference: Numbers, student: Numbers | None) -> list[Chart]:
    def accuracy(n: Numbers, is_reference: bool) -> list[Series]:
        return [Series(series_label(msg(f"lab.condition.{condition}"), is_reference), n["scales"],
                       [trained(a) for a in n[condition]["val_acc"]], group, is_reference)
                for group, condition in enumerate(CONDITIONS)]

    return [Chart(msg("lab.init.chart"), msg("lab.axis.weight_scale"), msg("lab.axis.val_acc"),
                  student_and_reference(accuracy, reference, student), x_log=True)]


def compared(n: Numbers) -> list[tuple[Msg, float]]:
    return [(msg("lab.init.run", condition=msg(f"lab.condition.{c}"), scale=f"{scale:g}"), trained(acc))
            for c in CONDITIONS for scale, acc in zip(n["scales"], n[c]["val_acc"])]


EXPERIMENT = Experiment("init", BN_LAYERS, runs, numbers, claim, reading, charts, compared)
