"""e. Dropout: a wide network trained on a small subset with p in {0, 0.25, 0.5, 0.75}; then
the ensemble view: evaluation mode against the average of k dropout masks at test time.

Claim: Dropout reduces overfitting. Shown when the generalisation gap (validation loss minus
training loss, both in evaluation mode) at the largest p is at least 25% narrower than without
dropout.
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
)

PS = [0.0, 0.25, 0.5, 0.75]
MASKS = [1, 2, 5, 10, 25]
SHOWN = 0.5  # the p whose curves and ensemble are shown
NARROWER = 0.75
UNSCALED = 0.15  # a train/eval mean ratio this far from 1 means survivors are not rescaled


def runs(quick: bool) -> list[dict]:
    return [{"hidden": [256, 256], "p": p, "lr": 0.05, "momentum": 0.9, "epochs": 15 if quick else 50,
             "batch_size": 50, "train_size": 200, **({"measure": ["ensemble"], "masks": MASKS} if p else {})}
            for p in PS]


def numbers(specs: list[dict], results: list[dict]) -> Numbers:
    out: Numbers = {"ps": [s["p"] for s in specs]}
    for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
        out[key] = [final(r[key]) for r in results]
    out["gap"] = [v - t for t, v in zip(out["train_loss"], out["val_loss"])]
    out["curves"] = [{"train_loss": r["train_loss"], "val_loss": r["val_loss"]} for r in results]
    shown = out["ps"].index(SHOWN)
    out["masks"] = specs[shown]["masks"]
    out["mask_acc"] = list(results[shown]["mask_acc"])
    out["eval_acc"] = final(results[shown]["eval_acc"])
    out["train_scale"] = [final(r["train_scale"]) if "train_scale" in r else 1.0 for r in results]
    return out


def claim(n: Numbers) -> bool:
    return n["gap"][-1] < NARROWER * n["gap"][0]


def reading(n: Numbers) -> list[Msg]:
    gaps = [msg("lab.pair", name=f"p={p:g}", value=Num(gap)) for p, gap in zip(n["ps"], n["gap"])]
    narrowest = min(range(len(n["ps"])), key=lambda i: n["gap"][i])
    return [
        msg("lab.dropout.gaps", gaps=gaps),
        msg("lab.dropout.narrowest", p=f"{n['ps'][narrowest]:g}", gap=Num(n["gap"][narrowest]), none=Num(n["gap"][0]))
        if narrowest else msg("lab.dropout.none_narrower", none=Num(n["gap"][0])),
        msg("lab.dropout.accuracy", pairs=[msg("lab.pair", name=f"p={p:g}", value=msg(
            "lab.dropout.train_val", train=Pct(t), val=Pct(v))) for p, t, v in zip(n["ps"], n["train_acc"], n["val_acc"])]),
        msg("lab.dropout.ensemble", p=f"{SHOWN:g}", one=Pct(n["mask_acc"][0]), k=n["masks"][-1],
            many=Pct(n["mask_acc"][-1]), eval=Pct(n["eval_acc"])),
    ]


def charts(reference: Numbers, student: Numbers | None) -> list[Chart]:
    def gap(n: Numbers, is_reference: bool) -> list[Series]:
        return [Series(series_label(msg("lab.dropout.gap"), is_reference), n["ps"], n["gap"], 0, is_reference)]

    def ensemble(n: Numbers, is_reference: bool) -> list[Series]:
        masks = n["masks"]
        return [Series(series_label(msg("lab.dropout.average"), is_reference), masks, n["mask_acc"], 0, is_reference),
                Series(series_label(msg("lab.dropout.eval_mode"), is_reference), masks, [n["eval_acc"]] * len(masks), 1,
                       is_reference)]

    def curves(splits: tuple[str, ...]):
        def make(n: Numbers, is_reference: bool) -> list[Series]:
            out = []
            for group, index in enumerate((0, len(n["ps"]) - 1)):  # no dropout, and the largest p
                for offset, split in enumerate(splits):
                    values = n["curves"][index][f"{split}_loss"]
                    label = msg(f"lab.dropout.curve_{split}", p=f"{n['ps'][index]:g}")
                    out.append(Series(series_label(label, is_reference), list(range(1, len(values) + 1)), values,
                                      2 * group + offset, is_reference))
            return out
        return make

    title, x_label, y_label = msg("lab.dropout.chart_curves"), msg("lab.axis.epoch"), msg("lab.axis.loss_eval")
    return [Chart(title, x_label, y_label, student_and_reference(curves(("val",)), reference, student), png=False),
            Chart(title, x_label, y_label, student_and_reference(curves(("val", "train")), reference, student),
                  terminal=False),
            Chart(msg("lab.dropout.chart_gap"), msg("lab.axis.p"), msg("lab.axis.gap"),
                  student_and_reference(gap, reference, student), terminal=False),
            Chart(msg("lab.dropout.chart_ensemble", p=f"{SHOWN:g}"), msg("lab.axis.masks"), msg("lab.axis.val_acc"),
                  student_and_reference(ensemble, reference, student), x_log=True)]


def compared(n: Numbers) -> list[tuple[Msg, float]]:
    return ([(msg("lab.dropout.run", p=f"{p:g}"), acc) for p, acc in zip(n["ps"], n["val_acc"])]
            + [(msg("lab.dropout.run_eval", p=f"{SHOWN:g}"), n["eval_acc"])])


def findings(student: Numbers, reference: Numbers) -> list[Msg]:
    """Survivors not rescaled by 1/(1-p): in training, the layer's mean output shrinks to (1-p)."""
    shown = student["ps"].index(SHOWN)
    ratio, expected = student["train_scale"][shown], reference["train_scale"][shown]
    if abs(ratio - 1) > UNSCALED and abs(expected - 1) <= UNSCALED:
        return [msg("lab.dropout.unscaled", p=f"{SHOWN:g}", ratio=Num(ratio), expected=Num(expected))]
    return []


EXPERIMENT = Experiment("dropout", ("dropout_forward", "dropout_backward", "sgd_step"), runs, numbers, claim,
                        reading, charts, compared, findings)
