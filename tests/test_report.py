"""The Rich views, rendered at a fixed width, and the JSON view, on hand-made results."""

import io

import pytest
from rich.console import Console

from autograder.grading.feedback import Feedback
from autograder.grading.results import CheckResult, ExerciseResult, GradeReport
from autograder.i18n import Translator, msg
from autograder.ui.json_report import check_to_json
from autograder.ui.report import HintView, ProgressView, ReportView


def render(view, width=100) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(view)
    return console.file.getvalue()


def values_failure() -> Feedback:
    return Feedback("values", msg("compare.values", name="dx", function="batchnorm_backward", relative="0.31",
                                  count=12, total=12),
                    [msg("compare.max_error", error="0.52", index="[3, 0]", expected="1.2", got="0.68")],
                    location={"file": "exercises/batchnorm.py", "line": 23, "function": "batchnorm_backward",
                              "code": "dx = dout * gamma"})


@pytest.fixture
def report(kit) -> GradeReport:
    title = msg("checks.bn_forward.float32_stays_float32")
    forward = ExerciseResult("bn_forward", 15, [CheckResult("bn_forward::a", "bn_forward", title, "passed"),
                                                CheckResult("bn_forward::b", "bn_forward", title, "passed")])
    backward = ExerciseResult("bn_backward", 20, [
        CheckResult("bn_backward::a", "bn_backward", title, "passed"),
        CheckResult("bn_backward::b", "bn_backward", title, "failed", values_failure(),
                    output="debug: shapes (4, 5)\n", output_bytes=21),
        CheckResult("bn_backward::c", "bn_backward", title, "failed", values_failure()),
    ])
    running = ExerciseResult("bn_running_stats", 15, [
        CheckResult("bn_running_stats::a", "bn_running_stats", title, "blocked",
                    Feedback("exception", msg("feedback.exception", function="f", type="E", message="m")),
                    blocked_by="bn_forward")])
    stubs = ExerciseResult("dropout", 15, [CheckResult("dropout::a", "dropout", title, "not_started")],
                           not_started=True)
    return GradeReport("exercises", 7, [forward, backward, running, stubs])


def test_scores_are_derived(report):
    assert report.exercise("bn_backward").score == pytest.approx(20 / 3, abs=0.01)
    assert report.score == pytest.approx(15 + 20 / 3, abs=0.01)
    assert report.max_score == 65
    assert [e.status for e in report.exercises] == ["passed", "failed", "blocked", "not_started"]


def test_course_run_shows_table_total_and_first_failure(report, kit):
    text = render(ReportView(report, kit.course, Translator("en")))
    assert "bn_forward" in text and "✔ passed" in text and "15 / 15" in text
    assert "✘ 1/3 checks" in text and "6.67 / 20" in text
    assert "⧗ blocked by bn_forward" in text
    assert "◌ not started" in text
    assert "21.67 / 65" in text
    assert "bn_backward · 2 of 3 checks fail" in text
    assert "dx returned by batchnorm_backward does not match PyTorch: 12 of 12 values are off" in text
    assert "Largest error 0.52 at [3, 0]: expected 1.2, got 0.68." in text
    assert "→ exercises/batchnorm.py, line 23, in batchnorm_backward" in text
    assert "dx = dout * gamma" in text
    assert "Your code printed (21 bytes):" in text and "│ debug: shapes (4, 5)" in text
    assert "1 more failing checks: grade bn_backward shows them all." in text
    assert "Blocked: this check calls bn_forward" in text
    assert "bn_running_stats · blocked by bn_forward" in text  # not "1 of 1 checks fail"
    assert "Next: fix bn_backward" in text
    assert "Every exercise passes" not in text


def test_a_blocked_exercise_is_not_explained_twice(report, kit):
    only = GradeReport("exercises", 7, [report.exercise("bn_running_stats")])
    text = render(ReportView(only, kit.course, Translator("en"), detail="all"))
    assert text.count("Blocked: this check calls bn_forward") == 1


def test_one_passing_exercise_is_not_the_whole_course(report, kit):
    only = GradeReport("exercises", 7, [report.exercise("bn_forward")])
    text = render(ReportView(only, kit.course, Translator("en")))
    assert "Everything graded here passes (bn_forward)." in text and "Every exercise passes" not in text


def test_single_exercise_lists_every_check(report, kit):
    only = GradeReport("exercises", 7, [report.exercise("bn_backward")])
    text = render(ReportView(only, kit.course, Translator("en"), detail="all"))
    assert text.count("✔ float32 inputs give a float32 output") == 1
    assert text.count("✘ float32 inputs give a float32 output") == 3  # two in the list, one in detail
    assert text.count("Largest error") == 1


def test_narrow_terminals_keep_status_and_points(report, kit):
    text = render(ReportView(report, kit.course, Translator("en")), width=72)
    assert "⧗ blocked by bn_forward" in text
    assert "21.67 / 65" in text
    assert max(len(line) for line in text.splitlines()) <= 72


def test_spanish_report(report, kit):
    text = render(ReportView(report, kit.course, Translator("es")))
    assert "✔ superado" in text and "◌ sin empezar" in text and "bloqueado por bn_forward" in text
    assert "Mayor error 0.52 en [3, 0]" in text
    assert "línea 23" in text


def test_progress_and_hints(kit):
    progress = {"bn_forward": {"status": "passed", "score": 15}, "bn_backward": {"status": "failed", "score": 5,
                                                                                 "passed": 1, "checks": 4}}
    text = render(ProgressView(kit.course, progress, {"bn_forward": 2}, Translator("en")))
    assert "✔ passed" in text and "1/4 checks" in text and "not graded yet" in text
    assert "2/3 hints" in text
    assert "1 of 8 exercises pass · 20 / 100 points" in text
    hints = render(HintView(kit.course.exercise("bn_forward"), 2, Translator("es")))
    assert "Pista 1 de 3" in hints and "Pista 2 de 3" in hints and "Pista 3 de 3" not in hints
    assert "grade hint bn_forward" in hints
    in_watch = render(HintView(kit.course.exercise("bn_forward"), 1, Translator("en"), more="watch.hint_more"))
    assert "Press h again for the next hint." in in_watch and "grade hint" not in in_watch


def test_json_of_a_blocked_check_explains_the_block(report):
    check = report.exercise("bn_running_stats").checks[0]
    data = check_to_json(check, Translator("en"))
    assert data["outcome"] == "blocked" and data["blocked_by"] == "bn_forward"
    assert data["message"].startswith("Blocked: this check calls bn_forward")
