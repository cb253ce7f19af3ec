"""PyTorch in a process of its own, so that importing it overlaps the rest of grading.

On the first run after a clone nothing is cached and every expected value needs torch, whose
import takes about as long as the rest of a whole grading. Started before NumPy, pytest, Rich
and the checks are imported (`start_if_cold`, by `grade` and watch mode), this process imports torch
on the other core while the grader starts, the worker boots and the first checks run. The
grader's `Reference` then hands each computation it has not cached (a method's name and
arguments) to this process, which runs the same method of its own in-memory `Reference` and
sends the arrays back, framed as between the grader and the worker (`sandbox.protocol`: raw
buffers and JSON, never pickle). Only the kit's code runs here, never the student's. When the
process is gone or answers nonsense, the grader computes the value itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.grading.reference_cache import cache_dir, is_cold
from autograder.kit import Kit

if TYPE_CHECKING:
    from autograder.grading.reference import Arrays

# NumPy (protocol, reference) is imported where it is used: `start_if_cold` runs before it is.

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
BOOT = "import sys; sys.path.insert(0, {root!r}); from autograder.grading.reference_process import serve; serve()"


def start_if_cold(kit: Kit, seed: int) -> ReferenceProcess | None:
    """A `ReferenceProcess` started now if the reference cache for `seed` is cold (else None):
    called before anything imports NumPy, so that torch's import starts about 0.1 s sooner."""
    return ReferenceProcess.start() if is_cold(cache_dir(kit, seed)) else None


class ReferenceProcess:
    """The grader's end: start the process, ask for computations, stop it."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.answers = None  # a protocol.FrameReader of its stdout, made at the first computation

    @classmethod
    def start(cls) -> ReferenceProcess:
        """Start the process (returns at once; torch is imported over there meanwhile)."""
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        process = subprocess.Popen([sys.executable, "-c", BOOT.format(root=str(PACKAGE_ROOT))],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   env=env, start_new_session=True)
        return cls(process)

    def compute(self, method: str, args: tuple, kwargs: dict) -> Arrays | None:
        """``Reference().<method>(*args, **kwargs)`` computed over there; None when the
        process cannot answer (then it is stopped)."""
        from autograder.grading.reference import arrays_from_frame
        from autograder.sandbox import protocol

        blobs: list[bytes] = []
        try:
            request = {"method": method, "args": encode(list(args), blobs), "kwargs": encode(kwargs, blobs)}
            protocol.write_frame(self.process.stdin.fileno(), request, blobs)
            self.answers = self.answers or protocol.FrameReader(self.process.stdout.fileno())
            header, answer = self.answers.read_frame()
            if "error" in header:
                raise protocol.ProtocolError(str(header["error"]))
            return arrays_from_frame(header, answer)
        except (OSError, ValueError, KeyError, TypeError, protocol.ProtocolError):
            self.close()
            return None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


def encode(value: Any, blobs: list[bytes]) -> Any:
    from autograder.sandbox import protocol

    def refuse(item: Any) -> dict:
        raise TypeError(f"cannot send {type(item).__name__} to the reference process")

    return protocol.encode(value, blobs, fallback=refuse)


def decode(data: Any, blobs: list[bytes]) -> Any:
    from autograder.sandbox import protocol

    def build(tag: str, payload: Any, path: tuple) -> Any:
        if tag == "$array":
            return payload[0]
        if tag == "$scalar":
            return payload[0][()]
        if tag in ("$tuple", "$list", "$dict"):
            return {"$tuple": tuple, "$list": list, "$dict": dict}[tag](payload)
        raise protocol.ProtocolError(f"unexpected {tag} in a request")

    return protocol.decode(data, blobs, tagged=build)


def serve() -> None:
    """The process's end: import torch at once, then answer requests until stdin closes."""
    from autograder.grading.reference import TORCH_METHODS, Reference, _import_torch, arrays_frame
    from autograder.sandbox import protocol

    _import_torch()
    reference = Reference(None)
    requests, answers = protocol.FrameReader(sys.stdin.buffer.fileno()), sys.stdout.buffer.fileno()
    while True:
        try:
            header, blobs = requests.read_frame()
        except protocol.ChannelClosed:
            return
        try:
            if header.get("method") not in TORCH_METHODS:
                raise ValueError(f"not a computation: {header.get('method')!r}")
            method = getattr(reference, header["method"])
            result = method(*decode(header["args"], blobs), **decode(header["kwargs"], blobs))
            protocol.write_frame(answers, *arrays_frame(result))
        except Exception as error:  # noqa: BLE001 - reported to the grader, which computes it itself
            protocol.write_frame(answers, {"error": f"{type(error).__name__}: {error}"})
