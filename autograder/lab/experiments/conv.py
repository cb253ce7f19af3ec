"""f. A small convolutional network (two 3x3 convolution blocks) with and without the
student's spatial BN.

Claim: spatial BN speeds up training of a convolutional network too. Shown when the mean
training loss over the first two epochs with spatial BN is below 75% of the loss without it.
"""

from __future__ import annotations

from autograder.i18n import Msg, msg
from autograder.lab.experiment import (
    Chart,
    Experiment,
    Num,
    Numbers,
    Pct,
    Series,
    final,
    series_label,
    student_and_reference,
    trained,
)

CONDITIONS = ("plain", "bn")
POINTS = 4  # loss values per epoch
EARLY = 2  # epochs over which the loss is compared
FASTER = 0.75
LAYERS = ("spatial_batchnorm_forward", "spatial_batchnorm_backward", "update_running_stats", "batchnorm_eval",
          "sgd_step")


def runs(quick: bool) -> list[dict]:
    return [{"conv": [8, 16], "bn": bn, "lr": 0.1, "momentum": 0.0, "epochs": EARLY if quick else 3,
             "batch_size": 32, "points": POINTS}
            for bn in (False, True)]


def numbers(specs: list[dict], results: list[dict]) -> Numbers:
    out: Numbers = {}
    for spec, result in zip(specs, results):
        early = result["loss"][:EARLY * POINTS]
        out["bn" if spec["bn"] else "plain"] = {
            "loss": result["loss"], "early_loss": sum(early) / len(early),
            "val_acc": result["val_acc"], "final_val_acc": final(result["val_acc"])}
    return out


def claim(n: Numbers) -> bool:
    return n["bn"]["early_loss"] < FASTER * n["plain"]["early_loss"]


def reading(n: Numbers) -> list[Msg]:
    return [
        msg("lab.conv.early", epochs=EARLY, bn=Num(n["bn"]["early_loss"]), plain=Num(n["plain"]["early_loss"])),
        msg("lab.conv.accuracy", epochs=len(n["bn"]["val_acc"]), bn=Pct(trained(n["bn"]["final_val_acc"])),
            plain=Pct(trained(n["plain"]["final_val_acc"]))),
    ]


def charts(reference: Numbers, student: Numbers | None) -> list[Chart]:
    def curves(n: Numbers, is_reference: bool) -> list[Series]:
        return [Series(series_label(msg(f"lab.condition.spatial_{c}"), is_reference),
                       [(i + 1) / POINTS for i in range(len(n[c]["loss"]))], n[c]["loss"], group, is_reference)
                for group, c in enumerate(CONDITIONS)]

    return [Chart(msg("lab.conv.chart"), msg("lab.axis.epoch"), msg("lab.axis.loss"),
                  student_and_reference(curves, reference, student), y_max=3.0)]


def compared(n: Numbers) -> list[tuple[Msg, float]]:
    return [(msg("lab.conv.run", condition=msg(f"lab.condition.spatial_{c}")), trained(n[c]["final_val_acc"]))
            for c in CONDITIONS]


EXPERIMENT = Experiment("conv", LAYERS, runs, numbers, claim, reading, charts, compared)
