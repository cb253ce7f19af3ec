"""How fast does `grade` feel? Median wall-clock times of whole command runs.

    python benchmarks/grade_speed.py [--runs 7]

Times, each the median of several runs of a fresh process:
- the floors: ``python -c "import numpy, pytest, rich"`` and ``python -c "import torch"``;
- ``grade --solutions`` with a warm reference cache (the everyday case) and with an empty one
  (the first run after a clone: torch is imported once to build the cache);
- ``grade`` on the untouched stubs.
and the ratios to the floors. Nothing here is a test: it measures and prints.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GRADE = [PYTHON, "-m", "autograder"]


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
            for entry in Path(cold_state).rglob("*.ref"):
                entry.unlink()

        results = {
            "floor: import numpy, pytest, rich": median_time([PYTHON, "-c", "import numpy, pytest, rich"], runs, env),
            "floor: import torch": median_time([PYTHON, "-c", "import torch"], runs, env),
            "grade --solutions (warm cache)": median_time([*GRADE, "--solutions"], runs, env),
            "grade --solutions (empty cache)": median_time([*GRADE, "--solutions"], max(3, runs // 2), cold_env,
                                                           prepare=empty_cache),
            "grade on the stubs": median_time([*GRADE, "--submission", "exercises"], runs, env),
        }
    light, torch = results["floor: import numpy, pytest, rich"], results["floor: import torch"]
    print(f"median of {runs} runs each, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for name, seconds in results.items():
        ratio = ""
        if name.startswith("grade"):
            ratio = f"{seconds / light:5.2f}x numpy+pytest+rich   {seconds / torch:5.2f}x torch"
        print(f"  {name:<36} {seconds:6.3f} s   {ratio}")


if __name__ == "__main__":
    main()
