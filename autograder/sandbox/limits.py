"""The limits every worker runs under, at every isolation level.

`Limits` is built by the grader from the course policy and sent to the worker, which applies
it with `apply` before any student code runs and with `start_call` before each request:

    seconds         wall-clock time of one call (the grader's timer, the wall) and CPU time of
                    one call (RLIMIT_CPU's soft limit, a second later: SIGXCPU kills a call
                    whose threads burn the CPU faster than the clock). The hard limit bounds a
                    worker's whole life (`LIFETIME_CALLS` calls' worth); a worker close to it
                    asks for a fresh one (`worn_out`)
    memory_mb       address space beyond what the worker needs to start (RLIMIT_AS): a 20 GB
                    allocation fails that call with a MemoryError
    processes       processes and threads (RLIMIT_NPROC): a fork bomb costs that call. The
                    kernel does not apply it to root, which is why a grader running as root
                    runs the worker as an unprivileged user of its own (`privileges`)
    scratch_mb      bytes in the worker's own writable folder (a tmpfs of that size in the
                    namespace sandbox; checked by the grader after each call elsewhere)
    write_mb        size of any one file the worker writes, its captured output included
                    (RLIMIT_FSIZE): a runaway print fails instead of filling the disk
    output_limit    characters of captured output shown with a check (the rest is counted)
    max_file_mb     largest submission file graded: a larger one is refused at once

This module imports only light parts of the standard library (no dataclasses: the worker
loads it at every start).
"""

from __future__ import annotations

import resource
import signal
from collections import namedtuple
from typing import Any

MB = 1024 * 1024
CPU_GRACE = 1.0  # the wall-clock timer speaks first for a single-threaded loop
LIFETIME_CALLS = 10


class Limits(namedtuple("Limits", "seconds memory_mb processes scratch_mb write_mb output_limit max_file_mb",
                        defaults=(5.0, 1024, 8, 32, 64, 4000, 2.0))):
    """The limits of one sandbox's workers (fields: see the module docstring)."""

    __slots__ = ()

    @classmethod
    def from_policy(cls, policy: Any) -> Limits:
        """The limits a course's `Policy` sets."""
        return cls(seconds=policy.seconds_per_call, memory_mb=policy.memory_mb, processes=policy.max_processes,
                   scratch_mb=policy.scratch_mb, output_limit=policy.output_limit,
                   max_file_mb=policy.max_file_mb)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    @property
    def scratch_bytes(self) -> int:
        return self.scratch_mb * MB

    def to_wire(self) -> dict:
        return self._asdict()

    @classmethod
    def from_wire(cls, data: dict) -> Limits:
        return cls(**{key: data[key] for key in cls._fields if key in data})


def apply(limits: Limits, address_space: int) -> int | None:
    """In the worker, before student code runs: the process-wide limits. Returns the
    address-space limit (None without a memory limit), given what is in use now."""
    limit = None
    if limits.memory_mb:
        limit = address_space + limits.memory_mb * MB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    write = limits.write_mb * MB
    resource.setrlimit(resource.RLIMIT_FSIZE, (write, write))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a huge write raises instead of killing
    if limits.processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    lifetime = int(_cpu_used() + LIFETIME_CALLS * (limits.seconds + CPU_GRACE)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (lifetime, lifetime))
    return limit


def start_call(limits: Limits) -> None:
    """In the worker, before each request runs student code: CPU time for this call only."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = min(int(_cpu_used() + limits.seconds + CPU_GRACE) + 1, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def worn_out(limits: Limits) -> bool:
    """The worker has used so much of its lifetime CPU budget that a call might not fit."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    return _cpu_used() + limits.seconds + CPU_GRACE + 1 >= hard


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
