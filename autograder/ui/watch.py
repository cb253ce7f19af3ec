"""`grade watch`: follow the student's saves, one exercise at a time (rustlings' flow).

A save grades the exercise of the file just saved (with what it requires) and shows it at
once; the other exercises are graded right after (a result is cached for the whole folder as
it was, so a save may change any of them), each check once, to update the progress bar. When the exercise on screen passes, the next unfinished one takes
its place under one line of congratulation. Saves are debounced (an editor's several writes
are one save) and a save during grading is graded once, after it.

The screen always fits the terminal: a long explanation is folded (press e to see every
failure in full, then j/k to scroll). Keys: h hint · n next · c quiz checkpoint · e expand ·
l list · r re-grade · q quit. The footer says how long the grading took, or "cached" when the
result was replayed, and the isolation level the code ran at (the list, l, says what that level
protects). A spare worker is booted in advance, so a save pays only for the
student's import and the checks.
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
from typing import Callable

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from autograder.arguments import UsageError
from autograder.grading.reference import Reference
from autograder.grading.reference_process import ReferenceProcess, start_if_cold
from autograder.grading.results import CheckResult, ExerciseResult
from autograder.grading.runner import grade, make_reference, needs_worker, result_cache
from autograder.i18n import Translator
from autograder.kit import Kit
from autograder.sandbox.client import Sandbox
from autograder.sandbox.isolation import Isolation
from autograder.state import State
from autograder.ui.commands import failed_internally
from autograder.ui.hints import HintView, reveal_next
from autograder.ui.report import ExerciseView, ProgressView, isolation_line

SCROLL = {"j": 1, "k": -1, "\x1b[B": 1, "\x1b[A": -1, " ": 10}


class Session:
    """What watch mode knows: the latest result of every exercise and what is on screen."""

    def __init__(self, kit: Kit, t: Translator, console: Console) -> None:
        self.kit, self.t, self.console = kit, t, console
        self.course = kit.course
        self.directory = kit.exercises_dir.resolve()
        self.reference: Reference = make_reference(kit, kit.course.policy.seed,
                                                   process=start_if_cold(kit, kit.course.policy.seed))
        self.state = State.load(kit.state_dir)
        self.results: dict[str, ExerciseResult] = {}
        self.current = kit.course.ids[0]
        self.overlay: RenderableType | None = None  # a hint or the list, until the next key
        self.news: Text | None = None  # one line of congratulation after a pass
        self.expanded = False
        self.offset = 0
        self.spare: Sandbox | None = None
        self.timing = ""
        self.isolation: Isolation | None = None  # the level the last grading ran at

    # grading

    def grade(self, exercises: list[str], *, more_to_come: bool = False, on_scored: Callable | None = None,
              since: float | None = None) -> set[str]:
        """Grade `exercises` (with what they require); returns those whose result came from
        the result cache. Student code runs in the spare worker, and the next one boots
        after, unless `more_to_come` (the files did not change: the same worker grades on).
        `on_scored()` is called as soon as every scored check has run, before the timing
        advice (a large batch, run last): the results are on screen that much earlier.
        Results of files saved after `since` (``time.time()``, by default now) are left
        aside: that save is graded next, and judged against what the student saw."""
        seed = self.course.policy.seed
        cache = result_cache(self.kit, self.directory, seed, advice=True)
        wanted = self.course.with_requirements(exercises)
        replayed = {e for e in wanted if cache is not None and cache.load(e) is not None}
        sandbox = None
        if needs_worker(self.kit, self.directory, wanted, cache):
            sandbox, self.spare = self.spare or Sandbox.for_kit(self.kit, self.directory), None
        scored: dict[str, list[CheckResult]] = {}
        since = time.time() if since is None else since

        def on_check(result: CheckResult, done: int, total: int) -> None:
            scored.setdefault(result.exercise, []).append(result)
            if done == total and on_scored is not None:
                newer = self.saved_since(since)
                self.results.update({e: ExerciseResult(e, self.course.exercise(e).points, checks,
                                                       not_started=all(c.outcome == "not_started" for c in checks))
                                     for e, checks in scored.items() if self.course.exercise(e).file not in newer})
                on_scored()

        try:
            report = grade(self.kit, self.directory, exercises=wanted, seed=seed, sandbox=sandbox,
                           reference=self.reference, on_check=on_check, advice=True, cache=cache)
            self.isolation = report.isolation
        finally:
            if sandbox is not None and more_to_come:
                self.spare = sandbox
            elif sandbox is not None:
                sandbox.close()
                self.spare = Sandbox.for_kit(self.kit, self.directory)
                self.spare.start()
        saved_meanwhile = self.saved_since(since)
        self.results.update({r.id: r for r in report.exercises if self.course.exercise(r.id).file not in saved_meanwhile})
        if not failed_internally(report):
            self.state.record_progress(report.exercises)
            self.state.try_save()
        return replayed

    def saved(self, files: set[str]) -> None:
        """Files were saved: grade the exercise of the file just saved first and show it as
        soon as its checks have run, then the other exercises."""
        started, since = time.perf_counter(), time.time()
        target = self.target(files)
        was_passing = self.passes(target)
        others = [e for e in self.course.ids if e not in self.course.with_requirements([target])]
        shown: list[list] = []  # the target's notes when it was shown

        def show(replayed: bool = False) -> None:
            self.current, self.news = target, None
            self.timing = self.t("watch.cached") if replayed else self.t(
                "watch.graded", seconds=f"{time.perf_counter() - started:.2f}")
            if self.passes(target) and not was_passing:
                self.move_on(target)
            self.expanded, self.offset, self.overlay = False, 0, None
            self.render()
            shown.append(self.notes_of(target))

        replayed = self.grade([target], more_to_come=bool(others), on_scored=show, since=since)
        if not shown:
            show(replayed=target in replayed)
        elif self.notes_of(target) != shown[0]:
            self.render()  # the timing advice came after the checks
        if others:
            self.grade(others, since=since)
            if self.news is not None and self.passes(self.current):  # the next one passes as well: on again
                self.move_on(target)
            self.render()

    def move_on(self, passed: str) -> None:
        """`passed` passes now: show the next unfinished exercise (or `passed`, when none is
        left), under one line of congratulation."""
        self.current = self.first_not_passing(after=passed)
        key = "watch.moved_on" if self.current != passed else "watch.all_done"
        self.news = Text(self.t(key, exercise=passed, next=self.current), style="bold green")

    def notes_of(self, exercise_id: str) -> list:
        result = self.results.get(exercise_id)
        return list(result.notes) if result is not None else []

    def saved_since(self, moment: float) -> set[str]:
        """The exercises' files saved after `moment` (``time.time()``)."""
        files = {e.file for e in self.course.exercises if e.file}
        return {f for f in files if (self.directory / f).is_file() and (self.directory / f).stat().st_mtime > moment}

    def target(self, files: set[str]) -> str:
        """The exercise to show after saving `files`: the current one if it lives there,
        else the first unfinished exercise of the saved file."""
        here = [e.id for e in self.course.exercises if e.file in files]
        if not here or self.current in here:
            return self.current
        return next((e for e in here if not self.passes(e)), here[0])

    def passes(self, exercise_id: str) -> bool:
        result = self.results.get(exercise_id)
        return result is not None and result.status == "passed"

    def first_not_passing(self, after: str | None = None) -> str:
        ids = self.course.ids
        start = ids.index(after) + 1 if after else 0
        return next((e for e in ids[start:] + ids[:start] if not self.passes(e)), after or ids[-1])

    # keys

    def on_key(self, key: str) -> bool:
        """Handle one key; False means quit."""
        if key in SCROLL and self.expanded:
            self.offset = max(0, self.offset + SCROLL[key])
            self.render()
            return True
        self.overlay, self.news = None, None
        if key == "q":
            return False
        if key == "h":
            reveal = reveal_next(self.state, self.course.exercise(self.current), self.results.get(self.current))
            self.state.try_save()
            self.overlay = HintView(reveal, self.t, more="watch.hint_more")
        elif key == "n":
            ids = self.course.ids
            self.current = ids[(ids.index(self.current) + 1) % len(ids)]
            self.expanded, self.offset = False, 0
        elif key == "e":
            self.expanded, self.offset = not self.expanded, 0
        elif key == "l":
            state = State.load(self.kit.state_dir)  # the quiz may run in another terminal
            progress = ProgressView(self.course, self.state.progress, self.state.hints, self.t,
                                    quiz=state.data.get("quiz"), misconception_hints=self.state.misconception_hints)
            isolation = Text(isolation_line(self.isolation, self.t), style="dim") if self.isolation else Text("")
            self.overlay = Group(progress, isolation)
        elif key == "c":
            self.checkpoint()
        elif key == "r":
            started = time.perf_counter()
            self.grade(self.course.ids)
            self.timing = self.t("watch.graded", seconds=f"{time.perf_counter() - started:.2f}")
        self.render()
        return True

    def checkpoint(self) -> None:
        """The current exercise's checkpoint questions, in the quiz's own prompt."""
        from autograder.quiz.commands import main as quiz

        self.console.clear()
        try:
            with line_input():
                quiz(["--checkpoint", self.current, "--course", str(self.kit.root / "course.yml"),
                      "--lang", self.t.language], self.t)
        except UsageError as error:
            self.overlay = Text(str(error), style="yellow")
        except (KeyboardInterrupt, EOFError):
            pass

    # screen

    def render(self) -> None:
        self.console.clear()
        self.console.print(self.screen(*self.console.size))

    def screen(self, width: int, height: int) -> Group:
        """Header, the exercise (or a hint, the list) and the footer, in at most `height` lines."""
        header = self.header(width)
        footer = self.footer(width)
        room = max(3, height - len(self.lines(Group(*header), width)) - len(self.lines(footer, width)) - 1)
        return Group(*header, self.fitted(room, width), footer)

    def header(self, width: int) -> list:
        t, course = self.t, self.course
        passed = sum(self.passes(e) for e in course.ids)
        score = sum(r.score for r in self.results.values())
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=len(course.ids), completed=passed, width=min(30, width // 3)),
                    Text(t("watch.progress", passed=passed, total=len(course.ids), score=f"{score:g}",
                           max=f"{course.total_points:g}")))
        header: list = [Text(t.text(course.title), style="bold"), bar]
        if self.news is not None:
            header.append(self.news)
        return header

    def body(self, verbose: bool, compact: bool = False, only_first: bool = False) -> RenderableType:
        t, exercise = self.t, self.course.exercise(self.current)
        parts: list = []
        result = self.results.get(self.current)
        file = f"{self.course.exercises_dir}/{exercise.file}" if exercise.file else None
        if result is None:
            waiting = t("watch.current", exercise=exercise.id, title=t.text(exercise.title))
            parts.append(Text(waiting, style="bold cyan"))
        else:
            parts.append(ExerciseView(result, self.course, t, verbose=verbose, standalone=True, compact=compact,
                                      only_first=only_first, hints_used=self.state.hints_used(self.current),
                                      keys=True))
            if result.status == "not_started" and file:
                parts.append(Text(t("watch.start", functions=", ".join(exercise.functions), file=file), style="cyan"))
            elif result.status == "passed":
                parts.append(Text(t("watch.passed", exercise=exercise.id), style="bold green"))
        return Group(*parts)

    def fitted(self, room: int, width: int) -> RenderableType:
        """The body in at most `room` lines: in full if it fits, else with passing checks
        summed up, else cut with a line saying how to see the rest; expanded, a window. A hint
        or the list keeps its end (the newest hint is last)."""
        if self.overlay is not None:
            lines = self.lines(self.overlay, width)
            if len(lines) <= room:
                return Segments(self.joined(lines))
            earlier = Text(self.t("watch.earlier", count=len(lines) - (room - 1)), style="dim")
            return Group(earlier, Segments(self.joined(lines[len(lines) - (room - 1):])))
        if self.expanded:
            lines = self.lines(self.body(verbose=True, compact=False), width)
            if len(lines) <= room:
                return Segments(self.joined(lines))
            self.offset = min(self.offset, len(lines) - (room - 1))
            window = lines[self.offset:self.offset + room - 1]
            more = Text(self.t("watch.scroll", first=self.offset + 1, last=self.offset + len(window),
                               total=len(lines)), style="dim")
            return Group(Segments(self.joined(window)), more)
        for compact, only_first in ((False, False), (True, False), (True, True)):
            lines = self.lines(self.body(verbose=False, compact=compact, only_first=only_first), width)
            if len(lines) <= room:
                return Segments(self.joined(lines))
        more = Text(self.t("watch.folded", count=len(lines) - (room - 1)), style="dim")
        return Group(Segments(self.joined(lines[:room - 1])), more)

    def status(self) -> str:
        """How long the last grading took (or "cached") and the isolation level it ran at."""
        if self.isolation is None:
            return self.timing
        level = self.t("watch.isolation", level=self.t(f"isolation.levels.{self.isolation.label}"))
        return f"{self.timing} · {level}" if self.timing else level

    def footer(self, width: int) -> Table:
        keys, status = Text(self.t("watch.keys"), style="bold"), Text(self.status(), style="dim")
        footer = Table.grid(expand=True)
        if keys.cell_len + status.cell_len + 2 <= width:
            footer.add_column(no_wrap=True)
            footer.add_column(justify="right", no_wrap=True)
            footer.add_row(keys, status)
        else:
            footer.add_column()
            footer.add_row(keys)
            footer.add_row(status)
        return footer

    def lines(self, renderable: RenderableType, width: int) -> list[list[Segment]]:
        return self.console.render_lines(renderable, self.console.options.update_width(width), pad=False)

    @staticmethod
    def joined(lines: list[list[Segment]]) -> list[Segment]:
        return [segment for line in lines for segment in (*line, Segment.line())]

    def prepare_torch(self) -> None:
        """Import torch in a reference process while the student reads, so that the first
        save of an exercise whose expected values are not cached yet is not slow."""
        if self.reference.process is None:
            self.reference.process = ReferenceProcess.start()

    def close(self) -> None:
        if self.spare is not None:
            self.spare.close()
        self.reference.close()


def watch_files(directory: Path, changes: queue.Queue[set], stop: threading.Event) -> None:
    """Put the names of the Python files saved together into `changes` (runs in a thread)."""
    import watchfiles

    for batch in watchfiles.watch(directory, watch_filter=watchfiles.PythonFilter(), debounce=400, step=20,
                                  stop_event=stop, raise_interrupt=False):
        changes.put({Path(path).name for _, path in batch})


_terminal: list = []  # the terminal's settings before watch mode took it


@contextmanager
def keys_without_enter():
    """Read single key presses (cbreak mode) while the terminal is ours; no-op otherwise."""
    if not sys.stdin.isatty():
        yield
        return
    fd = sys.stdin.fileno()
    _terminal.append(termios.tcgetattr(fd))
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, _terminal.pop())


@contextmanager
def line_input():
    """The terminal as it was before watch mode (whole lines, echo), for the quiz's prompts."""
    if not _terminal:
        yield
        return
    fd = sys.stdin.fileno()
    termios.tcsetattr(fd, termios.TCSADRAIN, _terminal[-1])
    try:
        yield
    finally:
        tty.setcbreak(fd)


def run(kit: Kit, t: Translator, console: Console) -> int:
    session = Session(kit, t, console)
    changes: queue.Queue = queue.Queue()
    stop = threading.Event()
    watcher = threading.Thread(target=watch_files, args=(session.directory, changes, stop), daemon=True)
    watcher.start()
    try:
        with keys_without_enter():
            console.print(Text(t("watch.starting"), style="dim"))
            started = time.perf_counter()
            session.grade(kit.course.ids)
            session.timing = t("watch.graded", seconds=f"{time.perf_counter() - started:.2f}")
            session.current = session.first_not_passing()
            session.render()
            session.prepare_torch()
            while True:
                files = _pending(changes)
                if files:
                    session.saved(files)
                    continue
                key = _read_key(timeout=0.05)
                if key and not session.on_key(key if len(key) > 1 else key.lower()):
                    break
    finally:
        stop.set()
        session.close()
    return 0


def _pending(changes: queue.Queue) -> set[str]:
    """The files saved since the last grading (all pending batches consumed)."""
    files: set[str] = set()
    while True:
        try:
            files |= changes.get_nowait()
        except queue.Empty:
            return files


def _read_key(timeout: float) -> str | None:
    """One key press (an arrow key's escape sequence as one string), or None."""
    if not sys.stdin.isatty():
        time.sleep(timeout)
        return None
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    if not ready:
        return None
    data = os.read(sys.stdin.fileno(), 8)
    return data.decode(errors="ignore") or None
