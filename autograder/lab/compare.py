"""Does the student's run depart from the reference beyond run-to-run noise?

Both run at the same seed, so correct code gives (nearly) the reference's numbers. The noise
is what the reference itself changes at other seeds: for each compared accuracy, the largest
difference between the reference at the lab's seed and at a noise seed. The student's value
departs when it differs from the reference's by more than twice that noise plus a floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from autograder.i18n import Msg
from autograder.lab.experiment import Experiment, Numbers

FLOOR = 0.03  # accuracy: 3 points always pass for noise


@dataclass(frozen=True)
class Difference:
    label: Msg
    student: float
    reference: float
    tolerance: float

    @property
    def size(self) -> float:
        return abs(self.student - self.reference)

    @property
    def departs(self) -> bool:
        return not self.size <= self.tolerance  # NaN departs


def differences(experiment: Experiment, student: Numbers, reference: Numbers, noise: list[Numbers]) -> list[Difference]:
    """Every compared value, the largest excess over its tolerance first."""
    mine, theirs = experiment.compared(student), experiment.compared(reference)
    others = [experiment.compared(n) for n in noise]
    rows = []
    for i, ((label, value), (_, expected)) in enumerate(zip(mine, theirs)):
        spread = max((abs(other[i][1] - expected) for other in others), default=0.0)
        rows.append(Difference(label, value, expected, FLOOR + 2 * (spread if math.isfinite(spread) else 1.0)))
    return sorted(rows, key=lambda d: -(d.size - d.tolerance) if math.isfinite(d.size) else -math.inf)
