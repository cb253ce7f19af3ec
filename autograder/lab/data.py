"""The lab's data set: the handwritten digits that scikit-learn ships with its package (UCI
"Optical Recognition of Handwritten Digits": 1,797 images of 8x8 pixels, 10 classes), so
nothing is downloaded. Loaded on the grader's side and sent to the worker as arrays."""

from __future__ import annotations

from functools import cache
from importlib import metadata

import numpy as np

VALIDATION = 500  # held-out images; the other 1,297 are for training
CLASSES = 10


@cache
def digits(seed: int) -> dict[str, np.ndarray | int]:
    """x_train (1297, 64), y_train (1297,), x_val (500, 64), y_val (500,) and classes: pixels
    scaled to [0, 1], images shuffled by `seed` (the same split for every run of the lab)."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order] / 16.0, y[order].astype(np.int64)
    return {"x_train": x[VALIDATION:], "y_train": y[VALIDATION:], "x_val": x[:VALIDATION], "y_val": y[:VALIDATION],
            "classes": CLASSES}


def version() -> str:
    """What the data depend on, for the result cache (the package that ships them)."""
    try:
        return f"scikit-learn {metadata.version('scikit-learn')}"
    except metadata.PackageNotFoundError:
        return "scikit-learn missing"
