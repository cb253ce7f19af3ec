"""course.yml is validated on load; a mistake names the line and the key."""

import textwrap

import pytest
from support import ROOT

from autograder.course import CourseError, load_course
from autograder.kit import CHECKS_DIR

COURSE = (ROOT / "course.yml").read_text()


def load_text(tmp_path, text):
    path = tmp_path / "course.yml"
    path.write_text(text)
    return load_course(path, checks_dir=CHECKS_DIR)


def line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_shipped_course_loads():
    course = load_course(ROOT / "course.yml", checks_dir=CHECKS_DIR)
    assert course.total_points == 100
    assert course.ids[0] == "bn_forward"
    assert course.owner("batchnorm_backward").id == "bn_backward"


@pytest.mark.parametrize("old, new, expected, line_with", [
    ("    points: 20\n", "    points: twenty\n", "exercises[1].points): Expected `float`, got `str`", "twenty"),
    ("    checks: bn_backward\n", "    checks: bn_backward\n    colour: red\n",
     "exercises[1].colour): unknown key `colour` (a misspelling?)", "colour"),
    ("  seconds_per_call: 5 ", "  seconds_per_call: -1 ", "policy.seconds_per_call): `seconds_per_call` must be positive",
     "seconds_per_call: -1"),
    ("    requires: [bn_forward]\n", "    requires: [dropout]\n",
     "exercises[1].requires): `exercises[1].requires`: 'bn_backward' requires 'dropout', which must be an earlier exercise",
     "requires: [dropout]"),
    ("    checks: bn_backward\n", "    checks: no_such_checks\n",
     "exercises[1].checks): no check module 'no_such_checks'", "no_such_checks"),
])
def test_a_mistake_names_its_line_and_key(tmp_path, old, new, expected, line_with):
    assert COURSE.count(old) == 1
    text = COURSE.replace(old, new)
    with pytest.raises(CourseError) as error:
        load_text(tmp_path, text)
    assert expected in str(error.value)
    assert f"line {line_of(text, line_with)} " in str(error.value)


def test_a_missing_key_is_named(tmp_path):
    text = COURSE.replace("    points: 15\n    checks: bn_forward\n", "    checks: bn_forward\n")
    with pytest.raises(CourseError, match=r"exercises\[0\]\): the key `points` is missing"):
        load_text(tmp_path, text)


def test_too_few_hints(tmp_path):
    text = textwrap.dedent("""\
        title: {en: T, es: T}
        policy: {}
        exercises:
          - id: only
            title: {en: A, es: A}
            points: 1
            checks: bn_forward
            hints:
              - {en: one, es: uno}
        """)
    with pytest.raises(CourseError, match=r"line 8 \(exercises\[0\]\.hints\): `hints`: 'only' needs 2 or 3 hints, has 1"):
        load_text(tmp_path, text)


def test_a_text_missing_its_spanish_is_named(tmp_path):
    text = COURSE.replace("      es: Dropout invertido\n", "")
    with pytest.raises(CourseError, match=r"line \d+ \(exercises\[5\]\.title\): the key `es` is missing"):
        load_text(tmp_path, text)


def test_invalid_yaml_names_the_line(tmp_path):
    text = COURSE.replace("    checks: bn_sgd_step", "    checks: [bn_sgd_step")
    with pytest.raises(CourseError, match=r"course.yml, line \d+: not valid YAML"):
        load_text(tmp_path, text)


def test_duplicate_exercise_ids(tmp_path):
    text = COURSE.replace("  - id: bn_backward", "  - id: bn_forward")
    with pytest.raises(CourseError, match=r"\(exercises\[1\]\.id\): .*exercise id 'bn_forward' appears twice"):
        load_text(tmp_path, text)


def test_with_requirements_adds_prerequisites_in_course_order():
    course = load_course(ROOT / "course.yml", checks_dir=CHECKS_DIR)
    assert course.with_requirements(["bn_layer_training"]) == [
        "bn_forward", "bn_backward", "bn_running_stats", "bn_sgd_step", "bn_layer_training"]
    assert course.with_requirements(["dropout"]) == ["dropout"]


def test_a_kept_copy_of_the_course_is_read_back_and_made_again_when_the_file_changes(tmp_path):
    cache = tmp_path / "cache"
    path = tmp_path / "course.yml"
    path.write_text(COURSE)
    parsed = load_course(path, checks_dir=CHECKS_DIR, cache_dir=cache)
    [copy] = cache.glob("course-*.json")
    assert load_course(path, checks_dir=CHECKS_DIR, cache_dir=cache) == parsed  # from the copy
    path.write_text(COURSE.replace("    points: 20\n", "    points: 25\n"))
    changed = load_course(path, checks_dir=CHECKS_DIR, cache_dir=cache)
    assert changed.exercise("bn_backward").points == 25
    assert [c.name for c in cache.glob("course-*.json")] != [copy.name]  # replaced, not added
    next(cache.glob("course-*.json")).write_text("{damaged")
    assert load_course(path, checks_dir=CHECKS_DIR, cache_dir=cache) == changed


def test_a_course_read_from_its_copy_still_names_the_line_of_a_missing_check_module(tmp_path):
    path = tmp_path / "course.yml"
    text = COURSE.replace("    checks: bn_backward\n", "    checks: gone_since\n")
    path.write_text(text)
    checks = tmp_path / "checks"
    checks.mkdir()
    for module in CHECKS_DIR.glob("*.py"):
        (checks / module.name).write_text("")
    (checks / "gone_since.py").write_text("")
    load_course(path, checks_dir=checks, cache_dir=tmp_path / "cache")  # the copy is kept
    (checks / "gone_since.py").unlink()
    with pytest.raises(CourseError, match=rf"line {line_of(text, 'gone_since')} .*no check module 'gone_since'"):
        load_course(path, checks_dir=checks, cache_dir=tmp_path / "cache")
