"""The sandbox holds against broken and hostile student code.

Each test writes a tiny student module to a temporary folder and drives
`autograder.sandbox.client.Sandbox` directly: what a call returns, what it printed, and how every
way of misbehaving (hang, exit, crash, memory bomb, forbidden import, a value crafted to run
code when unpickled, tampering with NumPy or with the worker's pipes) becomes one
`StudentError` for that call while the next call still works.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.course import Tolerance
from autograder.grading.compare import expect_array
from autograder.grading.feedback import CheckFailed
from autograder.sandbox import protocol
from autograder.sandbox.client import (
    Crashed,
    Exited,
    Forbidden,
    ImportFailed,
    MissingFunction,
    Opaque,
    Raised,
    RemoteDict,
    RemoteTuple,
    Sandbox,
    TimedOut,
    Unencodable,
    descendants,
    kill_tree,
)
from autograder.sandbox.isolation import SandboxError
from autograder.sandbox.limits import Limits

SECONDS = 0.5  # per request: short, every hang in this file costs about this much


@pytest.fixture
def sandbox(tmp_path):
    """``sandbox({"mod.py": source, ...}, **options)``: a Sandbox on a fresh student folder."""
    opened: list[Sandbox] = []

    def make(files: dict[str, str], **options) -> Sandbox:
        folder = tmp_path / "student"
        folder.mkdir(exist_ok=True)
        for name, source in files.items():
            (folder / name).write_text(textwrap.dedent(source))
        limits = {"seconds": SECONDS, "memory_mb": 256,
                  **{key: options.pop(key) for key in list(options) if key in Limits._fields}}
        options = {"forbidden": ["torch", "tensorflow", "jax"], **options}
        box = Sandbox(folder, limits=Limits(**limits), **options)
        opened.append(box)
        return box

    yield make
    for box in opened:
        box.close()


def line_of(source: str, text: str) -> int:
    """The number of the line of `source` that contains `text`."""
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def timed(call):
    """(error raised by call(), seconds it took)."""
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        call()
    return info.value, time.monotonic() - started


OK = textwrap.dedent("""
    import numpy as np

    def ok(x=None):
        return "fine"
""")


def with_ok(source: str) -> str:
    """A module with `ok()` (which always works) and the functions in `source`."""
    return OK + textwrap.dedent(source)


# -- normal calls --------------------------------------------------------------------------------


def test_call_with_arrays_and_keyword_arguments(sandbox):
    box = sandbox({"mod.py": """
        import numpy as np

        def affine(x, w, *, shift=0.0, scale=np.float32(1)):
            return x @ w * scale + shift, {"shape": x.shape, "n": int(x.shape[0])}
    """})
    x = np.arange(6.0).reshape(2, 3)
    w = np.ones((3, 2), dtype=np.float64)
    result = box.call("mod", "affine", (x, w), {"shift": 0.5, "scale": np.float64(2.0)})
    out, info = result.value
    assert isinstance(result.value, RemoteTuple)
    assert type(out) is np.ndarray and out.dtype == np.float64
    np.testing.assert_array_equal(out, x @ w * 2 + 0.5)
    assert info == {"shape": (2, 3), "n": 2}
    assert result.elapsed >= 0 and result.output == "" and result.output_bytes == 0


def test_values_stay_in_the_worker_and_come_back_by_reference(sandbox):
    box = sandbox({"mod.py": """
        import numpy as np

        class Cache:
            def __init__(self, x):
                self.x = x

        def forward(x):
            return x * 2, {"saved": Cache(x), "count": 1}

        def backward(dout, cache):
            return dout * cache["saved"].x, cache["count"]
    """})
    x = np.arange(4.0)
    out, cache = box.call("mod", "forward", (x,)).value
    assert isinstance(cache, RemoteDict)
    assert isinstance(cache["saved"], Opaque) and cache["saved"].type_name == "mod.Cache"
    dx, count = box.call("mod", "backward", (np.ones(4), cache)).value
    np.testing.assert_array_equal(dx, x)
    assert count == 1
    # the object alone, by reference too
    dx, _ = box.call("mod", "backward", (np.ones(4), {"saved": cache["saved"], "count": 2})).value
    np.testing.assert_array_equal(dx, x)



def test_a_reset_forgets_earlier_values_without_a_round_trip_of_its_own(sandbox):
    box = sandbox({"mod.py": """
        def forward(x):
            return x * 2, {"x": x}

        def backward(dout, cache):
            return dout * cache["x"]
    """})
    _, cache = box.call("mod", "forward", (np.arange(3.0),)).value
    sent = box.next_call_id
    box.reset()
    assert box.next_call_id == sent  # nothing sent yet: the order rides on the next request
    with pytest.raises(SandboxError, match="no longer in the worker"):
        box.call("mod", "backward", (np.ones(3), cache))
    _, fresh = box.call("mod", "forward", (np.arange(3.0),)).value  # later values still work
    np.testing.assert_array_equal(box.call("mod", "backward", (np.ones(3), fresh)).value, np.arange(3.0))

def test_prints_are_captured(sandbox):
    box = sandbox({"mod.py": """
        import sys

        def chatty():
            print("hello from the student")
            print("and from stderr", file=sys.stderr)
            return 1
    """})
    result = box.call("mod", "chatty")
    assert result.value == 1
    assert "hello from the student" in result.output and "and from stderr" in result.output
    # each call starts with an empty capture
    assert box.call("mod", "chatty").output.count("hello from the student") == 1


def test_a_megabyte_of_prints_is_truncated_and_counted(sandbox):
    box = sandbox({"mod.py": """
        def noisy():
            for i in range(16384):
                print("x" * 63)
            return "done"
    """}, output_limit=500)
    result = box.call("mod", "noisy")
    assert result.value == "done"
    assert len(result.output) == 500
    assert result.output_bytes == 16384 * 64


# -- hangs, exits and crashes ----------------------------------------------------------------------


def test_infinite_loop_times_out_and_only_that_function_is_skipped(sandbox):
    box = sandbox({"mod.py": with_ok("""
    def hang():
        print("starting")
        while True:
            pass
    """), "other.py": "def hang():\n    return 'not me'\n"})
    box.call("mod", "ok")  # the module imports fine
    error, seconds = timed(lambda: box.call("mod", "hang"))
    assert isinstance(error, TimedOut)
    assert error.detail["seconds"] == SECONDS and not error.detail["importing"]
    assert SECONDS <= seconds < SECONDS + 1.5
    assert "starting" in error.output  # the worker's output is unbuffered
    assert box.call("mod", "ok").value == "fine"  # a fresh worker
    again, seconds = timed(lambda: box.call("mod", "hang"))
    assert again is error and seconds < 0.1  # skipped, not run again
    assert box.call("other", "hang").value == "not me"  # same name, another module


def test_a_hang_in_the_first_call_of_a_module_is_not_blamed_on_its_import(sandbox):
    box = sandbox({"mod.py": with_ok("""
    def hang():
        while True:
            pass
    """)})
    error, _ = timed(lambda: box.call("mod", "hang"))
    assert isinstance(error, TimedOut) and not error.detail["importing"]
    assert box.call("mod", "ok").value == "fine"


def test_sys_exit_is_reported_and_the_worker_keeps_serving(sandbox):
    box = sandbox({"mod.py": with_ok("""
    import sys

    def leave():
        sys.exit(0)
    """)})
    box.call("mod", "ok")
    pid = box.process.pid
    error, _ = timed(lambda: box.call("mod", "leave"))
    assert isinstance(error, Exited) and error.detail["exit_code"] == "0"
    assert box.call("mod", "ok").value == "fine"
    assert box.process.pid == pid and box.restarts == 0


def test_os_exit_is_a_crash(sandbox):
    box = sandbox({"mod.py": with_ok("""
    import os

    def leave():
        print("bye")
        os._exit(0)
    """)})
    error, _ = timed(lambda: box.call("mod", "leave"))
    assert isinstance(error, Crashed)
    assert error.detail["returncode"] == 0 and not error.detail["importing"]
    assert "bye" in error.output  # the worker's output is unbuffered
    assert box.call("mod", "ok").value == "fine"


def test_segfault_is_a_crash_located_in_the_students_code(sandbox):
    box = sandbox({"mod.py": (source := with_ok("""
    import ctypes

    def helper():
        return ctypes.string_at(0)

    def crash():
        return helper()
    """))})
    error, _ = timed(lambda: box.call("mod", "crash"))
    assert isinstance(error, Crashed)
    assert error.detail["signal"] == "SIGSEGV" and not error.detail["importing"]
    assert [(f["function"], f["line"]) for f in error.frames] == [
        ("crash", line_of(source, "return helper()")), ("helper", line_of(source, "string_at(0)"))]
    assert error.innermost_function == "helper"
    assert error.frames[-1]["file"].endswith("mod.py")
    assert box.call("mod", "ok").value == "fine"


def test_worker_that_closes_its_answer_pipe_and_hangs(sandbox):
    box = sandbox({"mod.py": with_ok("""
    import os, sys

    def sneaky():
        os.close(int(sys.argv[2]))
        while True:
            pass
    """)})
    error, seconds = timed(lambda: box.call("mod", "sneaky"))
    assert isinstance(error, Crashed) and seconds < SECONDS + 1.5
    assert box.call("mod", "ok").value == "fine"


def test_worker_ended_between_calls_is_replaced_without_blaming_the_next_call(sandbox):
    box = sandbox({"mod.py": with_ok("""
    import os, threading, time

    def later():
        def kill():
            time.sleep(0.05)
            os._exit(3)
        threading.Thread(target=kill).start()
        return "returned", object()

    def use(cache):
        return "used"
    """)})
    value, cache = box.call("mod", "later").value
    assert value == "returned"
    time.sleep(0.3)
    assert box.call("mod", "ok").value == "fine"
    # the cache died with that worker: passing it back is that worker's crash
    error, _ = timed(lambda: box.call("mod", "use", (cache,)))
    assert isinstance(error, Crashed) and error.detail["returncode"] == 3
    assert box.call("mod", "ok").value == "fine"


# -- memory ---------------------------------------------------------------------------------------


def test_memory_bombs_are_memory_errors_within_the_limit(sandbox):
    box = sandbox({"mod.py": with_ok("""
    HOG = []

    def at_once():  # 8 TB
        hog = np.ones((10**6, 10**6))

    def by_the_megabyte():
        hog = []
        while True:
            hog.append(np.ones(2**17))

    def small_objects():  # the frame holds them while the error is described
        hog = []
        while True:
            hog.append([0] * 100)

    def kept_after_the_call():  # a global still holds them: the worker is replaced
        while True:
            HOG.append([0] * 100)

    def hoard():  # no error, but 80 of the 96 MB stay in use: the worker is replaced
        HOG.append(np.ones(10 * 2**20))
        return "hoarded"
    """)}, seconds=5.0, memory_mb=96)
    for bomb in ("at_once", "by_the_megabyte", "small_objects", "kept_after_the_call"):
        error, seconds = timed(lambda: box.call("mod", bomb))
        assert isinstance(error, Raised), (bomb, error)
        assert error.detail["type"] == "MemoryError" and "MemoryError" in error.detail["mro"], bomb
        assert error.innermost_function == bomb and seconds < 5.0
        assert box.call("mod", "ok").value == "fine"
    assert box.call("mod", "hoard").value == "hoarded"
    assert box.call("mod", "ok", (np.ones(10**6),)).value == "fine"  # 8 MB more would not have fit
    assert box.restarts == 0  # and nothing crashed


# -- imports --------------------------------------------------------------------------------------


def same_failure_for(again, first, function: str) -> bool:
    """The module's remembered failure, reported for the function called now."""
    return (type(again) is type(first) and again.detail == first.detail and again.module == first.module
            and again.function == function)


def test_import_torch_at_the_top_level_is_forbidden(sandbox):
    box = sandbox({"mod.py": "import torch\n\ndef f():\n    return 1\n"})
    error, _ = timed(lambda: box.call("mod", "f"))
    assert isinstance(error, Forbidden) and error.detail["modules"] == ["torch"]
    assert "'torch' cannot be imported" in error.detail["message"]
    assert same_failure_for(timed(lambda: box.call("mod", "g"))[0], error, "g")  # the module stays unusable


def test_import_torch_inside_a_function_is_forbidden(sandbox):
    box = sandbox({"mod.py": with_ok("""
    def f():
        import torch.nn as nn
        return 1
    """)})
    error, _ = timed(lambda: box.call("mod", "f"))
    assert isinstance(error, Forbidden) and error.innermost_function == "f"
    assert box.call("mod", "ok").value == "fine"


def test_forbidden_module_loaded_behind_the_blockers_back(sandbox):
    box = sandbox({"mod.py": with_ok("""
    import sys

    def f():
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ImportBlocker"]
        import colorsys
        return 1
    """)}, forbidden=["colorsys"])
    error, _ = timed(lambda: box.call("mod", "f"))
    assert isinstance(error, Forbidden) and error.detail["modules"] == ["colorsys"]
    assert box.call("mod", "ok").value == "fine"  # a fresh worker, without it


def test_import_time_infinite_loop_fails_the_whole_module_fast(sandbox):
    box = sandbox({"mod.py": "while True:\n    pass\n\ndef f():\n    return 1\n\ndef g():\n    return 2\n",
                   "other.py": OK})
    error, seconds = timed(lambda: box.call("mod", "f"))
    assert isinstance(error, TimedOut) and error.detail["importing"]
    again, seconds = timed(lambda: box.call("mod", "g"))
    assert same_failure_for(again, error, "g") and seconds < 0.1
    assert box.call("other", "ok").value == "fine"


def test_syntax_error_names_the_file_and_line(sandbox):
    box = sandbox({"mod.py": "import numpy as np\n\ndef f(x):\n    return x +\n", "other.py": OK})
    error, _ = timed(lambda: box.call("mod", "f", (1,)))
    assert isinstance(error, ImportFailed)
    assert error.detail["type"] == "SyntaxError"
    assert error.detail["syntax"]["file"].endswith("mod.py") and error.detail["syntax"]["line"] == 4
    assert error.detail["syntax"]["text"].strip() == "return x +"
    assert same_failure_for(timed(lambda: box.call("mod", "g"))[0], error, "g")
    assert box.call("other", "ok").value == "fine"


def test_exception_at_import_is_an_import_failure(sandbox):
    box = sandbox({"mod.py": "import numpy as np\nTABLE = np.ones(3)[7]\n\ndef f():\n    return 1\n"})
    error, _ = timed(lambda: box.call("mod", "f"))
    assert isinstance(error, ImportFailed) and error.detail["type"] == "IndexError"
    assert error.frames[-1]["line"] == 2


def test_missing_function_and_missing_file(sandbox):
    box = sandbox({"mod.py": OK + "\nnot_a_function = 3\n"})
    error, _ = timed(lambda: box.call("mod", "nowhere"))
    assert isinstance(error, MissingFunction) and not error.detail["present"]
    error, _ = timed(lambda: box.call("mod", "not_a_function"))
    assert isinstance(error, MissingFunction) and error.detail["present"]
    error, _ = timed(lambda: box.call("absent", "f"))
    assert isinstance(error, ImportFailed) and error.detail["type"] == "ModuleNotFoundError"
    assert box.call("mod", "ok").value == "fine"


def test_the_kit_and_its_solutions_cannot_be_imported(sandbox):
    box = sandbox({"mod.py": """
    import sys

    def probe():
        found = {}
        for name in ("solutions", "autograder", "autograder.sandbox.worker", "autograder.grading.reference"):
            try:
                __import__(name)
                found[name] = "imported"
            except ImportError as error:
                found[name] = type(error).__name__
        found["modules"] = [m for m in sys.modules if m.startswith(("autograder", "solutions"))]
        return found
    """})
    found = box.call("mod", "probe").value
    assert "imported" not in found.values()
    assert found["modules"] == []


# -- input and files ------------------------------------------------------------------------------


def test_input_does_not_hang(sandbox):
    box = sandbox({"mod.py": "def ask():\n    return input('your answer? ')\n"})
    error, _ = timed(lambda: box.call("mod", "ask"))
    assert isinstance(error, Raised) and error.detail["type"] == "EOFError"  # stdin is /dev/null


def test_student_files_are_never_written(sandbox, tmp_path):
    box = sandbox({"mod.py": "import helper\n\ndef f():\n    return helper.g() + 1\n",
                   "helper.py": "def g():\n    return 1\n"})
    folder = tmp_path / "student"
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert box.call("mod", "f").value == 2
    box.close()
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert after == before  # same files (no __pycache__), same bytes


# -- values crafted against the grader ------------------------------------------------------------


def test_a_value_built_to_run_code_when_unpickled_stays_opaque(sandbox, tmp_path):
    marker = tmp_path / "pwned"
    box = sandbox({"mod.py": f"""
    import os

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch {marker}",))

        def __repr__(self):
            return "harmless"

    def f():
        return Evil(), [Evil()], {{"cache": Evil()}}
    """})
    single, in_list, in_dict = box.call("mod", "f").value
    for value in (single, in_list[0], in_dict["cache"]):
        assert isinstance(value, Opaque) and value.type_name == "mod.Evil" and value.text == "harmless"
    assert not marker.exists()


def test_object_arrays_and_array_subclasses_do_not_cross_as_arrays(sandbox):
    box = sandbox({"mod.py": """
    import numpy as np

    class Sneaky(np.ndarray):
        def __reduce__(self):
            raise RuntimeError("never pickled")

    def f():
        return (np.array([object()], dtype=object), np.zeros(3).view(Sneaky), np.ma.masked_array([1.0]),
                np.matrix([[1.0]]))
    """})
    values = box.call("mod", "f").value
    assert [type(v) for v in values] == [Opaque] * 4
    assert [v.type_name for v in values[1:]] == ["mod.Sneaky", "numpy.ma.MaskedArray", "numpy.matrix"]


def test_patching_numpy_in_the_worker_does_not_change_the_graders_comparisons(sandbox):
    box = sandbox({"mod.py": """
    import numpy as np

    def cheat(x):
        np.allclose = lambda *args, **kwargs: True
        np.array_equal = lambda *args, **kwargs: True
        np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
        np.testing.assert_allclose = lambda *args, **kwargs: None
        return x + 1.0

    def check(a, b):
        return bool(np.allclose(a, b)), bool(np.array_equal(a, b))
    """})
    x = np.arange(5.0)
    wrong = box.call("mod", "cheat", (x,)).value
    assert box.call("mod", "check", (np.zeros(2), np.ones(2))).value == (True, True)  # patched there
    with pytest.raises(CheckFailed) as info:
        expect_array(wrong, x, name="out", function="cheat", tol=Tolerance(rtol=1e-6, atol=1e-9))
    assert info.value.feedback.stage == "values"
    assert not np.allclose(wrong, x) and not np.array_equal(wrong, x)


def test_unencodable_values(sandbox):
    box = sandbox({"mod.py": with_ok("""
    class Loud:
        def __repr__(self):
            raise RuntimeError("no repr")

    def huge_int():
        return 10 ** 5000

    def loud():
        return Loud()

    def deep():
        value = []
        for _ in range(50):
            value = [value]
        return value
    """)})
    error, _ = timed(lambda: box.call("mod", "huge_int"))
    assert isinstance(error, Unencodable)
    assert box.call("mod", "loud").value.text == "<unprintable>"
    deep = box.call("mod", "deep").value
    for _ in range(protocol.MAX_DEPTH + 1):
        deep = deep[0]
    assert isinstance(deep, Opaque)
    assert box.call("mod", "ok").value == "fine"


# -- tampering with the worker's pipes ------------------------------------------------------------


TAMPER = with_ok("""
import json, os, struct, sys

ANSWERS = int(sys.argv[2])

def frame(header, blobs=()):
    data = json.dumps(header).encode()
    parts = [struct.pack("!IQ", len(data), len(blobs)), data]
    for blob in blobs:
        parts += [struct.pack("!Q", len(blob)), blob]
    return b"".join(parts)

def garbage():
    os.write(ANSWERS, b"garbage!")
    return 1

def not_json():
    os.write(ANSWERS, struct.pack("!IQ", 5, 0) + b"{nope")
    return 1

def nested():
    data = b"[" * 100000 + b"]" * 100000
    os.write(ANSWERS, struct.pack("!IQ", len(data), 0) + data)
    return 1

def wrong_fields():
    os.write(ANSWERS, frame({"ok": True, "token": TOKEN(), "elapsed": "soon", "value": {"$array": 0}}))
    return 1

def bad_array():
    value = {"$array": 0, "dtype": "<f8", "shape": [100000000000]}
    os.write(ANSWERS, frame({"ok": True, "token": TOKEN(), "value": value}, [b"\\0" * 64]))
    return 1

def forged():
    os.write(ANSWERS, frame({"ok": True, "token": TOKEN(), "value": "forged"}))
    os.write(ANSWERS, frame({"ok": True, "token": "a guess", "value": "forged for the next call"}))
    return "real"

def TOKEN():
    # the token of the request being served: the worker's frames hold it
    frame = sys._getframe()
    while frame is not None:
        header = frame.f_locals.get("header")
        if isinstance(header, dict) and "token" in header:
            return header["token"]
        frame = frame.f_back
""")


def test_a_malformed_answer_frame_is_a_failure_of_that_call(sandbox):
    box = sandbox({"mod.py": TAMPER})
    for function, problem in [
        ("garbage", "frame too large"),
        ("not_json", "not JSON"),
        ("nested", "not JSON"),
        ("wrong_fields", "'elapsed' has the wrong type"),
        ("bad_array", "does not match"),  # a forged shape: refused before anything is allocated
    ]:
        error, seconds = timed(lambda: box.call("mod", function))
        assert isinstance(error, Crashed) and problem in error.detail["protocol"], (function, error)
        assert seconds < SECONDS + 1.5
        assert box.call("mod", "ok").value == "fine"


def test_a_worker_that_stops_reading_cannot_block_the_grader(sandbox):
    box = sandbox({"mod.py": with_ok("""
    import re, threading, time

    def hog_the_gil():
        def hog():
            time.sleep(0.1)
            re.match(r"(a+)+$", "a" * 64 + "b")  # C code that never lets the main thread run
        threading.Thread(target=hog, daemon=True).start()
        return "returned"

    def size(x):
        return x.size
    """)})
    assert box.call("mod", "hog_the_gil").value == "returned"
    time.sleep(0.2)
    big = np.zeros(200_000)  # more than a pipe holds: writing it blocks until the worker reads
    error, seconds = timed(lambda: box.call("mod", "ok", (big,)))
    assert isinstance(error, TimedOut) and seconds < SECONDS + 1.5
    assert box.call("mod", "size", (big,)).value == big.size  # a fresh worker


def test_forged_answer_frames_cannot_desynchronise_the_grader(sandbox):
    box = sandbox({"mod.py": TAMPER})
    box.call("mod", "ok")
    value = box.call("mod", "forged").value
    assert value in ("forged", "real")  # the call's own answer: no worse than returning a value
    assert box.call("mod", "ok").value == "fine"
    box.reset()
    assert box.call("mod", "ok").value == "fine"


# -- the wire format itself -----------------------------------------------------------------------


def test_protocol_rejects_deep_nesting_and_bad_arrays():
    deep = b"[" * 100000 + b"]" * 100000
    with pytest.raises(protocol.ProtocolError):
        protocol.unpack(struct.pack("!IQ", len(deep), 0) + deep)
    value: dict = {"$list": []}
    for _ in range(2000):
        value = {"$list": [value]}
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(value, [], tagged=lambda tag, payload, path: payload)
    meta, good = protocol.array_to_blob(np.arange(3.0))
    forged = [(meta, good[:-1]), (meta, good + b"\0" * 8), ({**meta, "shape": [9999999999999]}, good),
              ({**meta, "dtype": "|O"}, good), ({**meta, "dtype": "[('a', '<f8')]"}, good),
              ({**meta, "shape": [-3]}, good), ({**meta, "shape": "3"}, good), ({"dtype": "<f8"}, good),
              ({**meta, "dtype": "not a dtype"}, good)]
    for bad_meta, blob in forged:
        with pytest.raises(protocol.ProtocolError):
            protocol.blob_to_array(bad_meta, blob)
    np.testing.assert_array_equal(protocol.blob_to_array(meta, good), np.arange(3.0))


# -- nothing leaves the sandbox: processes, signals, native code, files ---------------------------

ESCAPES = """
import ctypes, os, signal, sys
import numpy as np

MARKER = {marker!r}

def daemon():
    if os.fork() == 0:  # the classic escape: fork, setsid, fork, write later
        os.setsid()
        if os.fork() == 0:
            import time; time.sleep(1); open(MARKER, "w").write("escaped")
        os._exit(0)
    return 1.0

def popen():
    import subprocess
    subprocess.Popen(["sh", "-c", "sleep 1; touch " + MARKER])
    return 1.0

def raw_fork():
    import _posixsubprocess
    return _posixsubprocess.fork_exec()

def libc_fork():
    return ctypes.CDLL(None).fork()

def kill_grader():
    os.kill(os.getppid(), signal.SIGKILL)
    return 1.0

def write_outside():
    with open(MARKER, "w") as handle:
        handle.write("written")
    return 1.0

def overwrite_myself():
    open(__file__, "w").write("# gone")
    return 1.0

def remove_outside():
    os.remove({victim!r})
    return 1.0

def write_here():
    np.save("scratch.npy", np.arange(3.0))  # the worker's own temporary folder: allowed
    return float(np.load("scratch.npy").sum())
"""


@pytest.mark.parametrize("function, kind", [
    ("daemon", "process"), ("popen", "process"), ("raw_fork", "process"), ("libc_fork", "native"),
    ("kill_grader", "signal"), ("write_outside", "write"), ("overwrite_myself", "write"),
    ("remove_outside", "write"),
])
def test_student_code_cannot_reach_outside_the_sandbox(sandbox, tmp_path, function, kind):
    marker, victim = tmp_path / "marker", tmp_path / "victim"
    victim.write_text("keep me")
    box = sandbox({"mod.py": ESCAPES.format(marker=str(marker), victim=str(victim))})
    source = (box.directory / "mod.py").read_bytes()
    with pytest.raises(Forbidden) as error:
        box.call("mod", function)
    assert error.value.detail["operation"]["kind"] == kind
    assert box.call("mod", "write_here").value == 3.0  # the worker goes on
    box.close()
    time.sleep(1.5)  # longer than any escapee would wait before writing
    assert not marker.exists()
    assert victim.read_text() == "keep me"
    assert (box.directory / "mod.py").read_bytes() == source


def test_the_whole_process_tree_dies_with_the_worker(tmp_path):
    """Even a process that double-forked into its own session (the worker is its reaper)."""
    script = ("import ctypes, subprocess, time; ctypes.CDLL(None).prctl(36, 1); "
              "subprocess.Popen(['sh', '-c', '(setsid sleep 60 &); sleep 60']); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(descendants(parent.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    tree = descendants(parent.pid)
    assert len(tree) >= 3  # sh, its sleep, and the setsid sleep (reparented to the reaper)
    kill_tree(parent.pid)
    parent.wait(timeout=5)
    time.sleep(0.2)
    alive = [pid for pid in tree if Path(f"/proc/{pid}").exists()
             and Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"]
    assert alive == []


# -- the copy the worker sees, the view, the levels --------------------------------------------------


def test_the_copy_refuses_links_and_oversized_files_and_says_why(sandbox, tmp_path):
    outside = tmp_path / "outside.py"
    outside.write_text("def f():\n    return 'from outside'\n")
    box = sandbox({"mod.py": "import helper\n\ndef f():\n    return helper.g()\n", "big.py": "#" * 3000 + "\n"},
                  max_file_mb=0.002)
    (box.directory / "helper.py").symlink_to(outside)
    (box.directory / "linked.py").symlink_to(outside)
    (box.directory / "pkg").symlink_to(tmp_path)
    refusals = (("mod", "symlink"), ("linked", "symlink"), ("big", "too_large"), ("pkg.outside", "symlink"))
    for name, reason in refusals:
        with pytest.raises(ImportFailed) as error:
            box.call(name, "f")
        assert error.value.detail["refused"]["reason"] == reason
    assert sorted(p.name for p in box.confinement.folders["submission"].iterdir()) == ["mod.py"]


def test_each_worker_copies_what_the_folder_holds_at_its_first_import(sandbox):
    box = sandbox({"mod.py": "def f():\n    return 1\n"})
    box.start()  # a worker booted in advance (watch mode) sees the files as they are at the first call
    (box.directory / "mod.py").write_text("def f():\n    return 2\n")
    assert box.call("mod", "f").value == 2
    (box.directory / "mod.py").write_text("def f():\n    return 3\n")
    assert box.call("mod", "f").value == 2  # the same worker: its copy
    box.stop()  # a new worker reads the folder again
    assert box.call("mod", "f").value == 3


def test_snapshot_walks_without_following_anything(tmp_path):
    from autograder.sandbox import snapshot

    source, target = tmp_path / "source", tmp_path / "target"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / ".git").mkdir()
    target.mkdir()
    (source / "a.py").write_text("A = 1\n")
    (source / "pkg" / "__init__.py").write_text("")
    (source / "pkg" / "__pycache__" / "x.py").write_text("")
    (source / ".git" / "hook.py").write_text("")
    (source / "notes.txt").write_text("not code")
    (source / "ü odd name.py").write_text("B = 2\n")
    (source / os.fsdecode(b"undecodable\xff.py")).write_text("C = 3\n")
    os.mkfifo(source / "pipe.py")
    (source / "big.py").write_bytes(b"#" * 101)
    (source / "link.py").symlink_to(source / "a.py")
    before = snapshot.digest(source, max_file_bytes=100)
    refused, digest = snapshot.take(source, target, max_file_bytes=100)
    assert digest == before  # what was copied is what the folder holds
    copied = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert copied == ["a.py", "pkg/__init__.py", "undecodable\udcff.py", "ü odd name.py"]
    assert {(r.path, r.reason) for r in refused} == {("pipe.py", "not_a_file"), ("big.py", "too_large"),
                                                      ("link.py", "symlink")}
    assert snapshot.refused_modules(refused)["big"] == {"file": "big.py", "reason": "too_large", "size": 101}
    (source / "notes.txt").write_text("not code either")  # never copied: the copy is still current
    assert snapshot.digest(source, max_file_bytes=100) == digest
    for change in (lambda: (source / "pkg" / "__init__.py").write_text("X = 1\n"),
                   lambda: (source / "big.py").write_bytes(b"#" * 102),
                   lambda: (source / "c.py").write_text("")):
        change()
        assert snapshot.digest(source, max_file_bytes=100) != digest
        digest = snapshot.digest(source, max_file_bytes=100)


def test_split_carves_hidden_folders_out_of_the_roots(tmp_path):
    from autograder.sandbox import view

    for folder in ("usr/lib/python/site-packages/torch", "usr/lib/python/json", "usr/bin", "kit/solutions"):
        (tmp_path / folder).mkdir(parents=True)
    hidden = [tmp_path / "usr/lib/python/site-packages", tmp_path / "kit"]
    shown = view.split([tmp_path / "usr"], hidden)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in shown) == ["usr/bin", "usr/lib/python/json"]
    assert [p.relative_to(tmp_path).as_posix() for p in view.carved([tmp_path / "usr"], hidden)] == [
        "usr/lib/python", "usr/lib", "usr"]
    assert view.split([tmp_path / "kit" / "solutions"], hidden) == [tmp_path / "kit" / "solutions"]


def test_the_level_is_capped_by_the_environment_and_a_bad_cap_is_an_error(monkeypatch):
    from autograder.sandbox import isolation

    monkeypatch.setenv(isolation.CAP_VARIABLE, "process")
    assert isolation.detect().level == isolation.Level.PROCESS
    monkeypatch.setenv(isolation.CAP_VARIABLE, "sandboxed")
    with pytest.raises(isolation.SandboxError, match="namespaces, landlock, unprivileged_user, process"):
        isolation.detect()
    monkeypatch.delenv(isolation.CAP_VARIABLE)
    strongest = isolation.detect().level
    assert all(isolation.unavailable(level) is not None for level in isolation.Level if level > strongest)


def test_withholding_the_kit_keeps_only_the_way_to_what_the_worker_needs(tmp_path):
    """The unprivileged-user level: other users lose every right on the kit's folders but the
    traverse bit on the way to the runtime it holds (a virtual environment inside the kit)."""
    from autograder.sandbox import privileges

    kit = tmp_path / "kit"
    numpy = kit / ".venv" / "lib" / "site-packages" / "numpy"
    for folder in (numpy, kit / "solutions", kit / ".venv" / "lib" / "site-packages" / "torch"):
        folder.mkdir(parents=True)
    (kit / "quiz.yml").write_text("key")
    for path in [kit, *kit.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    privileges.withhold([kit, kit / ".grade"], [numpy])

    def others(path):
        return oct(path.stat().st_mode & 0o007)

    assert others(kit) == others(kit / ".venv") == others(kit / ".venv" / "lib" / "site-packages") == "0o1"
    assert others(kit / "solutions") == others(kit / "quiz.yml") == others(kit / ".grade") == "0o0"
    assert others(kit / ".venv" / "lib" / "site-packages" / "torch") == "0o0"
    assert others(numpy) == "0o5"


def test_a_namespace_sandbox_that_cannot_start_gives_way_to_the_next_level(sandbox, monkeypatch):
    """The worker is started at the strongest level without trying it first; when bubblewrap
    fails there (user namespaces turned off, say), the next level starts it, and says so."""
    from autograder.sandbox import bubblewrap, isolation

    if isolation.candidate().level != isolation.Level.NAMESPACES:
        pytest.skip("the namespace sandbox is not this machine's strongest level")
    monkeypatch.setattr(isolation, "_ruled_out", {})
    monkeypatch.setattr(bubblewrap, "NAMESPACES", [*bubblewrap.NAMESPACES, "--no-such-option"])
    box = sandbox({"mod.py": "def f():\n    print('hello')\n    return 1\n"})
    call = box.call("mod", "f")
    assert call.value == 1 and call.output == "hello\n"  # nothing of bwrap's complaint
    assert box.isolation.level == isolation.candidate().level < isolation.Level.NAMESPACES
