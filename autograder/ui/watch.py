"""`grade watch`: re-grade on every save and show the exercise being worked on.

The screen shows a progress bar, the current exercise with every check and its first problem,
and the keys: h hint · n next · l list · r re-grade · q quit. When a file in the exercises folder
is saved, the current exercise (with what it requires) is graded first and shown at once; the
other exercises are graded right after to update the progress bar. A spare worker process is
always booted in advance, so a save pays only for the student's import and the checks.
"""

from __future__ import annotations

import os
import queue
import select
import sys
import termios
import threading
import time
import tty
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console, Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from autograder.grading.reference import Reference
from autograder.grading.results import ExerciseResult, GradeReport
from autograder.grading.runner import grade, make_reference, result_cache
from autograder.i18n import Translator
from autograder.kit import Kit
from autograder.sandbox.client import Sandbox
from autograder.state import State
from autograder.ui.hints import HintView, reveal_next
from autograder.ui.report import ExerciseView, ProgressView


class Session:
    """What watch mode knows: the latest result of every exercise and the one on screen."""

    def __init__(self, kit: Kit, t: Translator, console: Console) -> None:
        self.kit, self.t, self.console = kit, t, console
        self.directory = kit.exercises_dir.resolve()
        self.reference: Reference = make_reference(kit, kit.course.policy.seed)
        self.state = State.load(kit.state_dir)
        self.results: dict[str, ExerciseResult] = {}
        self.current = kit.course.ids[0]
        self.overlay = None  # a hint or the list, shown under the exercise until the next key
        self.spare: Sandbox | None = None
        self.graded_in = 0.0

    # grading

    def grade(self, exercises: list[str], advice: bool = False, *, more_to_come: bool = False) -> None:
        """Grade `exercises` (and what they require) with the spare worker; then boot the next
        one, unless `more_to_come` (the files did not change: the same worker grades on)."""
        started = time.perf_counter()
        sandbox = self.spare or Sandbox.for_kit(self.kit, self.directory)
        self.spare = None
        try:
            cache = result_cache(self.kit, self.directory, self.kit.course.policy.seed, advice)
            report = grade(self.kit, self.directory, exercises=self.kit.course.with_requirements(exercises),
                           sandbox=sandbox, reference=self.reference, advice=advice, cache=cache)
        finally:
            if more_to_come:
                self.spare = sandbox
            else:
                sandbox.close()
                self.spare = Sandbox.for_kit(self.kit, self.directory)
                self.spare.start()
        self.graded_in = time.perf_counter() - started
        self.results.update({result.id: result for result in report.exercises})
        self.state.record_progress(report.exercises)
        self.state.try_save()

    def regrade(self) -> None:
        """After a save: the current exercise first (shown at once), then everything again with
        the timing advice (slower: it runs a large batch), to update the progress bar and tips."""
        self.grade([self.current], more_to_come=True)
        self.render()
        seconds = self.graded_in
        self.grade(self.kit.course.ids, advice=True)
        self.graded_in = seconds  # the footer reports the save-to-feedback time
        self.render()

    def first_not_passing(self, after: str | None = None) -> str:
        ids = self.kit.course.ids
        start = ids.index(after) + 1 if after else 0
        for exercise_id in ids[start:] + ids[:start]:
            result = self.results.get(exercise_id)
            if result is None or result.status != "passed":
                return exercise_id
        return ids[-1]

    # keys

    def on_key(self, key: str) -> bool:
        """Handle one key; False means quit."""
        self.overlay = None
        if key == "q":
            return False
        if key == "h":
            reveal = reveal_next(self.state, self.kit.course.exercise(self.current), self.results.get(self.current))
            self.state.try_save()
            self.overlay = HintView(reveal, self.t, more="watch.hint_more")
        elif key == "n":
            ids = self.kit.course.ids
            self.current = ids[(ids.index(self.current) + 1) % len(ids)]
        elif key == "l":
            quiz = State.load(self.kit.state_dir).data.get("quiz")  # the quiz may run in another terminal
            self.overlay = ProgressView(self.kit.course, self.state.progress, self.state.hints, self.t, quiz=quiz)
        elif key == "r":
            self.regrade()
            return True
        self.render()
        return True

    # screen

    def render(self) -> None:
        self.console.clear()
        self.console.print(self.screen())

    def screen(self) -> Group:
        t, course = self.t, self.kit.course
        passed = sum(r.status == "passed" for r in self.results.values())
        score = sum(r.score for r in self.results.values())
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=len(course.ids), completed=passed, width=30),
                    Text(t("watch.progress", passed=passed, total=len(course.ids), score=f"{score:g}",
                           max=f"{course.total_points:g}")))
        parts: list = [Text(t.text(course.title), style="bold"), bar]
        exercise = course.exercise(self.current)
        heading = t("watch.current", exercise=exercise.id, title=t.text(exercise.title))
        if exercise.file:
            heading += "  " + t("watch.file", file=f"{course.exercises_dir}/{exercise.file}")
        parts.append(Text(heading, style="bold cyan"))
        result = self.results.get(self.current)
        if result is not None:
            parts.append(ExerciseView(result, course, t, standalone=True))
            if result.status == "not_started" and exercise.file:
                parts.append(Text(t("watch.start", functions=", ".join(exercise.functions),
                                    file=f"{course.exercises_dir}/{exercise.file}"), style="cyan"))
            elif result.status == "passed":
                parts.append(Text(t("watch.passed", exercise=exercise.id), style="bold green"))
        if self.overlay is not None:
            parts.append(self.overlay)
        footer = Table.grid(expand=True)
        footer.add_column(no_wrap=True)
        footer.add_column(justify="right", no_wrap=True)
        footer.add_row(Text(t("watch.keys"), style="bold"), Text(t("watch.status", seconds=f"{self.graded_in:.2f}"), style="dim"))
        parts.append(footer)
        return Group(*parts)

    def close(self) -> None:
        if self.spare is not None:
            self.spare.close()


def watch_files(directory: Path, changes: queue.Queue[set], stop: threading.Event) -> None:
    """Put each batch of saved Python files into `changes` (runs in a thread)."""
    import watchfiles

    for batch in watchfiles.watch(directory, watch_filter=watchfiles.PythonFilter(), debounce=400, step=30,
                                  stop_event=stop, raise_interrupt=False):
        changes.put(batch)


@contextmanager
def keys_without_enter():
    """Read single key presses (cbreak mode) while the terminal is ours; no-op otherwise."""
    if not sys.stdin.isatty():
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def run(kit: Kit, t: Translator, console: Console) -> int:
    session = Session(kit, t, console)
    changes: queue.Queue = queue.Queue()
    stop = threading.Event()
    watcher = threading.Thread(target=watch_files, args=(session.directory, changes, stop), daemon=True)
    watcher.start()
    try:
        with keys_without_enter():
            console.print(Text(t("watch.starting"), style="dim"))
            session.grade(kit.course.ids)
            session.current = session.first_not_passing()
            session.render()
            threading.Thread(target=_preload_torch, daemon=True).start()
            while True:
                if _pending(changes):
                    session.regrade()
                    continue
                key = _read_key(timeout=0.05)
                if key and not session.on_key(key.lower()):
                    break
    finally:
        stop.set()
        session.close()
    return 0


def _preload_torch() -> None:
    """Import torch while the student reads, so a first save with a cold cache is not slow."""
    try:
        import torch  # noqa: F401
    except ImportError:
        pass


def _pending(changes: queue.Queue) -> bool:
    """True when files were saved since the last grading (all pending batches consumed)."""
    found = False
    while True:
        try:
            changes.get_nowait()
            found = True
        except queue.Empty:
            return found


def _read_key(timeout: float) -> str | None:
    if not sys.stdin.isatty():
        time.sleep(timeout)
        return None
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    if not ready:
        return None
    data = os.read(sys.stdin.fileno(), 1)
    return data.decode(errors="ignore") or None
