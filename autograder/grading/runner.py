"""One grading run: a folder of student code in, a `GradeReport` out.

pytest (and the checks) are imported only when some exercise has to run: untouched stubs are
recognised without running anything, and results the `ResultCache` still holds are reused.
Student code runs in sandboxes made by `Sandbox.for_kit`; an exercise whose course.yml entry
has ``allowed_imports`` is graded in a sandbox of its own (consecutive exercises with the same
allowed imports share one). The report states the isolation level the run used. All the
exercises of a run are checked in one pytest session; `grade_many` keeps one session open for
many folders (`grade batch`), so that pytest starts and collects the checks once.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from autograder.grading.reference import Reference
from autograder.grading.reference_cache import cache_dir
from autograder.grading.result_cache import ResultCache
from autograder.grading.results import ExerciseResult, GradeReport
from autograder.grading.stubs import not_started
from autograder.kit import CHECKS_DIR, Kit
from autograder.sandbox.isolation import detect

if TYPE_CHECKING:
    import pytest

    from autograder.grading.reference_process import ReferenceProcess

    from autograder.sandbox.client import Sandbox  # noqa: F811

PYTEST_ARGS = [
    "-c", str(CHECKS_DIR / "pytest.ini"), "--rootdir", str(CHECKS_DIR),
    "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:logging", "-p", "no:junitxml",
    "-p", "no:pastebin", "-p", "no:doctest", "-p", "no:unraisableexception", "-p", "no:threadexception",
    "-p", "no:faulthandler", "--disable-plugin-autoload",
    # Plugins the checks never use: each costs a few milliseconds per run (a watch-mode save),
    # some of them at every check. Without "capture", the student's prints are captured in the
    # worker, not here; without "assertion", asserts are plain; without "warnings", `run_pytest`
    # ignores warnings around the whole session.
    "-p", "no:stepwise", "-p", "no:setuponly", "-p", "no:setupplan", "-p", "no:legacypath", "-p", "no:tmpdir",
    "-p", "no:monkeypatch", "-p", "no:recwarn", "-p", "no:debugging", "-p", "no:unittest", "-p", "no:python_path",
    "-p", "no:capture", "-p", "no:assertion", "-p", "no:warnings", "-p", "no:subtests",
]


def run_pytest(files: list[str], plugins: list) -> int:
    """``pytest.main`` on the check `files` with `plugins`, warnings ignored (pytest's warnings
    plugin is off: see `PYTEST_ARGS`)."""
    import pytest

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.main([*files, *PYTEST_ARGS], plugins=plugins)


class ExceptionValueOnly:
    """The grading plugin reads each failing check's exception, never pytest's report of it.
    pytest would format a traceback with source for every failure (parsing the check file
    again each time, about 60 ms per failing check): ask for the exception's value only."""

    @staticmethod
    def pytest_configure(config: "pytest.Config") -> None:
        config.option.tbstyle = "value"


def make_reference(kit: Kit, seed: int, *, process: ReferenceProcess | None = None) -> Reference:
    """Disk-cached where `cache_dir` allows, else in memory only; computing through `process`,
    a `ReferenceProcess` started earlier (`reference_process.start_if_cold`: torch's import,
    on the first run after a clone), when given (close the reference after)."""
    reference = Reference(cache_dir(kit, seed))
    reference.process = process
    return reference


def result_cache(kit: Kit, directory: Path, seed: int, advice: bool = False) -> ResultCache | None:
    """The result cache for `directory`, next to the reference cache (None where `cache_dir`
    allows none)."""
    folder = cache_dir(kit, seed)
    if folder is None:
        return None
    return ResultCache(folder / "results", kit.course, kit.root / "course.yml", directory, seed, advice)


def needs_worker(kit: Kit, directory: Path, exercises: list[str] | None = None,
                 cache: ResultCache | None = None) -> bool:
    """Whether grading these exercises will run student code (not all stubs or cached)."""
    stubs = not_started(kit.course, directory)
    run = kit.course.with_requirements(exercises or kit.course.ids)
    return any(e not in stubs and (cache is None or cache.load(e) is None) for e in run)


def grade(kit: Kit, directory: Path, *, exercises: list[str] | None = None, seed: int | None = None,
          sandbox: Sandbox | None = None, reference: Reference | None = None,
          on_check: Callable | None = None, advice: bool = False, cache: ResultCache | None = None,
          plugins: tuple = (), make_sandbox: Callable[[tuple[str, ...]], Sandbox] | None = None) -> GradeReport:
    """Grade the student code in `directory`: the given exercises (all by default) and the
    exercises they require; results still in `cache` are reused. The report lists only the
    exercises asked for. `plugins` are more pytest plugins for the run (``grade inspect``
    records the checks' inputs with one). `make_sandbox(allowed_imports)` makes the sandbox of
    an exercise with allowed imports (`grade batch`: one its zygote serves)."""
    started = time.perf_counter()
    course = kit.course
    seed = course.policy.seed if seed is None else seed
    wanted = exercises or course.ids
    run = course.with_requirements(wanted)
    cached = {e: result for e in run if cache is not None and (result := cache.load(e)) is not None}
    fresh = [e for e in run if e not in cached]
    results = dict(cached)
    if fresh and sandbox is not None and not sandbox.copy_is_current():
        sandbox.stop()  # kept from an earlier grading, its worker saw an older version
    hidden = sandbox.hidden if sandbox is not None else ()
    stubs = not_started(course, directory) if fresh else set()
    own = _start_ahead(kit, directory, fresh, stubs, hidden, make_sandbox)
    try:
        if fresh:
            results.update(_run_checks(kit, directory, fresh, dict(results), seed, sandbox, reference, on_check,
                                       advice, hidden, plugins, own, stubs))
        if cache is not None and cache.unchanged():
            for exercise_id in fresh:
                cache.store(results[exercise_id])
    finally:
        _close(own)
    isolation = sandbox.isolation if sandbox is not None and sandbox.isolation is not None else detect()
    return GradeReport(str(directory), seed, [results[e] for e in wanted], duration=time.perf_counter() - started,
                       isolation=isolation)


@dataclass
class Folder:
    """One folder for `grade_many` to grade, every exercise, and what it comes back with."""

    directory: Path
    seed: int
    sandbox: Sandbox
    """Where its NumPy exercises run (the caller closes it)."""
    reference: Reference
    make_sandbox: Callable[[tuple[str, ...]], Sandbox] | None = None
    """Makes the sandbox of an exercise with allowed imports (closed after the folder)."""
    report: GradeReport | None = None
    error: Exception | None = None
    """What stopped its grading (a failure of the kit), instead of a report."""


def grade_many(kit: Kit, folders: Iterable[Folder]) -> None:
    """Grade every exercise of each folder `folders` yields, one after another, in one pytest
    session (`grade batch`): pytest starts and collects the checks once, not once per folder
    (about 50 ms each). Each folder gets its `report`, or the `error` that stopped it, before
    the next one is asked for. No result cache: a batch grades with private seeds."""
    folders = iter(folders)
    first = next(folders, None)
    if first is None:
        return
    import pytest

    from autograder.grading.plugin import GradingPlugin

    course = kit.course
    plugin = GradingPlugin(course, first.sandbox, first.reference, seed=first.seed, run=course.ids,
                           not_started=set())
    loop = _FolderLoop(kit, plugin, first, folders)
    files = [str(CHECKS_DIR / f"{exercise.checks}.py") for exercise in course.exercises]
    code = run_pytest(files, [plugin, loop, ExceptionValueOnly])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED) or loop.current is not None:
        failure = RuntimeError(f"the checks could not run (pytest exit code {int(code)})")
        while loop.current is not None:  # every folder not graded yet: the session failed
            if loop.current.report is None and loop.current.error is None:
                loop.current.error = failure
            loop.current = next(folders, None)


class _FolderLoop:
    """The pytest plugin of `grade_many`: its run loop grades the collected checks once per folder."""

    def __init__(self, kit: Kit, plugin, first: Folder, rest: Iterator[Folder]) -> None:
        self.kit, self.plugin, self.rest = kit, plugin, rest
        self.current: Folder | None = first
        """The folder being graded (None once `rest` is exhausted)."""

    def pytest_runtestloop(self, session: "pytest.Session") -> bool:
        while self.current is not None:
            self.grade(session, self.current)
            self.current = next(self.rest, None)
        return True

    def grade(self, session: "pytest.Session", folder: Folder) -> None:
        started = time.perf_counter()
        course = self.kit.course
        own: dict[str, Sandbox] = {}
        try:
            stubs = not_started(course, folder.directory)
            own = _start_ahead(self.kit, folder.directory, course.ids, stubs, folder.sandbox.hidden,
                               folder.make_sandbox)
            self.plugin.target(folder.sandbox, folder.reference, seed=folder.seed, run=course.ids,
                               not_started=stubs, sandboxes=own)
            if any(e not in stubs and e not in own for e in course.ids):
                folder.sandbox.start()
            items = session.items
            for index, item in enumerate(items):
                following = items[index + 1] if index + 1 < len(items) else None
                item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
            results = self.plugin.results
            folder.report = GradeReport(str(folder.directory), folder.seed, [results[e] for e in course.ids],
                                        duration=time.perf_counter() - started,
                                        isolation=folder.sandbox.isolation or detect())
        except Exception as error:  # noqa: BLE001 - one folder never stops the others
            folder.error = error
            session._setupstate.teardown_exact(None)  # the next folder starts with no fixture set up
        finally:
            _close(own)


def _sandbox_groups(kit: Kit, exercises: list[str]) -> list[tuple[list[str], tuple[str, ...]]]:
    """`exercises` in runs of consecutive ones with the same allowed imports (each run is
    graded in a sandbox of its own)."""
    groups: list[tuple[list[str], tuple[str, ...]]] = []
    for exercise_id in exercises:
        allowed = tuple(sorted(kit.course.exercise(exercise_id).allowed_imports))
        if groups and groups[-1][1] == allowed:
            groups[-1][0].append(exercise_id)
        else:
            groups.append(([exercise_id], allowed))
    return groups


def _start_ahead(kit: Kit, directory: Path, exercises: list[str], stubs: set[str], hidden,
                 make_sandbox: Callable | None = None) -> dict[str, Sandbox]:
    """The sandbox of each of `exercises` that has allowed imports (consecutive ones with the
    same allowed imports share one), started now unless its exercises are all untouched
    `stubs`, so that their workers load those libraries (torch: about a second) while the
    other exercises are graded."""
    own: dict[str, Sandbox] = {}
    for group, allowed in _sandbox_groups(kit, exercises):
        if allowed:
            if make_sandbox is not None:
                sandbox = make_sandbox(allowed)
            else:
                from autograder.sandbox.client import Sandbox

                sandbox = Sandbox.for_kit(kit, directory, allowed_imports=allowed, hidden=hidden)
            if any(e not in stubs for e in group):
                sandbox.start()
            own.update(dict.fromkeys(group, sandbox))
    return own


def _close(own: dict[str, Sandbox]) -> None:
    for sandbox in {id(s): s for s in own.values()}.values():
        sandbox.close()


def _run_checks(kit: Kit, directory: Path, run: list[str], known: dict[str, ExerciseResult], seed: int,
                sandbox: Sandbox | None, reference: Reference | None, on_check: Callable | None,
                advice: bool, hidden=(), plugins: tuple = (),
                own: dict[str, Sandbox] | None = None, stubs: set[str] | None = None) -> dict[str, ExerciseResult]:
    """Run the checks of the exercises in `run` (`known` holds the results of the others), in
    one pytest session, in `sandbox` or in one of their own (hiding `hidden` too) — but those
    in `own` (exercise -> sandbox: allowed imports) —, with more pytest `plugins`."""
    import pytest

    from autograder.grading.plugin import GradingPlugin
    from autograder.sandbox.client import Sandbox

    stubs = not_started(kit.course, directory) if stubs is None else stubs
    own_sandbox = sandbox is None
    sandbox = sandbox or Sandbox.for_kit(kit, directory, hidden=hidden)
    if any(e not in stubs and e not in (own or {}) for e in run):
        sandbox.start()  # the worker boots while pytest collects
    plugin = GradingPlugin(kit.course, sandbox, reference or make_reference(kit, seed), seed=seed, run=run,
                           not_started=stubs, on_check=on_check, advice=advice, known=known, sandboxes=own)
    files = [str(CHECKS_DIR / f"{kit.course.exercise(e).checks}.py") for e in run]
    try:
        code = run_pytest(files, [plugin, ExceptionValueOnly, *plugins])
    finally:
        if own_sandbox:
            sandbox.close()
    if code == pytest.ExitCode.INTERRUPTED:
        raise KeyboardInterrupt  # pytest caught the user's Ctrl-C: `grade` reports it as such
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"the checks could not run (pytest exit code {int(code)})")
    return {e: plugin.results[e] for e in run}
