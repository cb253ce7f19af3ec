"""The reference cache of a grading machine, built before the first submission arrives.

A grading run takes its expected values from `autograder.grading.reference.Reference`, cached
on disk by input; a cold cache means importing torch and computing them (on Gradescope: 2.3 s
instead of 0.5 s for every submission, since each runs in a fresh container). The inputs
depend on the seed and, for a few checks, on what the student's code returned (a dropout
mask), so the cache cannot be filled from the seed alone. Instead:

- `record` grades the solutions once, where the kit is exported, and notes every reference
  computation the checks asked for: its name and arguments, never a result, never code;
- `replay`, on the grading machine (``setup.sh``), makes each of them again with the torch
  installed there, which fills that machine's cache under its own torch version.

A submission whose checks ask for what the solutions did not (a wrong mask, a failing
prerequisite) computes those few values on the spot, as before.

The plan is one `autograder.sandbox.protocol` frame: a JSON header listing the calls, the
arrays as raw blobs (never pickle)::

    {"calls": [{"method": "batchnorm", "args": <encoded>, "kwargs": <encoded>}, ...]}

    python -m autograder.instructor.reference_plan PLAN      # replay PLAN into the kit's cache
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from autograder.kit import Kit
from autograder.sandbox import protocol

PLAN_FILE = "reference_plan.bin"


class Recorder:
    """A `Reference` that notes every computation asked of it (and lets it compute)."""

    def __init__(self, reference) -> None:
        self._reference = reference
        self.calls: list[tuple[str, tuple, dict]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._reference, name)
        if name.startswith("_") or not callable(method):
            return method

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return method(*args, **kwargs)

        return recorded


def record(kit: Kit, seed: int) -> bytes:
    """The plan of grading the solutions at `seed`."""
    from autograder.grading.reference import Reference
    from autograder.grading.runner import grade

    recorder = Recorder(Reference(None))
    grade(kit, kit.solutions_dir.resolve(), seed=seed, reference=recorder)
    blobs: list[bytes] = []
    calls = [{"method": name, "args": protocol.encode(list(args), blobs, fallback=_refuse),
              "kwargs": protocol.encode(kwargs, blobs, fallback=_refuse)} for name, args, kwargs in recorder.calls]
    return protocol.pack({"calls": calls}, blobs)


def replay(kit: Kit, plan: bytes, seed: int | None = None) -> int:
    """Make every computation of `plan` with the kit's cache for `seed` (default: the course's);
    the number of values computed (0 when the cache was already warm)."""
    from autograder.grading.runner import make_reference

    reference = make_reference(kit, kit.course.policy.seed if seed is None else seed)
    header, blobs = protocol.unpack(plan)
    for call in header["calls"]:
        args = protocol.decode(call["args"], blobs, tagged=_build)
        kwargs = protocol.decode(call["kwargs"], blobs, tagged=_build)
        getattr(reference, call["method"])(*args, **kwargs)
    return reference.computed


def _refuse(value: Any) -> dict:
    raise TypeError(f"a reference argument of type {type(value).__name__} has no plan form")


def _build(tag: str, payload: Any, path: tuple) -> Any:
    if tag == "$array":
        return payload[0].copy()
    if tag == "$scalar":
        return payload[0][()]
    if tag == "$tuple":
        return tuple(payload)
    if tag in ("$list", "$dict"):
        return payload
    raise protocol.ProtocolError(f"unexpected {tag} in a reference plan")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m autograder.instructor.reference_plan PLAN", file=sys.stderr)
        return 2
    kit = Kit.locate()
    computed = replay(kit, Path(argv[0]).read_bytes())
    print(f"reference cache: {computed} values computed")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
