"""How fast does `grade` feel? Median wall-clock times of whole command runs.

    python benchmarks/grade_speed.py [--runs 7]

Times, each the median of several runs of a fresh process:
- the floors: ``python -c "import numpy, pytest, rich"`` and ``python -c "import torch"``;
- ``grade --solutions`` with warm caches (nothing changed since the last grading), with only
  the reference values cached (every exercise graded again, as after editing every file), and
  with empty caches (the first run after a clone: torch is imported once to fill them);
- ``grade`` on the untouched stubs;
- ``grade watch``: from saving a file to the new feedback on screen, for the exercise being
  worked on (a real pseudo-terminal, a private copy of the kit);
- the sandbox's cost: ``grade bn_sgd_step --solutions`` graded again (its cached result
  forgotten, so a worker starts and runs its checks) at each isolation level this machine
  offers (``GRADE_ISOLATION``), beside the ``process`` level (limits only, no walls).
and the ratios to the floors. Nothing here is a test: it measures and prints.

Targets (issue 3): a warm full `grade` within 1.5x the numpy+pytest+rich floor, and
save-to-feedback in watch mode at most 0.3 s (medians). Issue 12: the walls add at most
30 ms to one exercise graded again, and keep save-to-feedback at most 0.15 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GRADE = [PYTHON, "-m", "autograder"]
ONE_EXERCISE = "bn_sgd_step"


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def median_time(command: list[str], runs: int, env: dict[str, str], prepare=None) -> float:
    samples = []
    for _ in range(runs):
        if prepare:
            prepare()
        samples.append(timed(command, env))
    return statistics.median(samples)


def save_to_feedback(runs: int) -> float:
    """Median seconds from saving exercises/batchnorm.py to watch mode's redrawn screen."""
    import pexpect

    with tempfile.TemporaryDirectory() as folder:
        kit = Path(folder)
        for name in ("course.yml", "quiz.yml"):
            shutil.copy(ROOT / name, kit / name)
        shutil.copytree(ROOT / "lessons", kit / "lessons")
        shutil.copytree(ROOT / "solutions", kit / "exercises")
        student = kit / "exercises" / "batchnorm.py"
        right = student.read_text()
        wrong = right.replace("x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps")
        student.write_text(wrong)  # bn_forward is the exercise being worked on
        env = {**os.environ, "GRADE_STATE_DIR": str(kit / ".grade"), "COLUMNS": "120", "LINES": "80"}
        child = pexpect.spawn(PYTHON, ["-m", "autograder", "watch", "--course", str(kit / "course.yml")],
                              env=env, encoding="utf-8", timeout=120, dimensions=(80, 120))
        child.expect("Current exercise: bn_forward")
        child.expect("q quit")
        samples = []
        for run in range(runs):
            marker = f"# save {run}\n"
            source = (right if run % 2 == 0 else wrong) + marker
            started = time.perf_counter()
            student.write_text(source)
            child.expect("Current exercise: bn_forward")
            child.expect("q quit")
            samples.append(time.perf_counter() - started)
            child.expect("q quit", timeout=60)  # let the second pass finish before the next save
        child.send("q")
        child.expect(pexpect.EOF)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    runs = args.runs
    with tempfile.TemporaryDirectory() as warm_state, tempfile.TemporaryDirectory() as cold_state:
        env = {**os.environ, "GRADE_STATE_DIR": warm_state}
        cold_env = {**os.environ, "GRADE_STATE_DIR": cold_state}
        timed([*GRADE, "--solutions"], env)  # fill the warm cache

        def empty_cache() -> None:
            for entry in Path(cold_state).rglob("*"):
                if entry.is_file():
                    entry.unlink()

        def forget_results() -> None:
            for entry in Path(warm_state).rglob("results/*.json"):
                entry.unlink()

        results = {
            "floor: import numpy, pytest, rich": median_time([PYTHON, "-c", "import numpy, pytest, rich"], runs,
                                                             env),
            "floor: import torch": median_time([PYTHON, "-c", "import torch"], runs, env),
            "grade --solutions (warm caches)": median_time([*GRADE, "--solutions"], runs, env),
            "grade --solutions (all graded again)": median_time([*GRADE, "--solutions"], runs, env,
                                                                prepare=forget_results),
            "grade --solutions (empty caches)": median_time([*GRADE, "--solutions"], max(3, runs // 2), cold_env,
                                                            prepare=empty_cache),
            "grade on the stubs": median_time([*GRADE, "--submission", "exercises"], runs, env),
        }
        levels = sandbox_levels(runs, env, forget_results)
    watch = save_to_feedback(runs)
    light, torch = results["floor: import numpy, pytest, rich"], results["floor: import torch"]
    print(f"median of {runs} runs each, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for name, seconds in results.items():
        ratio = ""
        if name.startswith("grade"):
            ratio = f"{seconds / light:5.2f}x numpy+pytest+rich   {seconds / torch:5.2f}x torch"
        print(f"  {name:<36} {seconds:6.3f} s   {ratio}")
    print(f"  {'grade watch: save to feedback':<36} {watch:6.3f} s   (target 0.3 s; 0.15 s with the walls)")
    base = levels.get("process")
    for level, seconds in levels.items():
        extra = f"{(seconds - base) * 1000:+5.0f} ms vs process" if base is not None and level != "process" else ""
        print(f"  {'grade ' + ONE_EXERCISE + ' again, ' + level:<44} {seconds:6.3f} s   {extra}")
    warm = results["grade --solutions (warm caches)"] / light
    print(f"warm full grade / numpy+pytest+rich floor: {warm:.2f} (target 1.5)")


def sandbox_levels(runs: int, env: dict[str, str], forget_results) -> dict[str, float]:
    """Median seconds of one exercise graded again, at each isolation level available here."""
    from autograder.sandbox.isolation import Level, unavailable

    command = [*GRADE, ONE_EXERCISE, "--solutions"]
    timed(command, env)  # its reference values cached
    return {level.label: median_time(command, runs, {**env, "GRADE_ISOLATION": level.label},
                                     prepare=forget_results)
            for level in sorted(Level, reverse=True) if unavailable(level) is None}


if __name__ == "__main__":
    main()
