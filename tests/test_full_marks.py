"""The reference solutions score full marks; the untouched stubs score zero, and every check
really fails on them (not only because stubs are recognised and skipped)."""

import re

from support import EXERCISES, SOLUTIONS

from autograder.grading.stubs import not_started, unimplemented


def test_solutions_score_full_marks(solutions_report, kit):
    assert solutions_report.score == solutions_report.max_score == kit.course.total_points == 100
    failing = [c.id for e in solutions_report.exercises for c in e.checks if not c.passed]
    assert failing == []
    assert all(len(e.checks) >= 3 for e in solutions_report.exercises)


def test_stubs_are_recognised_as_not_started(kit):
    assert not_started(kit.course, EXERCISES) == set(kit.course.ids)
    assert not_started(kit.course, SOLUTIONS) == set()


def test_stubs_score_zero(kit, grade_files):
    report = grade_files(base=EXERCISES)
    assert report.score == 0
    assert {e.status for e in report.exercises} == {"not_started"}


def test_every_check_fails_on_the_running_stubs(kit, grade_files, solutions_report):
    """Make the stubs unrecognisable (a statement before the raise) so every check runs."""
    disguised = {path.name: re.sub(r"(\n    )(raise NotImplementedError)", r"\1_ = None\1\2", path.read_text())
                 for path in EXERCISES.glob("*.py")}
    report = grade_files(disguised, base=EXERCISES)
    passed = [c.id for e in report.exercises for c in e.checks if c.passed]
    assert passed == []
    stages = {c.feedback.stage if c.outcome == "failed" else c.outcome for e in report.exercises for c in e.checks}
    assert stages <= {"not_implemented", "blocked"}
    assert sum(len(e.checks) for e in report.exercises) == sum(len(e.checks) for e in solutions_report.exercises)


def test_stub_detection_ignores_started_functions(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('def a():\n    """doc"""\n    raise NotImplementedError("x")\n'
                    'def b():\n    raise NotImplementedError\n'
                    'def c():\n    x = 1\n    raise NotImplementedError\n'
                    'def d():\n    raise NotImplementedError\n'
                    'def d():\n    return 1\n')
    assert unimplemented(path) == {"a", "b"}
    path.write_text("def a(:\n")
    assert unimplemented(path) == set()
