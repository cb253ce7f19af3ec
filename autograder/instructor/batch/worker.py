"""A grading process of `grade batch`: grades one submission after another.

`autograder.instructor.batch.run` starts a few of these (``--jobs``) and sends each one jobs over a pipe.
Everything that is slow to start is paid once per process, not once per submission: Python,
pytest, the kit, ``import torch`` (the reference computations, first needed by the first
submission that is not all stubs) and ``torch._dynamo`` (imported by torch's first optimizer).
After each such import the process freezes its heap (`gc.freeze`): torch leaves hundreds of
thousands of long-lived objects that every full garbage collection would walk again.

Student code never runs here either: each submission is graded in sandbox workers of its own,
as with ``grade --submission``, with the class folder and the output folder among the folders
its code must never read (``hidden``: at the unprivileged-user level they are made unreadable
to other users; at the stronger levels they are not in its view at all). At the namespaces
level those workers are forked by this process's zygotes (`autograder.sandbox.zygote_client`:
one for the NumPy exercises, one per set of allowed imports), which load NumPy and torch once
for all the submissions; below it, or if a zygote cannot start, each submission's sandbox
starts its own workers, and when the next job is already waiting in the pipe, its worker is
booted before the current submission is graded, so it is ready when its turn comes.

Messages, all plain dicts (the pipe carries only what this process builds itself)::

    → job      {"student", "paths", "folder", "assignment", "seed", "feedback", "hidden"}; None asks
               the process to finish
    ← started  {"started": student}
    ← record   {"student", "seed", "folder", "seconds", "error", "report", "found", "problems",
               "modified", "fingerprints"}

A job names the student's upload (`paths`: a folder, a zip); the process first collects its
files into `folder` (`autograder.instructor.submissions.stage`), so that uploads are read in
parallel; a student with nothing found is recorded without grading. With the report in hand, it
also writes the student's feedback files into the job's ``feedback`` folder
(`autograder.instructor.batch.feedback`) and fingerprints their code
(`autograder.instructor.batch.similarity`), so that neither needs the report again.
"""

from __future__ import annotations

import functools
import gc
import os
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from autograder.i18n import Translator
from autograder.instructor.batch import feedback, similarity
from autograder.kit import Kit
from autograder.sandbox.client import Sandbox
from autograder.sandbox.isolation import SandboxError
from autograder.sandbox.zygote_client import Zygote


class Grader:
    """Grades jobs for one kit, keeping what is expensive to build between them."""

    def __init__(self, kit: Kit, language: str) -> None:
        self.kit = kit
        self.t = Translator(language)
        self.references: dict[int, Any] = {}
        self.booted: dict[str, Any] = {}  # student -> a sandbox started in advance
        self.staged: dict[str, Any] = {}  # student -> what `stage` collected (or the error it raised)
        self.current = None  # the sandbox of the submission being graded
        self.modules = 0  # len(sys.modules) at the last freeze
        self.zygotes: dict[tuple, Zygote] | None = {} if Zygote.available() else None  # None: none used

    @functools.cached_property
    def quiz_bank(self):
        """The course's quiz bank, loaded once per grading process (None: no quiz)."""
        from autograder.quiz.bank import load_bank

        return load_bank(self.kit) if self.kit.course.quiz is not None else None

    def warm_up(self) -> None:
        """Import what every grading needs (torch comes with the first reference value)."""
        import pytest  # noqa: F401

        from autograder.grading import runner  # noqa: F401
        from autograder.quiz import answers as quiz_answers  # noqa: F401
        from autograder.ui import json_report  # noqa: F401

        self.settle()

    def settle(self) -> None:
        """After imports (torch, then torch._dynamo with the first optimizer): collect once,
        then freeze what is left, so later collections skip those long-lived objects."""
        if len(sys.modules) != self.modules:
            gc.collect()
            gc.freeze()
            self.modules = len(sys.modules)

    def stage(self, job: dict):
        """Collect the job's upload into its folder, once; what was collected, or the error."""
        from autograder.instructor.submissions import Submission, stage

        if job["student"] not in self.staged:
            submission = Submission(job["student"], tuple(Path(p) for p in job["paths"]))
            try:
                self.staged[job["student"]] = stage(submission, self.kit.course, Path(job["folder"]),
                                                    assignment=job.get("assignment"))
            except Exception as error:  # noqa: BLE001 - an unreadable upload costs that student only
                self.staged[job["student"]] = error
        return self.staged[job["student"]]

    def boot(self, job: dict) -> None:
        """Collect the files of a job that comes next and start its sandbox worker (unless
        nothing was found or it is all stubs)."""
        from autograder.grading.stubs import not_started

        folder = Path(job["folder"])
        collected = self.stage(job)
        if self.zygotes is not None:
            return  # a zygote forks a worker in a few milliseconds: nothing to boot ahead
        if job["student"] in self.booted or isinstance(collected, Exception) or not collected.found \
                or not_started(self.kit.course, folder) >= set(self.kit.course.ids):
            return
        sandbox = Sandbox.for_kit(self.kit, folder, hidden=job.get("hidden", []))
        sandbox.start()
        self.booted[job["student"]] = sandbox

    def grade(self, job: dict) -> dict:
        """Collect and grade one job; a failure of the kit itself becomes the record's ``error``."""
        records: list[dict] = []
        self.grade_all([job], records.append)
        return records[0]

    def grade_all(self, jobs: Iterable[dict], on_record: Callable[[dict], None]) -> None:
        """Grade `jobs` one after another in one pytest session (`runner.grade_many`), calling
        `on_record` with each job's record as soon as it is complete, before the next job is
        taken from `jobs`."""
        from autograder.grading.runner import grade_many

        def folders():
            for job in jobs:
                started = time.perf_counter()
                record, folder = self.begin(job)
                if folder is not None:
                    yield folder  # graded by the session when it asks for the next one
                on_record(self.finish(job, record, folder, started))

        grade_many(self.kit, folders())

    def begin(self, job: dict):
        """Collect one job's files; its record so far and the `runner.Folder` to grade (None when
        there is nothing to grade)."""
        from autograder.grading.runner import Folder

        collected = self.stage(job)
        self.staged.pop(job["student"], None)
        record: dict[str, Any] = {"student": job["student"], "seed": int(job["seed"]), "folder": job["folder"],
                                  "error": None, "report": None, "fingerprints": [], "found": [],
                                  "problems": [], "modified": None}
        if isinstance(collected, Exception):
            record["error"] = {"kind": "submission", "detail": str(collected)}
            return record, None
        record.update(found=collected.found, problems=[p.to_json() for p in collected.problems],
                      modified=collected.modified)
        if not collected.found:
            shutil.rmtree(job["folder"], ignore_errors=True)
            return record, None
        seed = int(job["seed"])
        sandbox = self.current = self.booted.pop(job["student"], None) or self.sandbox(job)
        return record, Folder(Path(job["folder"]), seed, sandbox, self.reference(seed),
                              make_sandbox=lambda allowed: self.sandbox(job, allowed))

    def finish(self, job: dict, record: dict, folder, started: float) -> dict:
        """Complete a record from its graded folder: the report (with the quiz), the student's
        feedback files and the fingerprints of their code."""
        from autograder.quiz.answers import quiz_for_report
        from autograder.ui.json_report import report_to_json

        try:
            if folder is not None and folder.error is not None:
                raise folder.error
            if folder is not None:
                report = folder.report
                report.quiz = quiz_for_report(self.kit, folder.directory, bank=self.quiz_bank)
                record["report"] = report_to_json(report, self.kit.course, self.t)
                if job.get("feedback"):
                    feedback.write(report, self.kit.course, self.t, job["student"], Path(job["feedback"]))
                record["fingerprints"] = similarity.fingerprints(self.kit.course, folder.directory,
                                                                 self.kit.exercises_dir)
        except Exception as error:  # noqa: BLE001 - one submission never stops the batch
            lines = str(error).splitlines()
            record["error"] = {"kind": "kit", "detail": f"{type(error).__name__}: {lines[0] if lines else ''}"}
        finally:
            if folder is not None:
                folder.sandbox.close()
            self.current = None
        record["seconds"] = round(time.perf_counter() - started, 3)
        self.settle()
        return record

    def sandbox(self, job: dict, allowed: tuple[str, ...] = ()) -> Sandbox:
        """A sandbox for the job's folder (with these allowed imports): served by this process's
        zygote for them where there is one, else one of its own."""
        folder, hidden = Path(job["folder"]), tuple(job.get("hidden", []))
        zygote = self.zygote(allowed, hidden)
        if zygote is not None and zygote.covers(folder) and zygote.tenant is None:
            return Sandbox(folder, zygote=zygote)
        return Sandbox.for_kit(self.kit, folder, hidden=list(hidden), allowed_imports=allowed)

    def zygote(self, allowed: tuple[str, ...], hidden: tuple[str, ...]) -> Zygote | None:
        """The started zygote for these allowed imports and hidden folders (None, for good,
        once one could not start: every submission then gets sandboxes of its own)."""
        if self.zygotes is None:
            return None
        key = (allowed, hidden)
        if key not in self.zygotes:
            zygote = Zygote.for_kit(self.kit, allowed_imports=allowed, hidden=[Path(h) for h in hidden])
            try:
                zygote.start()
            except SandboxError:
                zygote.close()
                self.close_zygotes()
                self.zygotes = None
                return None
            self.zygotes[key] = zygote
        return self.zygotes[key]

    def close_zygotes(self) -> None:
        for zygote in (self.zygotes or {}).values():
            zygote.close()
        if self.zygotes:
            self.zygotes.clear()

    def reference(self, seed: int):
        """The reference values of one seed, in memory (on disk only for the course's own seed,
        as `grade` does). Kept while consecutive jobs share the seed."""
        from autograder.grading.runner import make_reference

        if seed not in self.references:
            self.references = {seed: make_reference(self.kit, seed)}
        return self.references[seed]

    def close(self) -> None:
        for sandbox in [self.current, *self.booted.values()]:
            if sandbox is not None:
                sandbox.close()
        self.booted.clear()
        self.current = None
        self.close_zygotes()

    def stop_workers(self) -> None:
        """Kill every sandbox worker and what it started (safe inside a signal handler)."""
        for sandbox in [self.current, *self.booted.values()]:
            if sandbox is not None and sandbox.zygote is None:
                sandbox.stop()
        for zygote in (self.zygotes or {}).values():
            zygote.stop()  # its namespace, and the workers in it, go with it


def serve(connection: Connection, course_file: str, language: str) -> None:
    """The process's main loop (the target of `multiprocessing.Process`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    grader = Grader(Kit.locate(course_file), language)

    def terminate(signum, frame) -> None:  # the batch stops this process: no orphans left behind
        grader.stop_workers()
        os._exit(1)

    signal.signal(signal.SIGTERM, terminate)
    grader.warm_up()
    try:
        grader.grade_all(incoming(connection, grader), connection.send)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the batch went away
    finally:
        grader.close()


def incoming(connection: Connection, grader: Grader) -> Iterator[dict]:
    """The jobs the batch sends, in order, each announced as started when it is taken; the
    files of the next one waiting in the pipe are collected (and at the levels without a
    zygote its worker is booted) while the current one is graded."""
    queue: deque[dict] = deque()
    finishing = False
    try:
        while queue or not finishing:
            while not finishing and (not queue or connection.poll()):
                job = connection.recv()  # blocks only when there is nothing to grade
                if job is None:
                    finishing = True
                else:
                    queue.append(job)
            if not queue:
                return
            current = queue.popleft()
            connection.send({"started": current["student"]})
            if queue:
                grader.boot(queue[0])
            yield current
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the batch went away: the session ends after the job being graded
