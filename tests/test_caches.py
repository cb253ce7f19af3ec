"""The two caches: reference values (no torch when warm) and exercise results (unchanged code
is not graded again). Both are only caches: deleting or damaging them changes nothing but speed."""

from __future__ import annotations

import os
import subprocess
import sys

import json

import msgspec
import pytest
from support import ROOT, SOLUTIONS, fast_kit, make_submission, mutate

WRONG_VARIANCE = ("x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps")

from autograder.course import Tolerance
from autograder.grading.reference import Reference
from autograder.grading.result_cache import PLACEHOLDER, ResultCache, relocate
from autograder.grading.runner import grade
from autograder.i18n import Translator
from autograder.ui.json_report import report_to_json
from autograder.ui.plain_text import plain_text
from autograder.ui.report import ReportView


def cache_for(kit, folder, tmp_path, advice=False) -> ResultCache:
    return ResultCache(tmp_path / "results", kit.course, ROOT / "course.yml", folder, kit.course.policy.seed, advice)


def graded(kit, folder, reference, cache, exercises=None) -> tuple:
    """The report and the exercises whose checks really ran."""
    ran: set[str] = set()
    report = grade(kit, folder, exercises=exercises, reference=reference, cache=cache,
                   on_check=lambda result, done, total: ran.add(result.exercise))
    return report, ran


def outcomes(report) -> dict:
    return {c.id: (c.outcome, c.feedback and c.feedback.stage, c.feedback and c.feedback.summary,
                   c.feedback and c.feedback.misconception) for e in report.exercises for c in e.checks}


def test_unchanged_code_is_not_graded_again_and_the_result_is_the_same(kit, reference, tmp_path):
    folder = make_submission(tmp_path / "s", {"optim.py": mutate("optim.py", "param - lr * step", "param + lr * step")})
    first, ran_first = graded(kit, folder, reference, cache_for(kit, folder, tmp_path))
    assert ran_first == set(kit.course.ids)
    again, ran_again = graded(kit, folder, reference, cache_for(kit, folder, tmp_path))
    assert ran_again == set()
    assert outcomes(again) == outcomes(first)
    assert again.score == first.score < 100


def test_any_change_in_the_folder_regrades_every_exercise(kit, reference, tmp_path):
    """Code can read any file of its folder, whatever its imports say: a change to one file,
    even one that no import names, re-grades everything."""
    folder = make_submission(tmp_path / "s")
    graded(kit, folder, reference, cache_for(kit, folder, tmp_path))
    (folder / "optim.py").write_text((folder / "optim.py").read_text() + "\n# edited\n")
    _, ran = graded(kit, folder, reference, cache_for(kit, folder, tmp_path))
    assert ran == set(kit.course.ids)
    (folder / "notes.txt").write_text("a file no import names")
    _, ran = graded(kit, folder, reference, cache_for(kit, folder, tmp_path), ["dropout"])
    assert ran == {"dropout"}
    _, ran = graded(kit, folder, reference, cache_for(kit, folder, tmp_path), ["dropout"])
    assert ran == set()


# spatial_batchnorm.py gets its functions from a helper file loaded without an import statement.
THROUGH_IMPORTLIB = """
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("_helper", Path(__file__).with_name("_helper.py"))
_helper = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helper)
spatial_batchnorm_forward = _helper.spatial_batchnorm_forward
spatial_batchnorm_backward = _helper.spatial_batchnorm_backward
"""
THROUGH_EXEC = """
from pathlib import Path

exec(Path(__file__).with_name("_helper.py").read_text())
"""


@pytest.mark.parametrize("loader", [THROUGH_IMPORTLIB, THROUGH_EXEC], ids=["importlib", "exec"])
def test_a_helper_loaded_without_an_import_is_part_of_the_key(loader, kit, reference, tmp_path):
    right = (SOLUTIONS / "spatial_batchnorm.py").read_text()
    wrong = mutate("spatial_batchnorm.py", "AXES = (0, 2, 3)", "AXES = (1, 2, 3)")
    folder = make_submission(tmp_path / "s", {"spatial_batchnorm.py": loader, "_helper.py": right})
    before, _ = graded(kit, folder, reference, cache_for(kit, folder, tmp_path), ["spatial_bn"])
    assert before.exercise("spatial_bn").status == "passed"
    (folder / "_helper.py").write_text(wrong)
    after, ran = graded(kit, folder, reference, cache_for(kit, folder, tmp_path), ["spatial_bn"])
    assert "spatial_bn" in ran and after.exercise("spatial_bn").status == "failed"
    # Another folder with the same entry file but the right helper does not get that result.
    other = make_submission(tmp_path / "t", {"spatial_batchnorm.py": loader, "_helper.py": right})
    again, _ = graded(kit, other, reference, cache_for(kit, other, tmp_path), ["spatial_bn"])
    assert again.exercise("spatial_bn").status == "passed"


RAISES = mutate("batchnorm.py", "    n = x.shape[0]\n    if n < 2:",
                "    n = x.shape[0]\n    print('reading', __file__)\n"
                "    raise RuntimeError(f'cannot normalise: see {__file__}')\n    if n < 2:")


def test_no_report_shows_another_folders_paths_or_output(kit, reference, tmp_path):
    """Two folders holding the same failing file: the second reuses the first one's result as
    data, re-rendered for its own folder, and its report is the one a fresh grading gives."""
    first = make_submission(tmp_path / "first", {"batchnorm.py": RAISES})
    second = make_submission(tmp_path / "second", {"batchnorm.py": RAISES})
    t = Translator("en")
    graded(kit, first, reference, cache_for(kit, first, tmp_path), ["bn_forward"])
    reused, ran = graded(kit, second, reference, cache_for(kit, second, tmp_path), ["bn_forward"])
    assert ran == set()
    text = json.dumps(report_to_json(reused, kit.course, t)) + plain_text(ReportView(reused, kit.course, t, "all"))
    assert str(first) not in text and "first" not in text
    assert text.count(str(second.resolve())) >= 10  # messages, printed lines and locations
    fresh = grade(kit, second, exercises=["bn_forward"], reference=reference)
    assert outcomes(reused) == outcomes(fresh)
    assert [c.output for c in reused.exercises[0].checks] == [c.output for c in fresh.exercises[0].checks]
    assert [c.feedback.location for c in reused.exercises[0].checks] == \
        [c.feedback.location for c in fresh.exercises[0].checks]


def test_a_worker_kept_from_an_earlier_grading_never_grades_an_older_version(kit, reference, tmp_path):
    """Watch mode keeps a worker between two gradings. A file saved after that worker took its
    copy must be graded as saved, and no result of the older version may be stored under the
    new version's key (the next grading would replay it)."""
    from autograder.sandbox.client import Sandbox

    folder = make_submission(tmp_path / "s", {"batchnorm.py": mutate("batchnorm.py", *WRONG_VARIANCE)})
    with Sandbox.for_kit(kit, folder) as sandbox:
        wrong = grade(kit, folder, exercises=["bn_forward"], reference=reference, sandbox=sandbox,
                      cache=cache_for(kit, folder, tmp_path))
        (folder / "batchnorm.py").write_text((SOLUTIONS / "batchnorm.py").read_text())
        right = grade(kit, folder, exercises=["bn_forward"], reference=reference, sandbox=sandbox,
                      cache=cache_for(kit, folder, tmp_path))
    assert wrong.exercises[0].status == "failed" and right.exercises[0].status == "passed"
    replayed, ran = graded(kit, folder, reference, cache_for(kit, folder, tmp_path), exercises=["bn_forward"])
    assert ran == set() and replayed.exercises[0].status == "passed"


def test_a_result_graded_while_the_folder_changed_is_not_stored(kit, reference, tmp_path):
    folder = make_submission(tmp_path / "s")
    cache = cache_for(kit, folder, tmp_path)

    def save_meanwhile(result, done, total):
        (folder / "notes.txt").write_text(f"saved during check {done}")

    grade(kit, folder, exercises=["bn_sgd_step"], reference=reference, cache=cache, on_check=save_meanwhile)
    assert not list((tmp_path / "results").glob("*.json"))


def test_relocation_replaces_whole_path_components_only():
    data = {"a": "/x/s/batchnorm.py and /x/s2/other.py", "b": ["/x/s", {"/x/s/k": 1}], "c": 3}
    out = relocate(data, {"/x/s": PLACEHOLDER})
    assert out == {"a": f"{PLACEHOLDER}/batchnorm.py and /x/s2/other.py", "b": [PLACEHOLDER, {f"{PLACEHOLDER}/k": 1}],
                   "c": 3}
    assert relocate(out, {PLACEHOLDER: "/y/t"})["a"] == "/y/t/batchnorm.py and /x/s2/other.py"


def test_a_folder_too_large_to_hash_is_not_cached(kit, reference, tmp_path, monkeypatch):
    folder = make_submission(tmp_path / "s")
    monkeypatch.setattr("autograder.grading.result_cache.MAX_FILES", 3)
    cache = cache_for(kit, folder, tmp_path)
    assert cache.key("dropout") is None
    graded(kit, folder, reference, cache, ["dropout"])
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").iterdir())


def test_transient_failures_are_never_kept(kit, reference, tmp_path):
    hang = mutate("optim.py", "    step = grad + weight_decay", "    while True:\n        pass\n    step = grad + weight_decay")
    folder = make_submission(tmp_path / "s", {"optim.py": hang})
    quick = fast_kit(kit, seconds=0.5)
    _, ran = graded(quick, folder, reference, cache_for(quick, folder, tmp_path), ["bn_sgd_step", "dropout"])
    assert ran == {"bn_sgd_step", "dropout"}
    _, ran = graded(quick, folder, reference, cache_for(quick, folder, tmp_path), ["bn_sgd_step", "dropout"])
    assert ran == {"bn_sgd_step"}  # the timeout is graded again; dropout's clean result is reused


def test_a_damaged_entry_is_ignored_and_replaced(kit, reference, tmp_path):
    folder = make_submission(tmp_path / "s")
    graded(kit, folder, reference, cache_for(kit, folder, tmp_path), ["dropout"])
    entry = next((tmp_path / "results").glob("*.json"))
    entry.write_text('{"id": "dropout", "checks": [')
    report, ran = graded(kit, folder, reference, cache_for(kit, folder, tmp_path), ["dropout"])
    assert ran == {"dropout"} and report.exercise("dropout").status == "passed"
    _, ran = graded(kit, folder, reference, cache_for(kit, folder, tmp_path), ["dropout"])
    assert ran == set()


def test_other_seeds_and_other_kits_do_not_share_results(kit, reference, tmp_path):
    folder = make_submission(tmp_path / "s")
    course_copy = tmp_path / "course.yml"
    course_copy.write_text((ROOT / "course.yml").read_text().replace("points: 15", "points: 16", 1))
    ours = cache_for(kit, folder, tmp_path)
    theirs = ResultCache(tmp_path / "results", kit.course, course_copy, folder, kit.course.policy.seed)
    other_seed = ResultCache(tmp_path / "results", kit.course, ROOT / "course.yml", folder, 7)
    with_advice = cache_for(kit, folder, tmp_path, advice=True)
    looser = ResultCache(tmp_path / "results", with_policy(kit, tolerance={
        **kit.course.policy.tolerance, "float64": Tolerance(rtol=1e-6, atol=1e-8)}), ROOT / "course.yml", folder,
        kit.course.policy.seed)
    no_contract = ResultCache(tmp_path / "results", with_policy(kit, contract_share=0.0), ROOT / "course.yml",
                              folder, kit.course.policy.seed)
    keys = {c.key("bn_forward") for c in (ours, theirs, other_seed, with_advice, looser, no_contract)}
    assert len(keys) == 6


def with_policy(kit, **changes):
    return msgspec.structs.replace(kit.course, policy=msgspec.structs.replace(kit.course.policy, **changes))


def test_a_damaged_reference_entry_is_recomputed(kit, tmp_path):
    folder = tmp_path / "refs"
    first = grade(kit, SOLUTIONS, exercises=["dropout"], reference=Reference(folder))
    entries = sorted(folder.glob("*.ref"))
    assert entries and first.exercise("dropout").status == "passed"
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:-7])  # truncated
    again = Reference(folder)
    assert grade(kit, SOLUTIONS, exercises=["dropout"], reference=again).exercise("dropout").status == "passed"
    assert again.computed == len(entries)  # every damaged entry was rebuilt...
    rebuilt = Reference(folder)
    grade(kit, SOLUTIONS, exercises=["dropout"], reference=rebuilt)
    assert rebuilt.computed == 0  # ...and is good again


def test_a_warm_grade_never_imports_torch(tmp_path):
    """With reference values cached but every result graded again, torch is not imported."""
    env = {**os.environ, "GRADE_STATE_DIR": str(tmp_path / "state")}
    script = ("import sys; from autograder.cli import main; code = main(['--solutions', '--json']); "
              "print('TORCH' if 'torch' in sys.modules else 'NO TORCH', file=sys.stderr); sys.exit(code)")
    cold = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    last_line = cold.stderr.strip().splitlines()[-1]
    # Even cold, the grader itself does not import torch: a reference process computes the values.
    assert cold.returncode == 0 and last_line == "NO TORCH"
    assert len(list((tmp_path / "state" / "cache").glob("*.ref"))) > 50
    for entry in (tmp_path / "state" / "cache" / "results").glob("*.json"):
        entry.unlink()
    warm = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert warm.returncode == 0 and warm.stderr.strip().splitlines()[-1] == "NO TORCH"
    assert warm.stdout == cold.stdout.replace(cold.stdout.split('"duration_seconds": ')[1].split(",")[0],
                                              warm.stdout.split('"duration_seconds": ')[1].split(",")[0])
