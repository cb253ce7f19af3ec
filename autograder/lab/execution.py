"""Training runs executed in sandboxed workers: several at once, cached, with progress.

Each run is one ``drive`` request (`autograder.sandbox.client.Sandbox.drive`): the worker runs
the whole training loop of `autograder.lab.driver` with the functions of one folder (the
student's, or the reference solutions) and sends back only numbers. ``workers`` lanes run in
parallel, each with its own worker per folder; results come from the `RunCache` when the code
they depend on has not changed.
"""

from __future__ import annotations

import math
import queue
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from autograder.kit import Kit
from autograder.lab import data
from autograder.lab.cache import DRIVER, RunCache
from autograder.sandbox.client import Sandbox, SandboxError, StudentError

STUDENT, REFERENCE = "student", "reference"


@dataclass(frozen=True)
class Job:
    """One training run: whose code, at which seed, the `index`-th spec of an experiment."""

    side: str
    seed: int
    index: int
    spec: dict


@dataclass
class Batch:
    """The results of an experiment's jobs, by (side, seed), in spec order; and what failed."""

    results: dict[tuple[str, int], list[dict | None]] = field(default_factory=dict)
    error: StudentError | None = None
    """The first failure of the student's code (the student's remaining runs are skipped)."""


class Trainer:
    """Runs jobs for the folders in `sides` ({side: folder}) under the lab's limits."""

    def __init__(self, kit: Kit, sides: dict[str, Path], cache: RunCache) -> None:
        self.kit = kit
        self.sides = sides
        self.cache = cache
        self.lab = kit.course.lab
        self.lanes: queue.Queue[dict[str, Sandbox]] = queue.Queue()
        self.opened: list[dict[str, Sandbox]] = []
        for _ in range(self.lab.workers):
            lane: dict[str, Sandbox] = {}
            self.opened.append(lane)
            self.lanes.put(lane)

    def run(self, functions: tuple[str, ...], jobs: list[Job],
            on_done: Callable[[int, int], None] | None = None) -> Batch:
        """Run (or find in the cache) every job; `on_done(done, total)` after each."""
        batch = Batch()
        size = max(job.index for job in jobs) + 1
        for job in jobs:
            batch.results.setdefault((job.side, job.seed), [None] * size)
        modules = {f: self.kit.course.owner(f).module for f in functions}
        codes = {side: self.cache.code(folder) for side, folder in self.sides.items()}
        pending = []
        for job in jobs:
            spec = {**job.spec, "seed": job.seed}
            cached = self.cache.load(codes[job.side], spec)
            if cached is not None:
                batch.results[(job.side, job.seed)][job.index] = cached
            else:
                pending.append((job, spec))
        done = len(jobs) - len(pending)
        if on_done:
            on_done(done, len(jobs))
        if not pending:
            return batch

        def work(item: tuple[Job, dict]) -> None:
            job, spec = item
            if job.side == STUDENT and batch.error is not None:
                return
            lane = self.lanes.get()
            try:
                result = self.train(lane, job.side, modules, spec)
            except StudentError as error:
                if job.side != STUDENT:
                    raise SandboxError(f"the reference solutions failed in a lab run: {error}") from None
                batch.error = batch.error or error
                return
            finally:
                self.lanes.put(lane)
            self.cache.store(codes[job.side], spec, result)
            batch.results[(job.side, job.seed)][job.index] = result

        pool = ThreadPoolExecutor(max_workers=self.lab.workers)
        try:
            for future in as_completed([pool.submit(work, item) for item in pending]):
                future.result()
                done += 1
                if on_done:
                    on_done(done, len(jobs))
        except BaseException:  # Ctrl-C, or the reference failing: stop the runs under way now
            self.close()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return batch

    def train(self, lane: dict[str, Sandbox], side: str, modules: dict[str, str], spec: dict) -> dict:
        """One run in `lane`'s worker for `side` (started on first use)."""
        if side not in lane:
            lane[side] = Sandbox.for_kit(self.kit, self.sides[side], seconds=self.lab.seconds_per_run,
                                         memory_mb=self.lab.memory_mb)
        call = lane[side].drive(DRIVER, modules, (data.digits(self.lab.seed), spec))
        return plain_result(call.value)

    def close(self) -> None:
        for lane in self.opened:
            for sandbox in lane.values():
                sandbox.close()


def plain_result(value: object) -> dict[str, list[float]]:
    """What a run sent back, checked to be what the driver returns (names to lists of
    numbers, NaN for anything not finite); anything else is the worker's garbage."""
    if not isinstance(value, dict):
        raise_garbage("a run returned something other than a mapping")
    result = {}
    for name, values in value.items():
        try:
            values = np.asarray(values, dtype=float).ravel()
        except (TypeError, ValueError):
            raise_garbage(f"a run returned a non-numeric {name!r}")
        if values.size > 100_000:
            raise_garbage(f"a run returned too many values for {name!r}")
        result[str(name)] = [float(v) if math.isfinite(v) else math.nan for v in values]
    return result


def raise_garbage(message: str) -> None:
    from autograder.sandbox.client import Crashed

    raise Crashed(function="run", module="driver", detail={"protocol": message, "importing": False})
