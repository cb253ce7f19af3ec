"""The wire format between the grader and the sandboxed worker.

A frame is a 12-byte prefix (header length, number of blobs), a JSON header, then each blob
prefixed by its 8-byte length. Arrays travel as raw buffers described in the JSON (dtype
string and shape, like a .npy header) and are rebuilt with ``numpy.frombuffer``; everything else
is JSON. Nothing that crosses is ever unpickled, so a value crafted by student code cannot run
code in the grader. The grader treats every frame from the worker as hostile: sizes are
capped, nesting is bounded, object dtypes are refused, an array's dtype and shape must agree
with its byte count before anything is allocated, and anything malformed is a
`ProtocolError`, never another exception.

Encoded values are JSON with a few tagged objects::

    {"$array": i, "class": "numpy.ndarray", "dtype": "<f8", "shape": [4, 5]}   blob i: the bytes
    {"$scalar": i, "class": "numpy.float64", "dtype": "<f8", "shape": []}
    {"$tuple": [...]}, {"$list": [...]}, {"$dict": {...}}
    {"$opaque": "module.Class", "repr": "..."}  an object that stays in the worker
    {"$ref": [call_id, [i, ...]]}              grader -> worker: a value a call returned
    {"$rng": seed}                             grader -> worker: numpy.random.default_rng(seed)

This module imports only the standard library and NumPy: the worker loads it.
"""

from __future__ import annotations

import io
import json
import math
import os
import select
import struct
import time
from typing import Any, Callable

import numpy as np

PREFIX = struct.Struct("!IQ")
BLOB_LEN = struct.Struct("!Q")
MAX_HEADER_BYTES = 64 * 1024 * 1024
MAX_BLOB_BYTES = 256 * 1024 * 1024  # the exercises' arrays are a few KB
MAX_DEPTH = 8


class ProtocolError(Exception):
    """The other side sent something that is not a valid frame."""


class ChannelClosed(ProtocolError):
    """The other side closed its end (it exited or crashed)."""


class ChannelTimeout(ProtocolError):
    """No complete frame arrived before the deadline."""


# -- framing ---------------------------------------------------------------------------------


def pack(header: dict, blobs: list[bytes] = ()) -> bytes:
    """One frame as bytes."""
    data = json.dumps(header).encode()
    parts = [PREFIX.pack(len(data), len(blobs)), data]
    for blob in blobs:
        parts += [BLOB_LEN.pack(len(blob)), blob]
    return b"".join(parts)


def unpack(data: bytes) -> tuple[dict, list[bytes]]:
    """Inverse of `pack`; raises `ProtocolError` on anything malformed or truncated."""
    reader = io.BytesIO(data)

    def read(size: int) -> bytes:
        chunk = reader.read(size)
        if len(chunk) != size:
            raise ProtocolError("truncated frame")
        return chunk

    header, blobs = _parse(read)
    if reader.read(1):
        raise ProtocolError("trailing bytes after the frame")
    return header, blobs


def write_frame(fd: int, header: dict, blobs: list[bytes] = (), deadline: float | None = None) -> None:
    """Write one frame to a file descriptor. With a `deadline` (``time.monotonic()``) on a
    non-blocking descriptor, raise `ChannelTimeout` if the reader stops reading."""
    write_bytes(fd, pack(header, blobs), deadline)


def write_bytes(fd: int, data: bytes, deadline: float | None = None) -> None:
    """Write a packed frame (see `write_frame`)."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            if not select.select([], [fd], [], _left(deadline))[1]:
                raise ChannelTimeout("the other side stopped reading") from None
            continue
        view = view[written:]


class FrameReader:
    """Reads the frames that arrive on one descriptor (keep one reader per descriptor), with
    as few system calls as it can: each read takes what the pipe holds, at least what the frame
    still needs and at most `CHUNK`, instead of a read each for the prefix, the header and
    each blob. The bytes that came after a frame wait in the buffer for the next one
    (`pending`). A size is validated (`_parse`) before anything of that size is read, so the
    buffer never holds more than the validated frame plus one read's worth."""

    CHUNK = 1 << 20

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = bytearray()

    @property
    def pending(self) -> bool:
        """Whether bytes of a next frame were read already (nobody asked for them yet)."""
        return bool(self.buffer)

    def read_frame(self, timeout: float | None = None, *,
                   deadline: float | None = None) -> tuple[dict, list[bytes]]:
        """The next frame; raise `ChannelTimeout` after `timeout` seconds (or at `deadline`, a
        ``time.monotonic()`` value), `ChannelClosed` on EOF, `ProtocolError` on a bad frame."""
        if timeout is not None:
            deadline = time.monotonic() + timeout
        return _parse(lambda size: self._take(size, deadline))

    def _take(self, size: int, deadline: float | None) -> bytes:
        buffer = self.buffer
        while len(buffer) < size:
            missing = size - len(buffer)
            if deadline is not None:
                if not select.select([self.fd], [], [], _left(deadline))[0]:
                    raise ChannelTimeout(f"no answer within the time limit ({size - missing} of {size} bytes)")
            chunk = os.read(self.fd, min(max(missing, 64 * 1024), self.CHUNK))
            if not chunk:
                raise ChannelClosed("the other side closed the channel")
            buffer += chunk
        data = bytes(buffer[:size])
        del buffer[:size]  # CPython drops a bytearray's head without moving the rest
        return data


def _parse(read: Callable[[int], bytes]) -> tuple[dict, list[bytes]]:
    header_len, n_blobs = PREFIX.unpack(read(PREFIX.size))
    if header_len > MAX_HEADER_BYTES or n_blobs > 10_000:
        raise ProtocolError(f"frame too large ({header_len} header bytes, {n_blobs} blobs)")
    try:
        header = json.loads(read(header_len))
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    blobs, total = [], 0
    for _ in range(n_blobs):
        (size,) = BLOB_LEN.unpack(read(BLOB_LEN.size))
        total += size
        if total > MAX_BLOB_BYTES:
            raise ProtocolError(f"frame carries more than {MAX_BLOB_BYTES >> 20} MB of arrays")
        blobs.append(read(size))
    return header, blobs


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


# -- values ----------------------------------------------------------------------------------


def qualified_name(kind: type) -> str:
    module = getattr(kind, "__module__", "") or ""
    name = getattr(kind, "__qualname__", getattr(kind, "__name__", "?"))
    return name if module == "builtins" else f"{module}.{name}"


def array_to_blob(array: np.ndarray) -> tuple[dict, bytes]:
    """An array's description (dtype string, shape) and its bytes, in C order."""
    array = np.ascontiguousarray(array)
    return {"dtype": array.dtype.str, "shape": list(array.shape)}, array.tobytes()


def blob_to_array(meta: dict, blob: bytes) -> np.ndarray:
    """Rebuild an array from an untrusted side: a plain dtype (no objects, no fields), and a
    shape that agrees with the bytes (so a forged shape cannot make the reader allocate
    terabytes). The result is a writable copy."""
    try:
        dtype = np.dtype(str(meta["dtype"]))
        shape = meta["shape"]
        if (dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None
                or not isinstance(shape, list) or len(shape) > 32
                or not all(type(d) is int and d >= 0 for d in shape)):
            raise ValueError(f"refused dtype {dtype} or shape {shape}")
        if math.prod(shape) * dtype.itemsize != len(blob):
            raise ValueError(f"shape {shape} of {dtype} does not match the {len(blob)} bytes")
        return np.frombuffer(bytearray(blob), dtype=dtype).reshape(shape)
    except Exception as error:  # malformed data from an untrusted worker
        raise ProtocolError(f"an array could not be decoded: {error}") from None


def encode(
    value: Any,
    blobs: list[bytes],
    *,
    fallback: Callable[[Any], dict],
    depth: int = 0,
) -> Any:
    """Turn `value` into JSON-able data, appending array bytes to `blobs`.

    `fallback(value)` encodes what has no wire form: the worker makes it opaque, the grader
    turns remote values and RNG specs into references.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value) in (int, float):
        return value
    if depth > MAX_DEPTH:
        return fallback(value)
    if isinstance(value, (np.ndarray, np.generic)) and not value.dtype.hasobject and value.dtype.fields is None:
        meta, blob = array_to_blob(np.asarray(value))
        blobs.append(blob)
        tag = "$array" if isinstance(value, np.ndarray) else "$scalar"
        return {tag: len(blobs) - 1, "class": qualified_name(type(value)), **meta}
    if type(value) in (tuple, list):
        tag = "$tuple" if type(value) is tuple else "$list"
        return {tag: [encode(v, blobs, fallback=fallback, depth=depth + 1) for v in value]}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"$dict": {k: encode(v, blobs, fallback=fallback, depth=depth + 1) for k, v in value.items()}}
    return fallback(value)


def decode(
    data: Any,
    blobs: list[bytes],
    *,
    tagged: Callable[[str, Any, tuple], Any],
    path: tuple = (),
) -> Any:
    """Inverse of `encode`. `tagged(tag, payload, path)` builds containers and special values,
    so each side chooses its own types (the grader remembers where a value came from)."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if len(path) > MAX_DEPTH + 1:  # deeper than `encode` ever nests
        raise ProtocolError("value nested too deeply")
    if isinstance(data, list):  # plain JSON lists never come from `encode`
        raise ProtocolError("untagged list in a value")
    if not isinstance(data, dict) or not 1 <= len(data) <= 4:
        raise ProtocolError("malformed value")
    tag = next(iter(data))
    payload = data[tag]
    if tag in ("$array", "$scalar"):
        if type(payload) is not int or not 0 <= payload < len(blobs):
            raise ProtocolError("array index out of range")
        array = blob_to_array(data, blobs[payload])
        return tagged(tag, (array, data.get("class", "")), path)
    if tag in ("$tuple", "$list"):
        if not isinstance(payload, list):
            raise ProtocolError("malformed sequence")
        items = [decode(v, blobs, tagged=tagged, path=path + (i,)) for i, v in enumerate(payload)]
        return tagged(tag, items, path)
    if tag == "$dict":
        if not isinstance(payload, dict):
            raise ProtocolError("malformed mapping")
        items = {k: decode(v, blobs, tagged=tagged, path=path + (k,)) for k, v in payload.items()}
        return tagged(tag, items, path)
    if tag in ("$opaque", "$ref", "$rng"):
        return tagged(tag, data, path)
    raise ProtocolError(f"unknown tag {tag!r}")
