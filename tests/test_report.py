"""The Rich views, rendered at a fixed width, and the JSON view, on hand-made results: every
failure is explained once, every failed line carries its reason, a file that does not import
is reported once at the top, and output that teaches nothing is left out."""

import io
import re
import sys

import pytest
from rich.console import Console

from autograder.grading.feedback import Feedback
from autograder.grading.results import CheckResult, ExerciseResult, GradeReport
from autograder.i18n import Translator, msg
from autograder.ui.json_report import check_to_json, report_to_json
from autograder.ui.report import ExerciseView, ProgressView, ReportView


def render(view, width=100) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(view)
    return console.file.getvalue()


def flat(text: str) -> str:
    """The rendered text as one line of words (panel borders and wrapping removed)."""
    return " ".join(text.replace("│", " ").split())


def values_failure(misconception=None, got_std="1.2") -> Feedback:
    return Feedback("values", msg("compare.values", name="dx", function="batchnorm_backward", relative="0.31",
                                  count=12, total=12),
                    [msg("compare.max_error", error="0.52", index="[3, 0]", expected="1.2", got="0.68"),
                     msg("compare.stats", expected_mean="0", expected_std="1.2", got_mean="0", got_std=got_std),
                     msg("compare.tolerance", rtol="1e-08"),
                     *([] if misconception else [msg("compare.no_misconception")])],
                    location={"file": "exercises/batchnorm.py", "line": 23, "function": "batchnorm_backward",
                              "code": "dx = dout * gamma"}, misconception=misconception)


def syntax_error(module="batchnorm") -> Feedback:
    return Feedback("import", msg("feedback.import", module=module, function="f", type="SyntaxError",
                                  message="invalid syntax (batchnorm.py, line 18)"),
                    location={"file": "exercises/batchnorm.py", "line": 18, "function": None,
                              "code": "    if n <2 print(1)", "column": 13})


TITLE = msg("checks.bn_forward.float32_stays_float32")


def check(exercise, name, outcome="passed", feedback=None, **extra) -> CheckResult:
    return CheckResult(f"{exercise}::{name}", exercise, TITLE, outcome, feedback, **extra)


@pytest.fixture
def report(kit) -> GradeReport:
    forward = ExerciseResult("bn_forward", 15, [check("bn_forward", "a"), check("bn_forward", "b")])
    backward = ExerciseResult("bn_backward", 20, [
        check("bn_backward", "a"),
        check("bn_backward", "b", "failed", values_failure(), output="debug: shapes (4, 5)\n", output_bytes=21),
        check("bn_backward", "c", "failed", values_failure()),
    ])
    running = ExerciseResult("bn_running_stats", 15, [
        check("bn_running_stats", "a", "blocked",
              Feedback("exception", msg("feedback.exception", function="f", type="E", message="m")),
              blocked_by="bn_forward")])
    stubs = ExerciseResult("dropout", 15, [check("dropout", "a", "not_started")], not_started=True)
    return GradeReport("exercises", 7, [forward, backward, running, stubs])


def test_scores_are_derived(report):
    assert report.exercise("bn_backward").score == pytest.approx(20 / 3, abs=0.01)
    assert report.score == pytest.approx(15 + 20 / 3, abs=0.01)
    assert report.max_score == 65
    assert [e.status for e in report.exercises] == ["passed", "failed", "blocked", "not_started"]


def test_course_run_shows_table_total_and_first_failure_once(report, kit):
    text = render(ReportView(report, kit.course, Translator("en")))
    assert "bn_forward" in text and "✔ passed" in text and "15 / 15" in text
    assert "✘ 1/3 checks" in text and "6.67 / 20" in text
    assert "⧗ blocked by bn_forward" in text
    assert "◌ not started" in text
    assert "21.67 / 65" in text
    assert "bn_backward · 2 of 3 checks fail" in text
    assert text.count("dx returned by batchnorm_backward does not match PyTorch: 12 of 12 values are off") == 1
    assert text.count("Largest error 0.52 at [3, 0]: expected 1.2, got 0.68.") == 1
    assert "→ exercises/batchnorm.py, line 23, in batchnorm_backward" in text
    assert "dx = dout * gamma" in text
    assert "Your code printed (21 bytes):" in text and "│ debug: shapes (4, 5)" in text
    assert "1 more failing checks: grade bn_backward lists them." in text
    assert "bn_running_stats waits for bn_forward, which does not pass yet" in flat(text)
    assert "Blocked: this check calls" not in text  # one line per blocked exercise, not a panel
    assert "Next: fix bn_backward" in text
    assert "Every exercise passes" not in text


def test_one_exercise_gives_every_failed_line_a_reason_and_explains_the_first_once(report, kit):
    only = GradeReport("exercises", 7, [report.exercise("bn_backward")])
    text = render(ReportView(only, kit.course, Translator("en"), detail="all"))
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if "✘" in line and "│" in line:  # a failed check: its reason follows on the next line
            assert "does not match PyTorch" in lines[number + 1], line
    assert text.count("✔ float32 inputs give a float32 output") == 1
    assert text.count("✘ float32 inputs give a float32 output") == 2  # listed once each, never again
    assert text.count("Largest error") == 1
    assert text.count("does not match PyTorch: 12 of 12") == 2
    assert "grade bn_backward --verbose explains each in full" in flat(text)


def test_verbose_explains_every_failure_in_full(report, kit):
    only = GradeReport("exercises", 7, [report.exercise("bn_backward")])
    text = render(ReportView(only, kit.course, Translator("en"), detail="verbose"))
    assert text.count("Largest error") == 2
    assert text.count("does not match PyTorch: 12 of 12") == 2
    assert "--verbose" not in text


def test_checks_failing_alike_share_one_reason_line(kit):
    missing = Feedback("not_implemented", msg("feedback.not_implemented", function="batchnorm_eval"))
    result = ExerciseResult("bn_running_stats", 15, [
        check("bn_running_stats", "a", "failed", values_failure()),
        *[check("bn_running_stats", name, "failed", missing) for name in ("b", "c", "d")]])
    text = render(ExerciseView(result, kit.course, Translator("en")))
    assert text.count("batchnorm_eval is not implemented yet") == 1
    assert "The 3 checks above: batchnorm_eval is not implemented yet" in flat(text)


def test_a_file_that_does_not_import_is_reported_once_at_the_top(kit):
    broken = [check(exercise, name, "failed", syntax_error()) for exercise in ("bn_forward", "bn_backward")
              for name in ("a", "b")]
    forward = ExerciseResult("bn_forward", 15, broken[:2])
    backward = ExerciseResult("bn_backward", 20, broken[2:])
    dropout = ExerciseResult("dropout", 15, [check("dropout", "a")])
    report = GradeReport("exercises", 7, [forward, backward, dropout])
    for detail in ("first", "all", "verbose"):
        text = render(ReportView(report, kit.course, Translator("en"), detail=detail), width=80)
        assert text.count("SyntaxError") == 1, detail
        assert text.index("SyntaxError") < text.index("Points")  # above the table
        code_line = next(line for line in text.splitlines() if "if n <2 print(1)" in line)
        caret_line = text.splitlines()[text.splitlines().index(code_line) + 1]
        assert caret_line.index("^") == code_line.index("print"), (code_line, caret_line)
        assert "Not run until it imports: bn_forward, bn_backward." in flat(text)
        assert text.count("✘ not run") == 2
        assert "Next: fix line 18 of exercises/batchnorm.py so that it imports." in flat(text)


def test_a_broken_file_is_explained_inside_a_standalone_exercise(kit):
    result = ExerciseResult("bn_forward", 15, [check("bn_forward", n, "failed", syntax_error()) for n in "ab"])
    text = render(ExerciseView(result, kit.course, Translator("en"), standalone=True))
    assert text.count("SyntaxError") == 1 and "None of its 2 checks could run." in flat(text)


def test_no_known_mistake_is_never_followed_by_a_diagnosis(kit):
    named = ExerciseResult("bn_backward", 20, [check("bn_backward", "a", "failed",
                                                       values_failure("dx_missing_gamma", got_std="0.5"))])
    text = render(ExerciseView(named, kit.course, Translator("en")))
    assert "Looks like dx left out gamma." in text
    assert "No known mistake" not in text
    assert "Expected values have mean" not in text  # the named mistake says more than the statistics


@pytest.mark.parametrize("got_std, shown", [("1.2", False), ("0.5", True)])
def test_statistics_are_shown_only_when_they_differ(kit, got_std, shown):
    result = ExerciseResult("bn_backward", 20, [check("bn_backward", "a", "failed", values_failure(got_std=got_std))])
    text = render(ExerciseView(result, kit.course, Translator("en")))
    assert ("Expected values have mean" in text) == shown
    assert "No known mistake reproduces these numbers" in text


def test_narrow_terminals_keep_status_and_points_and_never_cut_titles(report, kit):
    for language in ("en", "es"):
        text = render(ReportView(report, kit.course, Translator(language)), width=80)
        assert "21.67 / 65" in text
        assert max(len(line) for line in text.splitlines()) <= 80
        assert "…" not in text
    wide = render(ReportView(report, kit.course, Translator("en")), width=120)
    assert "Batch Normalization, forward pass (training)" in wide


def test_spanish_report(report, kit):
    text = render(ReportView(report, kit.course, Translator("es")))
    assert "✔ superado" in text and "◌ sin empezar" in text and "bloqueado por bn_forward" in text
    assert "Mayor error 0.52 en [3, 0]" in text
    assert "línea 23" in text


def test_hints_used_are_shown_and_in_the_json(report, kit):
    hints = {"bn_backward": 2}
    text = render(ReportView(report, kit.course, Translator("en"), hints=hints))
    assert re.search(r"╰─+ hints used: 2 ─╯", text)
    data = report_to_json(report, kit.course, Translator("en"), hints=hints)
    assert [e["hints_used"] for e in data["exercises"]] == [0, 2, 0, 0]
    assert all(e["hints_used"] is None for e in report_to_json(report, kit.course, Translator("en"))["exercises"])


def test_progress_view(kit):
    progress = {"bn_forward": {"status": "passed", "score": 15}, "bn_backward": {"status": "failed", "score": 5,
                                                                                 "passed": 1, "checks": 4}}
    text = render(ProgressView(kit.course, progress, {"bn_forward": 2}, Translator("en"),
                               misconception_hints={"bn_forward": ["no_eps"]}))
    assert "✔ passed" in text and "1/4 checks" in text and "not graded yet" in text
    assert "2/3 hints +1" in text
    assert "1 of 8 exercises pass · 20 / 100 points" in text


def test_json_of_a_blocked_check_explains_the_block(report):
    check = report.exercise("bn_running_stats").checks[0]
    data = check_to_json(check, Translator("en"))
    assert data["outcome"] == "blocked" and data["blocked_by"] == "bn_forward"
    assert data["message"].startswith("Blocked: this check calls bn_forward")


def test_a_blocked_exercise_says_what_it_waits_for_once(report, kit):
    running = report.exercise("bn_running_stats")
    running.checks.append(check("bn_running_stats", "b", "blocked", running.checks[0].feedback, blocked_by="bn_forward"))
    text = render(ReportView(GradeReport("exercises", 7, [running]), kit.course, Translator("en"), detail="all"))
    assert flat(text).count("Blocked: this check calls bn_forward") == 1
    assert "The 2 checks above: Blocked" in flat(text)


def test_the_progress_bar_waits_draws_at_most_ten_times_a_second_and_has_no_thread(monkeypatch):
    """A quick grading shows no bar; a slower one draws it when checks end, from the grading
    thread (Rich's refreshing thread would hold the interpreter lock while answers wait)."""
    import threading
    from types import SimpleNamespace

    from rich.progress import Progress

    from autograder.ui import commands

    clock = [100.0]
    monkeypatch.setattr(commands.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    draws = []
    monkeypatch.setattr(Progress, "refresh", lambda self: draws.append(clock[0]))
    threads = threading.active_count()
    with commands._progress(Translator("en"), enabled=True) as on_check:
        for step in range(100):  # 100 checks, one every 10 ms: 1 s in all
            on_check(SimpleNamespace(exercise="bn_forward"), step + 1, 100)
            assert threading.active_count() == threads
            clock[0] += 0.01
        draws = list(draws)  # stopping the bar clears it: one more refresh
    assert draws and draws[0] >= 100.0 + commands._progress.DELAY
    assert all(later - earlier >= 1 / commands._progress.RATE - 1e-9 for earlier, later in zip(draws, draws[1:]))
    assert len(draws) <= 8
