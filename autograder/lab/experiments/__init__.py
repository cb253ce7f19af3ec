"""The lab's experiments, in the order ``grade lab`` runs them; one module each."""

from __future__ import annotations

from autograder.lab.experiment import Experiment
from autograder.lab.experiments import batch_size, conv, dropout, inference, init, learning_rate

EXPERIMENTS: list[Experiment] = [learning_rate.EXPERIMENT, init.EXPERIMENT, batch_size.EXPERIMENT,
                                 inference.EXPERIMENT, dropout.EXPERIMENT, conv.EXPERIMENT]
BY_ID = {experiment.id: experiment for experiment in EXPERIMENTS}
