"""`grade batch`: grade every submission of a class, in parallel, resumably.

The batch finds the students (`autograder.instructor.submissions`: folders, zips, the roster),
gives each a fresh random seed, and hands them to a few grading processes
(`autograder.instructor.batch.worker`, ``--jobs`` of them), each of which collects a student's
files into ``OUT/submissions/<student>/`` (the one search rule, shared with Gradescope) and
grades them, many submissions in a row, every one in its own sandbox worker. Each
finished submission is written at once, atomically, to ``OUT/results/<student>.json``; a later
run skips the students whose result is there, complete and made from the same files and the
same course (``force`` grades them again), so an interrupted batch resumes where it stopped.

A submission can cost a sandbox worker (handled by the sandbox), or, when something goes
wrong in the kit itself, its grading process: the process is replaced, the submission tried
once more and then recorded with an ``error``, and the others go on. A submission that takes
longer than ``timeout`` in all is recorded with an error the same way. An error says what
went wrong, ``{"kind", "detail"}``: ``submission`` (its notebooks cannot be read), ``kit``
(grading raised), ``process`` (the grading process died; detail: its exit code) or
``timeout``. A student with nothing found is recorded without grading (``not_submitted``).

A record (``OUT/results/<student>.json``; `RECORD_SCHEMA`)::

    {"schema", "student", "sources": names in DIR, "folder" (what was graded), "digest",
     "course", "seed", "language", "assignment", "graded_at", "seconds",
     "found": names used, "problems": [{"kind", "file", "expected"}], "modified": epoch | null,
     "status": "graded" | "not_started" | "not_submitted" | "error",
     "error": null | {"kind", "detail"},
     "report": the `grade --json` report of that folder with that seed | null,
     "fingerprints": sorted hashes of the student's own code (`similarity`)}
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import multiprocessing
import os
import random
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from autograder.grading.stubs import not_started
from autograder.instructor.submissions import Submission, digest, find_submissions
from autograder.kit import Kit
from autograder.state import atomic_write, timestamp

RECORD_SCHEMA = 2
RESULTS = "results"
STAGED = "submissions"
FEEDBACK = "feedback"
JOB_KEYS = ("student", "paths", "folder", "assignment", "seed", "feedback")
"""What a grading process is sent of a job (`autograder.instructor.batch.worker`)."""
RECORD_KEYS = ("folder", "seconds", "error", "report", "found", "problems", "modified", "fingerprints")
"""What it sends back into the record."""
SEED_RANGE = 2**31
ATTEMPTS = 2  # a submission whose grading process dies is tried once more

OnRecord = Callable[[dict | None, int, int], None]


@dataclass
class Settings:
    directory: Path
    output: Path
    jobs: int
    seed: int | None = None
    """One seed for every student; None: a fresh random seed per student."""
    force: bool = False
    language: str = "en"
    assignment: str | None = None
    timeout: float = 900.0
    """Seconds one submission may take in all before its grading process is stopped."""
    roster: list[str] | None = None
    """Student ids that get a row even with nothing in the class folder."""
    only: set[str] | None = None
    """Grade (again) only these students; the others' records are kept as they are."""
    shard: tuple[int, int] | None = None
    """(K, N): grade only the students of shard K of N (`in_shard`)."""


@dataclass
class Outcome:
    records: list[dict]
    """Every student's record (resumed and new), sorted by student."""
    total: int = 0
    """Students in this run (resumed and to grade)."""
    graded: int = 0
    resumed: int = 0
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def errors(self) -> list[dict]:
        return [r for r in self.records if r.get("error")]


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


BATCH_DIR = Path(__file__).resolve().parent  # the batch wing changes no grade


def course_digest(kit: Kit) -> str:
    """What makes old results stale: the course file, the quiz bank and the kit's own code and
    messages (a fixed check, a changed tolerance...)."""
    from autograder.kit import PACKAGE_DIR

    files = [kit.root / "course.yml"]  # (its deadline and visibility change no grade, but are rare)
    if kit.course.quiz is not None:
        files.append(kit.root / kit.course.quiz.bank)
    files += sorted(p for p in PACKAGE_DIR.rglob("*") if p.suffix in (".py", ".yml")
                    and "__pycache__" not in p.parts and BATCH_DIR not in p.parents)
    hasher = hashlib.sha256()
    for path in files:
        hasher.update(path.read_bytes() if path.is_file() else b"-")
    return hasher.hexdigest()[:32]


def run(kit: Kit, settings: Settings, on_record: OnRecord | None = None, *,
        target: Callable | None = None) -> Outcome:
    """Grade the class; `on_record(record, done, total)` after each submission (and once with
    None before the first). Ctrl-C stops the grading processes and returns what is finished
    (``interrupted``)."""
    started = time.perf_counter()
    results_dir = settings.output / RESULTS
    settings.output.mkdir(parents=True, exist_ok=True)
    with _exclusive(settings.output):
        return _run(kit, settings, on_record, target, started, results_dir)


def _run(kit: Kit, settings: Settings, on_record: OnRecord | None, target: Callable | None, started: float,
         results_dir: Path) -> Outcome:
    submissions = [s for s in find_submissions(settings.directory, exclude=[settings.output], roster=settings.roster)
                   if settings.shard is None or in_shard(s.student, *settings.shard)]
    course = course_digest(kit)
    done: dict[str, dict] = {}
    todo: list[tuple[Submission, str]] = []
    for submission in submissions:
        fingerprint = digest(submission.sources)
        old = load_record(results_dir / f"{submission.student}.json")
        if settings.only is not None and submission.student not in settings.only:
            if old is not None:
                done[submission.student] = old  # not asked for: kept as it is
        elif old and not settings.force and settings.only is None and reusable(old, fingerprint, course, settings):
            done[submission.student] = old
        else:
            todo.append((submission, fingerprint))
    total = len(done) + len(todo)
    outcome = Outcome([], total=total, resumed=len(done))
    pool = _Pool(kit, settings, target, start=bool(todo))  # imports torch while the uploads are collected
    if on_record is not None:
        on_record(None, len(done), total)
    seeds = _seeds(len(todo), settings.seed, {r.get("seed") for r in done.values()})

    def finish(record: dict) -> None:
        record["status"] = status_of(record)
        atomic_write(results_dir / f"{record['student']}.json",
                     json.dumps(record, ensure_ascii=False, indent=1).encode())
        done[record["student"]] = record
        outcome.graded += 1
        if on_record is not None:
            on_record(record, len(done), total)

    try:
        jobs = []
        for (submission, fingerprint), seed in zip(todo, seeds):
            jobs.append({"schema": RECORD_SCHEMA, "student": submission.student,
                         "sources": [p.name for p in submission.sources],
                         "paths": [str(p) for p in submission.sources],
                         "folder": str(settings.output / STAGED / submission.student),
                         "digest": fingerprint, "course": course, "seed": seed, "language": settings.language,
                         "assignment": settings.assignment, "feedback": str(settings.output / FEEDBACK)})
        # Longest first, so no process is left alone with a long one at the end: code to run
        # before untouched stubs, which cost almost nothing (a guess from the top of each folder).
        jobs.sort(key=lambda job: len(not_started(kit.course, Path(job["paths"][0]))) if job["paths"] else 0)
        pool.grade(jobs, finish)
    except KeyboardInterrupt:
        outcome.interrupted = True
    outcome.records = [done[s] for s in sorted(done)]
    outcome.seconds = time.perf_counter() - started
    return outcome


def in_shard(student: str, index: int, count: int) -> bool:
    """Whether `student` belongs to shard `index` of `count` (1-based): a hash of the id, so a
    student's shard never depends on who else is in the class."""
    return int(hashlib.sha256(student.encode()).hexdigest()[:8], 16) % count == index - 1


def status_of(record: dict) -> str:
    """``error`` (could not be graded), ``not_submitted`` (nothing found), ``not_started``
    (only untouched stubs, no quiz answer) or ``graded``."""
    report = record.get("report")
    if record.get("error"):
        return "error"
    if report is None:
        return "not_submitted"
    quiz = report.get("quiz") or {}
    if all(e["status"] == "not_started" for e in report["exercises"]) and not quiz.get("answered"):
        return "not_started"
    return "graded"


class Busy(Exception):
    """Another batch is writing to the same output folder."""


@contextlib.contextmanager
def _exclusive(output: Path) -> Iterator[None]:
    """Hold ``OUT/.lock`` for the run: two batches writing one gradebook would mix results."""
    with open(output / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(str(output)) from None
        yield


def reusable(record: dict, fingerprint: str, course: str, settings: Settings) -> bool:
    """A finished record still stands: same files, same kit, the language and assignment asked
    for, and the seed asked for (any recorded seed when each student gets a fresh one)."""
    return (bool(record.get("report")) and record.get("digest") == fingerprint and record.get("course") == course
            and record.get("language", "en") == settings.language
            and record.get("assignment") == settings.assignment
            and (settings.seed is None or record.get("seed") == settings.seed))


def load_record(path: Path) -> dict | None:
    """A finished record, or None when it is missing, partial or from another format."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("schema") != RECORD_SCHEMA:
        return None
    if record.get("student") != path.stem or not isinstance(record.get("seed"), int):
        return None
    report = record.get("report")
    if report is not None and not (isinstance(report, dict) and isinstance(report.get("exercises"), list)):
        return None
    return record


def _seeds(count: int, fixed: int | None, taken: set) -> list[int]:
    if fixed is not None:
        return [fixed] * count
    chooser = random.SystemRandom()
    seeds: list[int] = []
    while len(seeds) < count:
        seed = chooser.randrange(SEED_RANGE)
        if seed not in taken:
            taken.add(seed)
            seeds.append(seed)
    return seeds


# -- the grading processes ------------------------------------------------------------------------


@dataclass
class _Process:
    process: multiprocessing.Process
    connection: object
    jobs: deque = field(default_factory=deque)
    since: float | None = None  # when its current job started

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        try:
            self.connection.send(None)
        except (OSError, ValueError):
            pass


class _Pool:
    """Up to ``jobs`` grading processes, forked from a fork server that has imported torch and
    the kit once (`autograder.instructor.batch.preload`). Each gets one job, plus the next one ahead while
    the queue is long (it boots that submission's worker early); finished records come back on
    its pipe."""

    def __init__(self, kit: Kit, settings: Settings, target: Callable | None, *, start: bool) -> None:
        from multiprocessing import forkserver

        from autograder.instructor.batch.worker import serve

        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["autograder.instructor.batch.preload"])
        if start:
            with _sigint_ignored():  # the fork server, and every process it forks, ignore Ctrl-C
                forkserver.ensure_running()
        self.course_file = str(kit.root / "course.yml")
        self.settings = settings
        self.target = target or serve
        self.processes: list[_Process] = []

    def grade(self, jobs: list[dict], finish: Callable[[dict], None]) -> None:
        pending = deque(jobs)
        attempts: Counter = Counter()
        size = min(max(1, self.settings.jobs), len(pending))
        self.processes = [self._start() for _ in range(size)]
        try:
            while pending or any(p.jobs for p in self.processes):
                self._assign(pending)
                watched = [p.connection for p in self.processes] + [p.process.sentinel for p in self.processes]
                wait(watched, timeout=1.0)
                for process in list(self.processes):
                    self._collect(process, finish)
                    problem = self._problem(process)
                    if problem is not None:
                        self._lost(process, problem, pending, attempts, finish)
        except BaseException:
            for process in self.processes:
                _end(process.process)
            raise
        finally:
            self._shutdown()

    def _start(self) -> _Process:
        parent, child = self.context.Pipe()
        process = self.context.Process(target=self.target, args=(child, self.course_file, self.settings.language),
                                       daemon=True, name="grade-batch")
        with _sigint_ignored():
            process.start()
        child.close()
        return _Process(process, parent)

    def _assign(self, pending: deque) -> None:
        for process in self.processes:
            if pending and not process.jobs:
                self._send(process, pending.popleft())
        for process in self.processes:  # one ahead, while no process would go idle for it
            if len(process.jobs) == 1 and len(pending) > len(self.processes):
                self._send(process, pending.popleft())

    def _send(self, process: _Process, job: dict) -> None:
        process.jobs.append(job)
        try:
            hidden = [str(self.settings.directory), str(self.settings.output)]  # from every student's code
            process.connection.send({**{key: job[key] for key in JOB_KEYS}, "hidden": hidden})
        except (OSError, ValueError):
            pass  # it died: noticed by _problem

    def _collect(self, process: _Process, finish: Callable[[dict], None]) -> None:
        try:
            while process.connection.poll():
                message = process.connection.recv()
                if "started" in message:
                    process.since = time.monotonic()
                elif process.jobs and message.get("student") == process.jobs[0]["student"]:
                    job = process.jobs.popleft()
                    process.since = None
                    finish({**{k: v for k, v in job.items() if k != "paths"}, "graded_at": timestamp(),
                            **{key: message[key] for key in RECORD_KEYS}})
        except (EOFError, OSError):
            pass  # it died: noticed by _problem

    def _problem(self, process: _Process) -> dict | None:
        if not process.alive():
            return {"kind": "process", "detail": str(process.process.exitcode)}
        if process.since is not None and time.monotonic() - process.since > self.settings.timeout:
            return {"kind": "timeout", "detail": f"{self.settings.timeout:g}"}
        return None

    def _lost(self, process: _Process, problem: dict, pending: deque, attempts: Counter,
              finish: Callable[[dict], None]) -> None:
        """A grading process died or overran: its current submission is tried again (or
        recorded as failed), the ones sent ahead go back to the queue, and a new process
        takes its place while there is work left."""
        _end(process.process)
        process.connection.close()
        if process.jobs:
            current = process.jobs.popleft()
            pending.extendleft(reversed(process.jobs))
            attempts[current["student"]] += 1
            if problem["kind"] == "timeout" or attempts[current["student"]] >= ATTEMPTS:
                finish({**{k: v for k, v in current.items() if k != "paths"}, "graded_at": timestamp(),
                        "seconds": 0.0, "error": problem, "report": None})
            else:
                pending.appendleft(current)
        index = self.processes.index(process)
        if pending:
            self.processes[index] = self._start()
        else:
            del self.processes[index]

    def _shutdown(self) -> None:
        for process in self.processes:
            process.stop()
        deadline = time.monotonic() + 5
        for process in self.processes:
            process.process.join(max(0.0, deadline - time.monotonic()))
            _end(process.process)
        self.processes = []


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Start processes with Ctrl-C ignored: the terminal sends SIGINT to every process of the
    command, and stopping the grading processes is the batch's job (they would only print
    tracebacks)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _end(process: multiprocessing.Process) -> None:
    """Stop a grading process: SIGTERM first, so it kills its sandbox workers and whatever
    student code started, then SIGKILL if it lingers."""
    if process.is_alive():
        process.terminate()
        process.join(3)
    if process.is_alive():
        process.kill()
        process.join(5)
