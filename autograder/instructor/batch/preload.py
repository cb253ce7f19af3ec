"""Imported once by the fork server of `grade batch`, before it forks the grading processes.

Importing this module *is* its job: torch (about 2.5 s), ``torch._dynamo`` (another 1.5 s,
which torch imports on the first ``torch.optim`` optimizer), pytest and the kit's grading
modules are loaded once in the fork server, and every grading process forked from it starts
with them already in memory, instead of each process importing them again on the same few
cores. The heap is then frozen (`gc.freeze`): the children never walk these objects in a
garbage collection, and do not copy their pages by touching them.

Only imports happen here: no torch computation runs before the fork (no thread pool starts).
"""

from __future__ import annotations

import gc
import importlib
import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # small arrays, several grading processes: no BLAS threads

import pytest  # noqa: F401

from autograder.grading import runner  # noqa: F401
from autograder.grading.reference import _import_torch
from autograder.quiz import answers as quiz_answers  # noqa: F401
from autograder.ui import json_report  # noqa: F401

_import_torch()
for _module in ("torch._dynamo", "autograder.grading.compare", "autograder.grading.cases", "autograder.grading.gradcheck",
                "autograder.grading.misconceptions", "autograder.quiz.bank", "autograder.instructor.submissions",
                "autograder.ui.report", "autograder.instructor.batch.feedback", "rich.console", "rich.table"):
    try:
        importlib.import_module(_module)
    except ImportError:  # a speed-up only: whatever is missing is imported when needed
        pass
gc.collect()
gc.freeze()
