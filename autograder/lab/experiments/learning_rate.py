"""a. Learning rate: a deep network with and without BN over a range of learning rates.

Claim: BN tolerates higher learning rates. Shown when, at the highest rate, BN ends with a
training loss below half of the loss without BN (or the run without BN diverged).
"""

from __future__ import annotations

import math

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
    loss_text,
    series_label,
    student_and_reference,
    trained,
)

HIDDEN = [64] * 5
RATES, QUICK_RATES = [0.01, 0.03, 0.1, 0.3, 1.0], [0.03, 1.0]
CONDITIONS = ("plain", "bn")
LOSS_MAX = 3.0  # the chart's top: the loss starts near ln(10) = 2.3


def runs(quick: bool) -> list[dict]:
    rates = QUICK_RATES if quick else RATES
    return [{"hidden": HIDDEN, "bn": bn, "lr": lr, "momentum": 0.9, "epochs": 4 if quick else 10,
             "batch_size": 64, "points": 2}
            for bn in (False, True) for lr in rates]


def numbers(specs: list[dict], results: list[dict]) -> Numbers:
    rates = [spec["lr"] for spec in specs if not spec["bn"]]
    out: Numbers = {"learning_rates": rates}
    for index, condition in enumerate(CONDITIONS):
        group = results[index * len(rates):(index + 1) * len(rates)]
        out[condition] = {
            "loss": [r["loss"] for r in group],
            "final_loss": [last_epoch_loss(r) for r in group],
            "val_acc": [final(r["val_acc"]) for r in group],
            "diverged": [bool(r["diverged"][0]) for r in group],
        }
    return out


def last_epoch_loss(result: dict) -> float:
    """Mean training loss over the last epoch (NaN if the run diverged)."""
    points = len(result["loss"]) // max(len(result["val_acc"]), 1)
    tail = result["loss"][-points:]
    return math.nan if result["diverged"][0] else sum(tail) / len(tail)


def claim(n: Numbers) -> bool:
    bn, plain = n["bn"]["final_loss"][-1], n["plain"]["final_loss"][-1]
    return math.isfinite(bn) and (not math.isfinite(plain) or bn < 0.5 * plain)


def reading(n: Numbers) -> list[Msg]:
    rates = n["learning_rates"]
    lines = []
    for condition in CONDITIONS:
        diverged = [rate for rate, gone in zip(rates, n[condition]["diverged"]) if gone]
        name = msg(f"lab.condition.{condition}")
        lines.append(msg("lab.learning_rate.diverged", condition=name, rates=", ".join(f"{r:g}" for r in diverged))
                     if diverged else msg("lab.learning_rate.none_diverged", condition=name))
    lines.append(msg("lab.learning_rate.top", lr=f"{rates[-1]:g}", bn=loss_text(n["bn"]["final_loss"][-1]),
                     plain=loss_text(n["plain"]["final_loss"][-1])))
    best = {c: max(range(len(rates)), key=lambda i: trained(n[c]["val_acc"][i])) for c in CONDITIONS}
    lines.append(msg("lab.learning_rate.best", bn=Pct(trained(n["bn"]["val_acc"][best["bn"]])),
                     bn_lr=f"{rates[best['bn']]:g}", plain=Pct(trained(n["plain"]["val_acc"][best["plain"]])),
                     plain_lr=f"{rates[best['plain']]:g}"))
    return lines


def charts(reference: Numbers, student: Numbers | None) -> list[Chart]:
    top = f"{reference['learning_rates'][-1]:g}"

    def curves(n: Numbers, is_reference: bool) -> list[Series]:
        out = []
        for group, condition in enumerate(CONDITIONS):
            loss = n[condition]["loss"][-1]
            steps = [(i + 1) / 2 for i in range(len(loss))]
            out.append(Series(series_label(msg(f"lab.condition.{condition}"), is_reference), steps, loss, group, is_reference))
        return out

    def accuracy(n: Numbers, is_reference: bool) -> list[Series]:
        return [Series(series_label(msg(f"lab.condition.{condition}"), is_reference), n["learning_rates"],
                       [trained(a) for a in n[condition]["val_acc"]], group, is_reference)
                for group, condition in enumerate(CONDITIONS)]

    return [
        Chart(msg("lab.learning_rate.chart_loss", lr=top), msg("lab.axis.epoch"), msg("lab.axis.loss"),
              student_and_reference(curves, reference, student), y_max=LOSS_MAX),
        Chart(msg("lab.learning_rate.chart_accuracy"), msg("lab.axis.learning_rate"), msg("lab.axis.val_acc"),
              student_and_reference(accuracy, reference, student), x_log=True),
    ]


def compared(n: Numbers) -> list[tuple[Msg, float]]:
    return [(msg("lab.learning_rate.run", condition=msg(f"lab.condition.{c}"), lr=f"{lr:g}"), trained(acc))
            for c in CONDITIONS for lr, acc in zip(n["learning_rates"], n[c]["val_acc"])]


EXPERIMENT = Experiment("learning_rate", BN_LAYERS, runs, numbers, claim, reading, charts, compared)
