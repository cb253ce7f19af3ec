"""c. Batch size: BN trained with small and large batches, and without BN at the smallest.

Claim: BN depends on the batch, since its statistics come from it. Shown when, after the same
number of epochs, BN with the smallest batch ends at least 10 points below BN with the
largest, while the network without BN at the smallest batch does at least 10 points better
(so the small batch alone is not the cause).
"""

from __future__ import annotations

from autograder.i18n import Msg, msg
from autograder.lab.experiment import (
    BN_LAYERS,
    Chart,
    Experiment,
    Numbers,
    Pct,
    Series,
    final,
    series_label,
    student_and_reference,
    trained,
)

HIDDEN = [64] * 3
SIZES = [2, 8, 64]
MARGIN = 0.1


def runs(quick: bool) -> list[dict]:
    common = {"hidden": HIDDEN, "lr": 0.05, "momentum": 0.0, "epochs": 2 if quick else 3,
              "measure": ["batch_statistics"]}
    return ([{**common, "bn": True, "batch_size": size} for size in SIZES]
            + [{**common, "bn": False, "batch_size": SIZES[0]}])


def numbers(specs: list[dict], results: list[dict]) -> Numbers:
    bn = [r for s, r in zip(specs, results) if s["bn"]]
    plain = next(r for s, r in zip(specs, results) if not s["bn"])
    return {
        "batch_sizes": [s["batch_size"] for s in specs if s["bn"]],
        "batch_mode_acc": [final(r.get("batch_mode_acc", [float("nan")])) for r in bn],
        "train_acc": [final(r["train_acc"]) for r in bn],
        "val_acc": [final(r["val_acc"]) for r in bn],
        "plain_val_acc": final(plain["val_acc"]),
    }


def claim(n: Numbers) -> bool:
    small, large = trained(n["val_acc"][0]), trained(n["val_acc"][-1])
    return small < large - MARGIN and trained(n["plain_val_acc"]) > small + MARGIN


def reading(n: Numbers) -> list[Msg]:
    lines = [msg("lab.batch_size.row", size=size, batch=Pct(trained(b)), train=Pct(trained(e)), val=Pct(trained(v)))
             for size, b, e, v in zip(n["batch_sizes"], n["batch_mode_acc"], n["train_acc"], n["val_acc"])]
    lines.append(msg("lab.batch_size.plain", size=n["batch_sizes"][0], val=Pct(trained(n["plain_val_acc"])),
                     bn=Pct(trained(n["val_acc"][0]))))
    return lines


def charts(reference: Numbers, student: Numbers | None) -> list[Chart]:
    def accuracy(n: Numbers, is_reference: bool) -> list[Series]:
        return [Series(series_label(msg(f"lab.batch_size.{key}"), is_reference), n["batch_sizes"],
                       [trained(a) for a in n[key]], group, is_reference)
                for group, key in enumerate(("batch_mode_acc", "val_acc"))] + [
            Series(series_label(msg("lab.batch_size.plain_val_acc"), is_reference), n["batch_sizes"][:1],
                   [trained(n["plain_val_acc"])], 2, is_reference)]

    return [Chart(msg("lab.batch_size.chart"), msg("lab.axis.batch_size"), msg("lab.axis.accuracy"),
                  student_and_reference(accuracy, reference, student), x_log=True)]


def compared(n: Numbers) -> list[tuple[Msg, float]]:
    rows = [(msg("lab.batch_size.run", size=size), trained(acc)) for size, acc in zip(n["batch_sizes"], n["val_acc"])]
    return rows + [(msg("lab.batch_size.run_plain", size=n["batch_sizes"][0]), trained(n["plain_val_acc"]))]


EXPERIMENT = Experiment("batch_size", BN_LAYERS, runs, numbers, claim, reading, charts, compared)
