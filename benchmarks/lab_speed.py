"""How long does `grade lab` take? Median wall-clock times of whole command runs.

    python benchmarks/lab_speed.py [--runs 3]

On a private copy of the kit whose exercises are the reference solutions (a student who
finished them), each figure the median of several runs of a fresh process:
- ``grade lab`` with nothing cached (the first run: your exercises are checked, then every
  experiment trains your layers and the reference at the same seeds);
- ``grade lab`` with the exercises' results cached but no lab run (the lab right after
  ``grade``: the usual first run);
- each experiment alone in that state (``grade lab EXPERIMENT``), and the seconds the lab
  spent on it as it reports them (``--json``);
- ``grade lab`` again with everything cached (an unchanged rerun);
- ``grade lab --reference`` with nothing cached.
Nothing here is a test: it measures and prints. Budget (issue 16): each experiment at most
15 s, the whole lab at most 60 s, on a 2-core machine without a GPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.lab.experiments import EXPERIMENTS  # noqa: E402

GRADE = [sys.executable, "-m", "autograder"]


def private_kit(folder: Path) -> Path:
    """A copy of the kit's course files, with the solutions as the student's exercises."""
    for name in ("course.yml", "quiz.yml"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "lessons", folder / "lessons")
    shutil.copytree(ROOT / "solutions", folder / "solutions")
    shutil.copytree(ROOT / "solutions", folder / "exercises")
    return folder / "course.yml"


class Kit:
    def __init__(self, folder: Path) -> None:
        self.course = private_kit(folder)
        self.state = folder / ".grade"
        self.env = {**os.environ, "GRADE_STATE_DIR": str(self.state), "COLUMNS": "80"}
        self.env.pop("GRADE_LANG", None)

    def run(self, *args: str) -> tuple[float, subprocess.CompletedProcess]:
        started = time.perf_counter()
        result = subprocess.run([*GRADE, *args, "--course", str(self.course)], env=self.env, cwd=self.course.parent,
                                capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(f"grade {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
        return elapsed, result

    def forget(self, lab: bool = True, grading: bool = True) -> None:
        if lab:
            shutil.rmtree(self.state / "lab", ignore_errors=True)
        if grading:
            shutil.rmtree(self.state / "cache", ignore_errors=True)


def median(samples: list[float]) -> str:
    return f"{statistics.median(samples):6.1f} s  (min {min(samples):.1f}, max {max(samples):.1f}, {len(samples)} runs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        kit = Kit(Path(folder))
        cold, after_grade, warm, reference = [], [], [], []
        per_experiment: dict[str, list[float]] = {e.id: [] for e in EXPERIMENTS}
        reported: dict[str, list[float]] = {e.id: [] for e in EXPERIMENTS}
        for _ in range(args.runs):
            kit.forget()
            cold.append(kit.run("lab", "--json")[0])
            warm.append(kit.run("lab", "--json")[0])
            kit.forget(grading=False)
            seconds, result = kit.run("lab", "--json")
            after_grade.append(seconds)
            for experiment in EXPERIMENTS:
                kit.forget(grading=False)
                seconds, result = kit.run("lab", experiment.id, "--json")
                per_experiment[experiment.id].append(seconds)
                reported[experiment.id] += [e["seconds"] for e in json.loads(result.stdout)["experiments"]]
            kit.forget()
            reference.append(kit.run("lab", "--reference", "--json")[0])
        print(f"grade lab, nothing cached:               {median(cold)}")
        print(f"grade lab, exercises graded, no lab run: {median(after_grade)}")
        for experiment in EXPERIMENTS:
            print(f"  grade lab {experiment.id:<14}             {median(per_experiment[experiment.id])}"
                  f"   training {statistics.median(reported[experiment.id]):.1f} s")
        print(f"grade lab, unchanged rerun:              {median(warm)}")
        print(f"grade lab --reference, nothing cached:   {median(reference)}")


if __name__ == "__main__":
    main()
