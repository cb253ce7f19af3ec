"""Gradescope: the autograder zip (`build_zip`) and what its ``run_autograder`` runs (`main`).

The zip, unpacked by Gradescope into ``/autograder/source``::

    setup.sh          once, when Gradescope builds the image: Python, pip, a CPU-only torch and
                      every other dependency at the versions pinned in kit/requirements.txt
                      (those the zip was exported with), then the reference cache of the zip's
                      seed (`autograder.instructor.reference_plan`)
    run_autograder    for every submission: ``python -m autograder.instructor.gradescope --root /autograder``,
                      then, if that left no results.json (Python missing, the kit broken...), a
                      fallback one scoring 0 with a message: results.json is ALWAYS written
    kit/              the kit without solutions/: course.yml, quiz.yml, lessons/, autograder/...,
                      requirements.txt, reference_plan.bin

Gradescope runs the script as root in a Linux container: each submission's code runs as an
unprivileged user of its own, with the kit unreadable to it (or in a namespace or Landlock
sandbox where the container allows one); results.json states the level. Where only process
limits would isolate it, the runner refuses to grade unless the zip was built with
``--allow-weak-isolation``.

``AUTOGRADER_ROOT`` (default ``/autograder``) and ``GRADE_PYTHON`` (default the venv made by
setup.sh) let the tests run the same script against a simulated tree; ``GRADE_TIMEOUT``
(default 540 s, under Gradescope's default 10 minutes) bounds the grader itself.

A submission holds the student files (``batchnorm.py``...) anywhere in the upload, zips
included, or the exported notebooks instead, and ``quiz_answers.yml`` or the quiz notebook:
the rule of `autograder.instructor.submissions.collect`, the same as ``grade batch``'s. They
are copied to a fresh folder and graded like ``grade --submission`` at the course seed, so the
scores are the same; the quiz is scored here, in the grader, from the answers file. results.json
follows Gradescope's specification
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): ``score``, ``output``, and
one test per exercise plus one for the quiz, each with ``name``, ``score``, ``max_score``,
``status``, ``output`` and ``visibility`` (course.yml's ``visibility``). With a ``deadline`` in
course.yml, a late submission (Gradescope's ``submission_metadata.json``: when it was made, and
the student's own due date) loses the course's penalty from its total, said in the output.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from autograder.i18n import Translator, choose_language

RESULTS = Path("results") / "results.json"
SUBMISSION = "submission"
KIT_DIR = "kit"
METADATA = "submission_metadata.json"
REQUIREMENTS = "requirements.txt"
CUDA_ONLY = ("nvidia-", "triton", "cuda-")
"""Distributions only a CUDA build of torch needs (the CPU build installed here has none)."""
SKIPPED_PARTS = {"__pycache__", "__MACOSX", ".git", ".ipynb_checkpoints"}
KIT_FILES = ["pyproject.toml", "constraints.txt", "README.md", "course.yml"]
"""Kit files copied into the zip, besides the quiz bank, the lessons, the stubs and the package."""

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euxo pipefail
KIT=/autograder/source/kit
PYTHON=/autograder/venv/bin/python
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip
python3 -m venv /autograder/venv
# Every package at the version the zip was exported with (kit/requirements.txt), pip included.
"$PYTHON" -m pip install "pip=={pip}"
# The CPU-only build of torch (the GPU one is several GB and is never used here), then the rest.
"$PYTHON" -m pip install --no-deps "torch=={torch}" --index-url https://download.pytorch.org/whl/cpu
"$PYTHON" -m pip install -r "$KIT/{requirements}"
"$PYTHON" -m pip check
# The kit itself runs from $KIT (run_autograder). Its reference values for the zip's seed are
# computed now, once, instead of in every submission's fresh container.
cd "$KIT" && GRADE_COURSE="$KIT/course.yml" "$PYTHON" -m autograder.instructor.reference_plan "$KIT/{plan}"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade $ROOT/submission, write $ROOT/results/results.json.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
KIT="$ROOT/source/kit"
PYTHON="${{GRADE_PYTHON:-/autograder/venv/bin/python}}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
# The kit stops student code itself; this limit only guards against the grader hanging, so that
# results.json is still written before Gradescope's own timeout.
cd "$KIT" && GRADE_COURSE="$KIT/course.yml" timeout --kill-after=10 "${{GRADE_TIMEOUT:-540}}" \
  "$PYTHON" -m autograder.instructor.gradescope --root "$ROOT" --lang {language}{options}
if [ ! -s "$RESULTS" ]; then
  cat > "$RESULTS" <<'FALLBACK_JSON'
{fallback}
FALLBACK_JSON
fi
exit 0
"""


# -- the zip ------------------------------------------------------------------------------------


def build_zip(kit, output: Path, *, language: str = "en", seed: int | None = None,
              allow_weak_isolation: bool = False) -> Path:
    """Write the autograder zip to `output` (replaced atomically) and return its path. With a
    `seed`, the zip's course.yml uses it: private inputs, unknown to students who have the kit.
    With `allow_weak_isolation`, the runner grades even with process limits alone."""
    t = Translator(language)
    fallback = json.dumps(crash_results(t("gradescope.no_results")), ensure_ascii=False)
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.tmp")
    from autograder.instructor.reference_plan import PLAN_FILE, record

    pins = pinned_requirements()
    torch = next(pin for pin in pins if pin.startswith("torch==")).split("==", 1)[1]
    setup = SETUP_SH.format(pip=_version("pip"), torch=torch, requirements=REQUIREMENTS, plan=PLAN_FILE)
    plan = record(kit, kit.course.policy.seed if seed is None else seed)
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
        _add_text(archive, "setup.sh", setup)
        options = " --allow-weak-isolation" if allow_weak_isolation else ""
        _add_text(archive, "run_autograder", RUN_AUTOGRADER.format(language=language, fallback=fallback,
                                                                   options=options))
        for path, name in kit_files(kit):
            if name == "course.yml" and seed is not None:
                archive.writestr(f"{KIT_DIR}/{name}", with_seed(path.read_text(encoding="utf-8"), seed))
            else:
                archive.write(path, f"{KIT_DIR}/{name}")
        archive.writestr(f"{KIT_DIR}/{REQUIREMENTS}", "".join(f"{pin}\n" for pin in pins))
        archive.writestr(f"{KIT_DIR}/{PLAN_FILE}", plan)
    temporary.replace(output)
    return output


def pinned_requirements(project: str = "bn-dropout-kit") -> list[str]:
    """``name==version`` of every distribution the kit needs to run (its dependencies and
    theirs, as installed here), sorted; CUDA-only ones left out, local versions (``+cpu``)
    dropped."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    pending = [Requirement(r) for r in distribution(project).requires or []]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in pins or name.startswith(CUDA_ONLY) or (
                requirement.marker is not None and not requirement.marker.evaluate({"extra": ""})):
            continue
        try:
            found = distribution(requirement.name)
        except PackageNotFoundError:
            continue
        pins[name] = found.version.split("+", 1)[0]
        pending += [Requirement(r) for r in found.requires or []]
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def with_seed(course_text: str, seed: int) -> str:
    """course.yml's text with the policy's seed set to `seed` (comments and layout kept)."""
    replaced, count = re.subn(r"(?m)^(\s+seed:\s*)-?\d+", rf"\g<1>{int(seed)}", course_text, count=1)
    if count:
        return replaced
    return re.sub(r"(?m)^policy:[ \t]*\n", f"policy:\n  seed: {int(seed)}\n", course_text, count=1)


def _add_text(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16  # executable: Gradescope runs both scripts
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


def kit_files(kit) -> list[tuple[Path, str]]:
    """(path, name in kit/) of every file the graded kit needs; never the solutions."""
    from autograder.kit import PACKAGE_DIR

    root = kit.root  # the course's own files; the package's from where the kit is installed
    files = [(root / name if name == "course.yml" else PACKAGE_DIR.parent / name, name) for name in KIT_FILES]
    files = [(path, name) for path, name in files if path.is_file()]
    folders = [(PACKAGE_DIR, "autograder"), (kit.exercises_dir, kit.course.exercises_dir)]
    if kit.course.quiz is not None:
        files.append((root / kit.course.quiz.bank, kit.course.quiz.bank))
        folders.append((root / kit.course.quiz.lessons, kit.course.quiz.lessons))
    solutions = kit.solutions_dir.resolve()
    for folder, name in folders:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and not SKIPPED_PARTS & set(relative.parts) and path.suffix not in (".pyc", ".pyo") \
                    and solutions not in path.resolve().parents:
                files.append((path, f"{name}/{relative.as_posix()}"))
    return files


# -- run_autograder ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.instructor.gradescope")
    parser.add_argument("--root", default="/autograder")
    parser.add_argument("--lang")
    parser.add_argument("--allow-weak-isolation", action="store_true")
    args = parser.parse_args(argv)
    root = Path(args.root)
    t = Translator(choose_language(args.lang))
    started = time.monotonic()
    try:
        if _too_weak(args.allow_weak_isolation):
            refusal = t("isolation.refused", command="run_autograder", flag="--allow-weak-isolation")
            results = crash_results(refusal)
        else:
            results = grade_submission(root / SUBMISSION, t)
    except BaseException as error:  # noqa: BLE001 - whatever happens, Gradescope gets a results.json
        results = crash_results(t("gradescope.crashed", error=f"{type(error).__name__}: {error}"))
    results["execution_time"] = round(time.monotonic() - started, 1)
    write_results(root / RESULTS, results)
    return 0


def _too_weak(allowed: bool) -> bool:
    """Only process limits would isolate the student's code, and that was not allowed."""
    from autograder.sandbox.isolation import Level, detect

    return detect().level == Level.PROCESS and not allowed


def grade_submission(submission: Path, t: Translator) -> dict[str, Any]:
    """Grade a Gradescope submission folder; results.json's content."""
    from autograder.grading.runner import grade
    from autograder.kit import Kit
    from autograder.quiz.answers import quiz_for_report

    kit = Kit.locate()
    with tempfile.TemporaryDirectory(prefix="gradescope-") as work:
        folder = Path(work)
        found = collect(kit.course, submission, folder)
        report = grade(kit, folder)
        report.quiz = quiz_for_report(kit, folder)
        answers = _answers(folder)
    notes = []
    if not found:
        notes.append(t("gradescope.nothing_found", files=", ".join(_expected(kit.course))))
    if kit.course.quiz is not None and report.quiz is not None and report.quiz.source == "none":
        notes.append(t("gradescope.quiz_missing"))
    results = results_json(report, kit, t, answers=answers, notes=notes)
    return with_late_penalty(results, kit.course, submission.parent / METADATA, t)


def collect(course, submission: Path, destination: Path) -> list[str]:
    """Copy the student files found in `submission` into `destination` by the one rule of
    `autograder.instructor.submissions.collect`; the names of what was found."""
    from autograder.instructor.submissions import collect as collect_files

    return collect_files(course, [submission], destination).found


def _expected(course) -> list[str]:
    from autograder.instructor.submissions import expected_files

    return expected_files(course)


def _answers(folder: Path):
    """The submission's answers file, or None (missing or unreadable: the report says why)."""
    from autograder.course import CourseError
    from autograder.quiz.answers import ANSWERS_FILE, read_answers

    try:
        return read_answers(folder / ANSWERS_FILE) if (folder / ANSWERS_FILE).is_file() else None
    except CourseError:
        return None


# -- results.json -------------------------------------------------------------------------------


def results_json(report, kit, t: Translator, *, answers=None, notes: list[str] = ()) -> dict[str, Any]:
    """A `GradeReport` in Gradescope's format: one test per exercise, one for the quiz."""
    from autograder.grading.results import points
    from autograder.ui.plain_text import exercise_text, isolation_text, quiz_text

    course = kit.course
    tests = []
    for number, result in enumerate(report.exercises, 1):
        tests.append({
            "name": f"{result.id} · {t.text(course.exercise(result.id).title)}",
            "number": str(number),
            "score": result.score,
            "max_score": result.max_points,
            "status": "passed" if result.status == "passed" else "failed",
            "output": exercise_text(course, result, t),
            "output_format": "text",
            "visibility": course.visibility_of(result.id),
        })
    if report.quiz is not None:
        from autograder.quiz.bank import load_bank

        quiz = report.quiz
        bank = load_bank(kit)
        judged = answers.judged(bank) if answers is not None else {}
        tests.append({
            "name": t("gradescope.quiz_test"),
            "number": str(len(tests) + 1),
            "score": quiz.score,
            "max_score": quiz.max_points,
            "status": "passed" if quiz.questions and quiz.correct == len(quiz.questions) else "failed",
            "output": quiz.error or quiz_text(bank, quiz, judged, t),
            "output_format": "text",
            "visibility": course.visibility_of("quiz"),
        })
    summary = [t("gradescope.summary", score=points(report.score), max=points(report.max_score)),
               t("gradescope.seed", seed=report.seed), *notes, isolation_text(report, t).rstrip()]
    return {
        "score": report.score,
        "output": "\n".join(summary),
        "output_format": "text",
        "visibility": course.visibility_of("default"),
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def with_late_penalty(results: dict[str, Any], course, metadata: Path, t: Translator) -> dict[str, Any]:
    """`results` with course.yml's late penalty taken from the total, when Gradescope's
    submission metadata says the submission was late (the tests keep their own scores)."""
    from autograder.instructor.late import gradescope_times, lateness

    if course.deadline is None or not metadata.is_file():
        return results
    try:
        submitted, platform_due = gradescope_times(json.loads(metadata.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return results
    due = course.deadline.aware(course.deadline.due)
    late = lateness(course.deadline, submitted, "gradescope", max(due, platform_due) if platform_due else due)
    if late.days_late == 0:
        return results
    final = late.apply(results["score"])
    results["output"] += "\n" + t("gradescope.late", days=late.days_late, penalty=f"{late.penalty:g}",
                                   score=f"{final:g}", raw=f"{results['score']:g}")
    results["score"] = final
    return results


def crash_results(message: str) -> dict[str, Any]:
    """results.json when the submission could not be graded at all."""
    return {"score": 0.0, "output": message, "output_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": []}


def write_results(path: Path, results: dict[str, Any]) -> None:
    from autograder.state import atomic_write

    atomic_write(path, json.dumps(results, ensure_ascii=False, indent=2).encode())


if __name__ == "__main__":
    sys.exit(main())
