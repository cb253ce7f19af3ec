"""One experiment, run: the reference's numbers, the student's, the noise, and what follows.

The student's runs and the reference's use the same seeds; when the student's numbers differ
from the reference's, the reference also runs at the lab's noise seeds, which tell a real
departure from run-to-run noise (`autograder.lab.compare`). An experiment whose
functions are still untouched stubs does not run for the student (it says which exercises it
needs); one whose exercises fail some checks runs anyway and says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from autograder.i18n import Msg
from autograder.lab.compare import Difference, differences
from autograder.lab.execution import REFERENCE, STUDENT, Job, Trainer
from autograder.lab.experiment import Experiment, Numbers
from autograder.sandbox.client import StudentError

NOISE_SEED_STEP = 1000


@dataclass
class Outcome:
    experiment: Experiment
    specs: list[dict] = field(default_factory=list)
    """The driver specs of its runs (without seeds)."""
    reference: Numbers | None = None
    student: Numbers | None = None
    noise: list[Numbers] = field(default_factory=list)
    not_started: list[str] = field(default_factory=list)
    """Exercises still untouched that the experiment needs: it did not run for the student."""
    failing: list[str] = field(default_factory=list)
    """Exercises it needs that fail some checks (it ran all the same)."""
    error: StudentError | None = None
    """How the student's code failed during a run."""
    seconds: float = 0.0
    png: Path | None = None

    @property
    def numbers(self) -> Numbers | None:
        """The numbers the reading is about: the student's, else the reference's."""
        return self.student if self.student is not None else self.reference

    @property
    def claim_shown(self) -> bool | None:
        return None if self.numbers is None else self.experiment.claim(self.numbers)

    def differences(self) -> list[Difference]:
        if self.student is None or self.reference is None:
            return []
        return differences(self.experiment, self.student, self.reference, self.noise)

    def findings(self) -> list[Msg]:
        if self.student is None or self.reference is None:
            return []
        return self.experiment.findings(self.student, self.reference)


def run(trainer: Trainer, experiment: Experiment, *, quick: bool, seed: int, noise_seeds: int, student: bool,
        on_done: Callable[[int, int], None] | None = None) -> Outcome:
    """Train the experiment's runs: the reference's, and the student's if `student`. The
    reference runs at the noise seeds only when the student's numbers differ from it by more
    than the noise floor (correct code gives the reference's numbers: nothing to weigh)."""
    started = time.perf_counter()
    specs = experiment.runs(quick)
    jobs = [Job(REFERENCE, seed, i, spec) for i, spec in enumerate(specs)]
    if student:
        jobs = [Job(STUDENT, seed, i, spec) for i, spec in enumerate(specs)] + jobs
    batch = trainer.run(experiment.functions, jobs, on_done)
    outcome = Outcome(experiment, specs, error=batch.error)
    outcome.reference = experiment.numbers(specs, batch.results[(REFERENCE, seed)])
    if student and batch.error is None:
        outcome.student = experiment.numbers(specs, batch.results[(STUDENT, seed)])
        if any(d.departs for d in outcome.differences()):
            seeds = [seed + NOISE_SEED_STEP * (i + 1) for i in range(noise_seeds)]
            noise_jobs = [Job(REFERENCE, s, i, spec) for s in seeds for i, spec in enumerate(specs)]
            if noise_jobs:
                noise = trainer.run(experiment.functions, noise_jobs, on_done)
                outcome.noise = [experiment.numbers(specs, noise.results[(REFERENCE, s)]) for s in seeds]
    outcome.seconds = time.perf_counter() - started
    return outcome
