"""How much faster is `grade batch` than `nbgrader autograde` on the same class?

    python benchmarks/batch_vs_nbgrader.py [--students 24] [--jobs N] [--repeat 1] [--keep DIR]

In one run: export the course with ``grade export nbgrader``, release it with ``nbgrader
generate_assignment``, generate a class of notebook submissions (a mix of correct, partial,
untouched and known-mistake ones, some with quiz answers) under ``submitted/``, then time

- ``nbgrader autograde`` on that course (one kernel per notebook, one submission at a time),
- ``grade batch submitted/`` on the very same folder (``--jobs``, default: every core),

each as a whole command, wall clock, and print seconds per submission for both and their
ratio. Then (not timed) the class is graded again with ``--seed`` set to the course's seed,
the one nbgrader's hidden tests use, and both gradebooks are compared student by student. Needs the instructor extra
(``pip install -e '.[instructor]'``). A script, not a test: it measures and prints.
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
BIN = Path(sys.executable).parent
ASSIGNMENT = "ps1"
MISTAKES = {  # known mistakes, each in one answer cell (the notebook of that file)
    "batchnorm": [("x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps"),
                  ("np.sqrt(x.var(axis=0) + eps)", "(np.sqrt(x.var(axis=0)) + eps)"),
                  ("np.sqrt(running_var + eps)", "np.sqrt(running_var)")],
    "optim": [("grad + weight_decay * param if weight_decay else grad", "grad")],
    "dropout": [("x * keep / (1.0 - p)", "x * keep * (1.0 - p)")],
}


def environment(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GRADE_LANG"}
    env.update({"PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}", "GRADE_STATE_DIR": str(state)})
    return env


def run(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Run a command to the end; return its wall-clock seconds (stop the script if it fails)."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return seconds


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def answer_cells(notebook: dict) -> list[dict]:
    return [c for c in notebook["cells"] if (c.get("metadata", {}).get("nbgrader") or {}).get("solution")]


def source_of(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def make_class(course: Path, students: int) -> dict[str, str]:
    """Notebook submissions under course/submitted/: student -> what kind it is."""
    source = {p.stem: load(p) for p in sorted((course / "source" / ASSIGNMENT).glob("*.ipynb"))}
    release = {p.stem: p for p in sorted((course / "release" / ASSIGNMENT).glob("*.ipynb"))}
    mistakes = [(stem, change) for stem in source for topic, changes in MISTAKES.items()
                if stem.split("_", 1)[-1] == topic for change in changes]
    plan = {}
    for index in range(students):
        kind = ("correct", "partial", "mistake", "untouched")[index % 4]
        student = f"student{index + 1:02d}"
        plan[student] = kind
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for position, (stem, path) in enumerate(release.items()):
            notebook = load(path)
            solve = kind in ("correct", "mistake") or (kind == "partial" and position < 2)
            if kind == "mistake" and stem.endswith("quiz"):
                solve = False
            if solve:  # the answer cells of the source notebook (the solutions, the quiz key)
                for cell, solved in zip(answer_cells(notebook), answer_cells(source[stem])):
                    cell["source"] = source_of(solved)
            if kind == "mistake":
                target, (old, new) = mistakes[(index // 4) % len(mistakes)]
                if target == stem:
                    cells = [c for c in answer_cells(notebook) if old in source_of(c)]
                    assert len(cells) == 1, f"{old!r} should be in one answer cell of {stem}"
                    cells[0]["source"] = source_of(cells[0]).replace(old, new)
            (folder / path.name).write_text(json.dumps(notebook), encoding="utf-8")
    return plan


def course_seed() -> int:
    from autograder.kit import Kit

    return Kit.locate(ROOT / "course.yml").course.policy.seed


def nbgrader_totals(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {s.student.id: round(s.score, 6) for s in gradebook.assignment_submissions(ASSIGNMENT)}


def batch_totals(output: Path) -> dict[str, float]:
    return {e["student"]: round(e["score"] or 0.0, 6) for e in load(output / "gradebook.json")["students"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=24)
    parser.add_argument("--jobs", type=int, default=None, help="grade batch --jobs (default: every core)")
    parser.add_argument("--repeat", type=int, default=1, help="time each tool this many times (median)")
    parser.add_argument("--keep", metavar="DIR", help="build the course in DIR and keep it")
    args = parser.parse_args()
    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="batch-vs-nbgrader-"))
    course = scratch / "course"
    if course.exists():
        shutil.rmtree(course)
    env = environment(scratch / "state")
    try:
        run([str(BIN / "grade"), "export", "nbgrader", str(course), "--assignment", ASSIGNMENT], ROOT, env)
        run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT], course, env)
        plan = make_class(course, args.students)
        load_before = os.getloadavg()
        nbgrader_times, batch_times = [], []
        for _ in range(args.repeat):
            if (course / "autograded").exists():  # a repeat: grade everyone again
                shutil.rmtree(course / "autograded")
            nbgrader_times.append(run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT], course, env))
            output = scratch / "grades"
            if output.exists():
                shutil.rmtree(output)
            jobs = ["--jobs", str(args.jobs)] if args.jobs else []
            batch_times.append(run([str(BIN / "grade"), "batch", str(course / "submitted"), "--output", str(output),
                                    *jobs], ROOT, env))
        load_after = os.getloadavg()
        # Not timed: the same class at the course's seed, the one nbgrader's hidden tests use.
        run([str(BIN / "grade"), "batch", str(course / "submitted"), "--output", str(scratch / "grades-course-seed"),
             "--seed", str(course_seed())], ROOT, env)
        nb_totals = nbgrader_totals(course)
        batch, batch_course_seed = batch_totals(scratch / "grades"), batch_totals(scratch / "grades-course-seed")
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    students = len(plan)
    kinds = ", ".join(f"{sum(k == kind for k in plan.values())} {kind}"
                      for kind in ("correct", "partial", "mistake", "untouched"))
    nb = statistics.median(nbgrader_times) / students
    gb = statistics.median(batch_times) / students
    def agreeing(totals: dict[str, float]) -> int:
        return sum(abs(nb_totals.get(s, -1) - totals.get(s, -2)) < 1e-6 for s in plan)

    print(f"{students} notebook submissions ({kinds}); {os.cpu_count()} cores; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; "
          f"{'median of ' + str(args.repeat) + ' runs' if args.repeat > 1 else 'one run each'}")
    print(f"  nbgrader autograde   {statistics.median(nbgrader_times):7.1f} s   {nb:6.2f} s per submission")
    print(f"  grade batch          {statistics.median(batch_times):7.1f} s   {gb:6.2f} s per submission"
          f"   (--jobs {args.jobs or 'default'})")
    print(f"  grade batch is {nb / gb:.1f}x faster per submission")
    print(f"  same total as nbgrader: {agreeing(batch_course_seed)} of {students} students with the course's seed "
          f"(nbgrader's), {agreeing(batch)} of {students} with each student's own random seed")


if __name__ == "__main__":
    main()
