"""The two caches: reference values (no torch when warm) and exercise results (unchanged code
is not graded again). Both are only caches: deleting or damaging them changes nothing but speed."""

from __future__ import annotations

import os
import subprocess
import sys

from support import ROOT, SOLUTIONS, fast_kit, make_submission, mutate

from autograder.grading.reference import Reference
from autograder.grading.result_cache import ResultCache, local_imports
from autograder.grading.runner import grade


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


def test_a_change_regrades_exactly_the_exercises_that_depend_on_the_file(kit, reference, tmp_path):
    folder = make_submission(tmp_path / "s")
    graded(kit, folder, reference, cache_for(kit, folder, tmp_path))
    (folder / "optim.py").write_text((folder / "optim.py").read_text() + "\n# edited\n")
    _, ran = graded(kit, folder, reference, cache_for(kit, folder, tmp_path))
    assert ran == {"bn_sgd_step", "bn_layer_training"}
    (folder / "batchnorm.py").write_text((folder / "batchnorm.py").read_text() + "\n# edited\n")
    _, ran = graded(kit, folder, reference, cache_for(kit, folder, tmp_path))
    assert ran == {"bn_forward", "bn_backward", "bn_running_stats", "spatial_bn", "bn_layer_training"}


def test_a_file_imported_by_another_is_part_of_its_key(kit, reference, tmp_path):
    reuse = '''
from batchnorm import batchnorm_backward, batchnorm_forward

def spatial_batchnorm_forward(x, gamma, beta, eps=1e-5):
    n, c, h, w = x.shape
    out, cache = batchnorm_forward(x.transpose(0, 2, 3, 1).reshape(-1, c), gamma, beta, eps)
    return out.reshape(n, h, w, c).transpose(0, 3, 1, 2), (cache, x.shape)

def spatial_batchnorm_backward(dout, cache):
    cache, (n, c, h, w) = cache
    dx, dgamma, dbeta = batchnorm_backward(dout.transpose(0, 2, 3, 1).reshape(-1, c), cache)
    return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2), dgamma, dbeta
'''
    folder = make_submission(tmp_path / "s", {"spatial_batchnorm.py": reuse})
    assert local_imports(folder / "spatial_batchnorm.py") == {"batchnorm.py"}
    cache = cache_for(kit, folder, tmp_path)
    assert cache.files("spatial_bn") == {"spatial_batchnorm.py", "batchnorm.py"}
    assert cache.files("bn_layer_training") == {"batchnorm.py", "optim.py"}
    before, _ = graded(kit, folder, reference, cache, ["spatial_bn"])
    assert before.exercise("spatial_bn").status == "passed"
    (folder / "batchnorm.py").write_text(mutate("batchnorm.py", "x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps"))
    after, ran = graded(kit, folder, reference, cache_for(kit, folder, tmp_path), ["spatial_bn"])
    assert "spatial_bn" in ran and after.exercise("spatial_bn").status != "passed"


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
    keys = {c.key("bn_forward") for c in (ours, theirs, other_seed, with_advice)}
    assert len(keys) == 4


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
