"""How long does `grade batch` take for a large class, and how much memory does it use?

    python benchmarks/batch_scale.py [--students 2000] [--jobs N] [--shards 1] [--keep DIR]

Generates a class of file submissions (a quarter each correct, partial, with a known mistake,
untouched; every fifth one a near-copy of another: renamed variables, other comments), then
runs ``grade batch`` on it as a whole command and prints its wall-clock time, seconds per
submission and the peak memory of the whole process tree (the command, its fork server, its
grading processes, their zygotes and every sandbox worker): the peak of the summed resident
set sizes (RSS, counts pages shared by forked processes once per process), sampled every 0.1 s,
and of the summed proportional set sizes (PSS, shares them out: what the tree really holds),
sampled every 2 s: for PSS the kernel walks every page of every process, about 45 ms of
processor time per sample of the 20 processes of a 2-core run, so sampling it every 0.1 s took
about a third of a core from the command it measures. It also prints the
processor time the tree used (each live process's own, plus what the processes it reaped used),
which a busy machine does not inflate as it does the wall time, and the processor time the
sampling took (not part of the tree's).

With ``--shards N`` the class is graded as N ``grade batch --shard K/N`` commands one after the
other (as N jobs of a job runner would, here on the same machine), then joined with ``grade
batch merge``; the time printed is their sum. Needs psutil (the instructor extra brings it).
A script, not a test: it measures and prints.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
GRADE = Path(sys.executable).with_name("grade")
MISTAKES = [
    ("batchnorm.py", "x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps"),
    ("optim.py", "grad + weight_decay * param if weight_decay else grad", "grad"),
    ("dropout.py", "x * keep / (1.0 - p)", "x * keep * (1.0 - p)"),
]
RENAMES = [("inv_std", "istd"), ("x_hat", "xn"), ("keep", "kept_mask")]


def near_copy(source: str, index: int) -> str:
    """The same code as `source`, disguised: variables renamed, a comment added, blank lines."""
    for old, new in RENAMES:
        source = re.sub(rf"\b{old}\b", f"{new}{index}", source)
    return f"# my own work, honestly ({index})\n\n" + source.replace("\n\n\n", "\n\n\n\n")


def make_class(folder: Path, students: int) -> dict[str, int]:
    solutions, stubs = ROOT / "solutions", ROOT / "exercises"
    counts = {"correct": 0, "partial": 0, "mistake": 0, "untouched": 0, "near-copies": 0}
    for index in range(students):
        kind = ("correct", "partial", "mistake", "untouched")[index % 4]
        counts[kind] += 1
        student = folder / f"s{index:05d}"
        student.mkdir(parents=True)
        for path in sorted(solutions.glob("*.py")):
            source = path.read_text()
            if kind == "untouched" or (kind == "partial" and path.name in ("spatial_batchnorm.py", "dropout.py")):
                source = (stubs / path.name).read_text()
            elif kind == "mistake":
                file, old, new = MISTAKES[(index // 4) % len(MISTAKES)]
                source = source.replace(old, new) if file == path.name else source
            if index % 5 == 4 and kind != "untouched":
                source = near_copy(source, index)
            (student / path.name).write_text(source)
        counts["near-copies"] += index % 5 == 4 and kind != "untouched"
    return counts


PSS_EVERY = 20
"""Samples between two PSS samples (see the module docstring)."""


def tree_sample(process: psutil.Process, pss: bool = True) -> tuple[int, int, float]:
    """Summed RSS and PSS (bytes; PSS 0 unless `pss`) of `process` and all its descendants,
    and the processor seconds the tree has used: each live member's own, plus those of the
    descendants it has reaped (every process of the tree reaps its own children)."""
    rss = pss_sum = 0
    cpu = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            with member.oneshot():
                info = member.memory_full_info() if pss else member.memory_info()
                times = member.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += info.rss
        pss_sum += getattr(info, "pss", info.rss) if pss else 0
        cpu += times.user + times.system + times.children_user + times.children_system
    return rss, pss_sum, cpu


def measured(command: list[str], env: dict[str, str]) -> tuple[float, int, int, float]:
    """Run `command`; its wall-clock seconds, the peak RSS and PSS of its process tree and the
    processor seconds of the tree (at the last sample, 0.1 s before the end at most)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watched = psutil.Process(process.pid)
    peak_rss = peak_pss = samples = 0
    cpu = 0.0
    while process.poll() is None:
        rss, pss, used = tree_sample(watched, pss=samples % PSS_EVERY == 0)
        peak_rss, peak_pss, cpu = max(peak_rss, rss), max(peak_pss, pss), max(cpu, used)
        samples += 1
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    stdout, stderr = process.communicate()
    if process.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{stdout[-2000:]}\n{stderr[-2000:]}")
    return seconds, peak_rss, peak_pss, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--jobs", type=int, help="grade batch --jobs (default: every core)")
    parser.add_argument("--shards", type=int, default=1, help="grade as N shards, then merge")
    parser.add_argument("--keep", metavar="DIR", help="build the class in DIR and keep it")
    args = parser.parse_args()
    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="batch-scale-"))
    env = {k: v for k, v in os.environ.items() if k != "GRADE_LANG"}
    env.update({"GRADE_STATE_DIR": str(scratch / "state"), "COLUMNS": "100"})
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    try:
        klass = scratch / "class"
        shutil.rmtree(klass, ignore_errors=True)
        counts = make_class(klass, args.students)
        load_before = os.getloadavg()
        started_cpu = sum(os.times()[:2])
        runs = []
        if args.shards == 1:
            output = scratch / "grades"
            shutil.rmtree(output, ignore_errors=True)
            runs.append(measured([str(GRADE), "batch", str(klass), "--output", str(output), *jobs], env))
        else:
            outputs = []
            for shard in range(1, args.shards + 1):
                output = scratch / f"grades-{shard}"
                shutil.rmtree(output, ignore_errors=True)
                outputs.append(str(output))
                runs.append(measured([str(GRADE), "batch", str(klass), "--output", str(output),
                                      "--shard", f"{shard}/{args.shards}", *jobs], env))
            merged = scratch / "grades"
            shutil.rmtree(merged, ignore_errors=True)
            runs.append(measured([str(GRADE), "batch", "merge", *outputs, "--output", str(merged)], env))
        load_after = os.getloadavg()
        sampling_cpu = sum(os.times()[:2]) - started_cpu
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    seconds = sum(run[0] for run in runs)
    rss, pss = max(run[1] for run in runs), max(run[2] for run in runs)
    kinds = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    print(f"{args.students} file submissions ({kinds}); {os.cpu_count()} cores; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    label = "grade batch" if args.shards == 1 else f"{args.shards} shards + merge"
    print(f"  {label:<22} {seconds:7.1f} s   {seconds / args.students:6.3f} s per submission"
          f"   (--jobs {args.jobs or 'default'})")
    print(f"  peak memory of the process tree: {rss / 2**20:,.0f} MiB RSS summed, {pss / 2**20:,.0f} MiB PSS")
    cpu = sum(run[3] for run in runs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(f"  processor time of the process tree: {cpu:,.1f} s, {cpu / args.students:.3f} s per submission"
          f" ({cpu / cores:,.1f} s spread over {cores} cores)")
    print(f"  processor time of this script's sampling: {sampling_cpu:,.1f} s")


if __name__ == "__main__":
    main()
