"""d. Inference: one trained BN network evaluated with its running statistics, and with the
statistics of each test batch (what forgetting evaluation mode computes), at several test
batch sizes.

Claim: evaluation needs the running statistics. Shown when test batches of one sample give an
accuracy within 10 points of chance while the running statistics keep at least 85%.
"""

from __future__ import annotations

from autograder.i18n import Msg, msg
from autograder.lab.experiment import (
    BN_LAYERS,
    CHANCE,
    Chart,
    Experiment,
    Num,
    Numbers,
    Pct,
    Series,
    final,
    series_label,
    student_and_reference,
)

SIZES = [1, 2, 8, 64, 500]
STALE = 0.3  # running statistics this far from the data's (in standard deviations) are stale


def runs(quick: bool) -> list[dict]:
    return [{"hidden": [64] * 3, "bn": True, "lr": 0.05, "momentum": 0.9, "epochs": 3 if quick else 8,
             "batch_size": 64, "measure": ["inference"], "test_batch_sizes": SIZES}]


def numbers(specs: list[dict], results: list[dict]) -> Numbers:
    result = results[0]
    return {"test_batch_sizes": specs[0]["test_batch_sizes"], "running_acc": final(result["running_acc"]),
            "batch_acc": list(result["batch_acc"]), "running_drift": list(result["running_drift"]),
            "val_acc": final(result["val_acc"])}


def claim(n: Numbers) -> bool:
    return n["batch_acc"][0] < CHANCE + 0.1 and n["running_acc"] >= 0.85


def reading(n: Numbers) -> list[Msg]:
    pairs = [msg("lab.pair", name=size, value=Pct(acc)) for size, acc in zip(n["test_batch_sizes"], n["batch_acc"])]
    return [
        msg("lab.inference.running", acc=Pct(n["running_acc"])),
        msg("lab.inference.batch", pairs=pairs),
        msg("lab.inference.one", acc=Pct(n["batch_acc"][0]), chance=Pct(CHANCE)),
    ]


def charts(reference: Numbers, student: Numbers | None) -> list[Chart]:
    def accuracy(n: Numbers, is_reference: bool) -> list[Series]:
        sizes = n["test_batch_sizes"]
        return [Series(series_label(msg("lab.inference.batch_stats"), is_reference), sizes, n["batch_acc"], 0,
                       is_reference),
                Series(series_label(msg("lab.inference.running_stats"), is_reference), sizes,
                       [n["running_acc"]] * len(sizes), 1, is_reference)]

    return [Chart(msg("lab.inference.chart"), msg("lab.axis.test_batch"), msg("lab.axis.val_acc"),
                  student_and_reference(accuracy, reference, student), x_log=True)]


def compared(n: Numbers) -> list[tuple[Msg, float]]:
    return [(msg("lab.inference.run_running"), n["running_acc"])] + [
        (msg("lab.inference.run_batch", size=size), acc) for size, acc in zip(n["test_batch_sizes"], n["batch_acc"])]


def findings(student: Numbers, reference: Numbers) -> list[Msg]:
    """Running statistics that do not follow the data (never updated, or updated wrongly)."""
    drift, expected = student["running_drift"][0], reference["running_drift"][0]
    if drift > max(STALE, 5 * expected):
        return [msg("lab.inference.stale", drift=Num(drift), expected=Num(expected),
                    running=Pct(student["running_acc"]), batch=Pct(student["batch_acc"][-1]))]
    return []


EXPERIMENT = Experiment("inference", BN_LAYERS, runs, numbers, claim, reading, charts, compared, findings)
