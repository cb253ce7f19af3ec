"""Answers: read as typed or as written in a file, judged with the right feedback, scored,
saved atomically in the state file and in answers files."""

import io
import json

import jsonschema
import pytest
import yaml
from rich.console import Console
from support import EXERCISES, SOLUTIONS, make_submission

from autograder.course import CourseError, Text
from autograder.grading.results import ExerciseResult, GradeReport
from autograder.i18n import Msg, Translator
from autograder.quiz.answers import (
    ANSWERS_FILE,
    QuizStore,
    key_result,
    quiz_for_report,
    quiz_result,
    quiz_to_json,
    read_answers,
    write_answers,
)
from autograder.quiz.bank import LETTERS, Matching, Multiple, Numeric, Single, load_bank
from autograder.quiz.check import AnswerError, check, judge, key, parse, variant_of
from autograder.quiz.views import AnswersView, QuestionView, QuizSummaryView, VerdictView
from autograder.state import State
from autograder.ui.json_report import SCHEMA_FILE, report_to_json
from autograder.ui.report import ReportView

SEED = 4242


@pytest.fixture(scope="module")
def bank(kit):
    return load_bank(kit)


def render(view, language="en", width=100) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(view)
    return console.file.getvalue()


# -- reading answers ------------------------------------------------------------------------------


@pytest.mark.parametrize("question_id, typed, canonical", [
    ("ics_definition", " B) ", "b"),
    ("ics_consequences", "c, a b", ["a", "b", "c"]),
    ("ics_consequences", "ca", ["a", "c"]),
    ("ics_consequences", ["b", "a"], ["a", "b"]),
    ("ics_fixed_data", "v", True),
    ("ics_fixed_data", "Sí", True),
    ("ics_debated", "F", False),
    ("ics_debated", False, False),
    ("num_running_mean", "0,867", 0.867),
    ("num_running_mean", "1/4", 0.25),
    ("num_bn_parameters", 96, 96.0),
    ("place_block", "3 4 1 2", ["linear", "batchnorm", "relu", "dropout"]),
    ("place_block", "3412", ["linear", "batchnorm", "relu", "dropout"]),
    ("place_block", [3, 4, 1, 2], ["linear", "batchnorm", "relu", "dropout"]),
    ("place_block", ["linear", "batchnorm", "relu", "dropout"], ["linear", "batchnorm", "relu", "dropout"]),
    ("vs_properties", "a c a b d", {"batch_statistics": "bn", "train_eval": "both", "learnable": "bn",
                                    "identity_at_test": "dropout", "drops_layers": "neither"}),
    ("vs_properties", {"batch_statistics": "a", "train_eval": "both", "learnable": "bn",
                       "identity_at_test": "b", "drops_layers": "neither"},
     {"batch_statistics": "bn", "train_eval": "both", "learnable": "bn", "identity_at_test": "dropout",
      "drops_layers": "neither"}),
])
def test_answers_are_read_in_every_accepted_form(bank, question_id, typed, canonical):
    assert parse(bank.question(question_id), typed) == canonical


@pytest.mark.parametrize("question_id, typed, key", [
    ("ics_definition", "e", "quiz.expect.single"),
    ("ics_definition", "ab", "quiz.expect.single"),
    ("ics_consequences", "a a", "quiz.expect.repeated"),
    ("ics_consequences", "", "quiz.expect.multiple"),
    ("ics_consequences", "a z", "quiz.expect.multiple"),
    ("ics_fixed_data", "maybe", "quiz.expect.true_false"),
    ("num_running_mean", "abc", "quiz.expect.number"),
    ("num_running_mean", "nan", "quiz.expect.number"),
    ("num_running_mean", "1/0", "quiz.expect.number"),
    ("num_running_mean", True, "quiz.expect.number"),
    ("place_block", "1 2 3", "quiz.expect.ordering"),
    ("place_block", "1 1 2 3", "quiz.expect.ordering"),
    ("place_block", "5 1 2 3", "quiz.expect.ordering"),
    ("vs_properties", "a b", "quiz.expect.matching"),
    ("vs_properties", "a b c d z", "quiz.expect.option"),
    ("vs_properties", {"batch_statistics": "a"}, "quiz.expect.matching_ids"),
])
def test_unreadable_answers_say_what_is_expected(bank, question_id, typed, key):
    with pytest.raises(AnswerError) as error:
        parse(bank.question(question_id), typed)
    assert error.value.message.key == key
    assert not check(bank.question(question_id), typed, SEED).correct


# -- judging --------------------------------------------------------------------------------------


def test_the_key_is_right_for_every_question_and_every_student(bank):
    for seed in (0, SEED, 2**31 - 1):
        for question in bank.questions:
            numbers = variant_of(question, seed)
            answer = key(question, numbers)
            assert parse(question, answer) == answer
            verdict = judge(question, answer, numbers)
            assert verdict.correct and verdict.feedback == [], question.id


def test_each_wrong_choice_gets_its_own_feedback(bank):
    for question in bank.questions:
        if isinstance(question, Single):
            for index, choice in enumerate(question.choices):
                verdict = judge(question, LETTERS[index], None)
                assert verdict.correct == choice.correct
                assert verdict.feedback == ([] if choice.correct else [choice.feedback])


def test_multiple_select_names_wrong_picks_and_missed_choices(bank):
    question = bank.question("norm_properties")  # a and b are right
    verdict = judge(question, ["a", "c"], None)
    assert not verdict.correct
    assert verdict.feedback[0] == question.choices[2].feedback
    assert verdict.feedback[1] == Msg("quiz.missed", {"letter": "b"})


def test_a_numeric_mistake_is_recognised(bank):
    question = bank.question("num_normalised_value")
    numbers = variant_of(question, SEED)
    verdict = check(question, round(numbers.mistakes["unbiased"], 2), SEED)
    assert not verdict.correct and verdict.feedback == [question.mistakes["unbiased"]]
    other = check(question, numbers.answer + 100, SEED)
    assert other.feedback[0].key == "quiz.numeric_off"
    assert check(question, round(numbers.answer, 2), SEED).correct  # two decimals are within tolerance


def test_ordering_and_matching_feedback_names_each_misplaced_item(bank):
    block = bank.question("place_block")
    verdict = check(block, ["linear", "relu", "batchnorm", "dropout"], SEED)
    items = {item.id: item for item in block.items}
    assert verdict.feedback == [items["relu"].feedback, items["batchnorm"].feedback]
    properties: Matching = bank.question("vs_properties")
    answer = key(properties, None) | {"identity_at_test": "both"}
    assert judge(properties, answer, None).feedback == [properties.pairs[3].feedback]


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_question_and_feedback_renders_with_the_numbers_filled_in(bank, language):
    t = Translator(language)
    for question in bank.questions:
        numbers = variant_of(question, SEED)
        text = render(QuestionView(question, numbers, t, "Q", "topic"))
        wrong = [LETTERS[i] for i, c in enumerate(question.choices) if not c.correct] \
            if isinstance(question, (Single, Multiple)) else []
        verdicts = [judge(question, letter if isinstance(question, Single) else [letter], numbers) for letter in wrong]
        if isinstance(question, Numeric):
            verdicts += [judge(question, value, numbers) for value in numbers.mistakes.values()]
        text += "".join(render(VerdictView(question, v, numbers, t)) for v in verdicts)
        assert "{" not in text.replace("{{", "") and "quiz." not in text, question.id


# -- scoring and persistence ----------------------------------------------------------------------


def test_the_score_is_derived_from_the_answers(bank, kit):
    answers = {q.id: key(q, variant_of(q, SEED)) for q in bank.questions[:10]}
    answers[bank.questions[0].id] = "d"  # ics_definition: wrong
    result = quiz_result(bank, 10, SEED, answers, source="file")
    assert (result.answered, result.correct) == (10, 9)
    assert result.score == round(10 * 9 / len(bank.questions), 2)
    assert key_result(bank, 10).score == 10


def test_the_state_file_keeps_every_answer_and_the_seed(bank, tmp_path):
    store = QuizStore(State.load(tmp_path))
    seed = store.seed
    question = bank.question("ics_definition")
    store.record(question, "a", bank, 10)  # wrong
    store.record(question, "b", bank, 10)  # right on the second attempt
    saved = json.loads((tmp_path / "state.json").read_text())["quiz"]
    assert saved["seed"] == seed
    assert saved["answers"]["ics_definition"]["answer"] == "b"
    assert saved["answers"]["ics_definition"]["attempts"] == 2
    assert saved["answers"]["ics_definition"]["first_try"] is False
    assert (saved["answered"], saved["correct"], saved["total"]) == (1, 1, len(bank.questions))
    again = QuizStore(State.load(tmp_path))
    assert again.seed == seed
    result = again.result(bank, 10)
    assert result.correct == 1 and result.score == round(10 / len(bank.questions), 2)
    assert [q.first_try for q in result.questions if q.answered] == [False]
    assert not list(tmp_path.glob("*.tmp"))


def test_numeric_answers_are_judged_with_the_students_own_numbers(bank, tmp_path):
    question = bank.question("num_bn_parameters")
    store = QuizStore(State.load(tmp_path))
    answer = variant_of(question, store.seed).answer
    store.record(question, answer, bank, 10)
    assert store.is_right(question)
    other_seed = next(s for s in range(100) if variant_of(question, s).answer != answer)
    assert not check(question, answer, other_seed).correct


def test_reset_forgets_answers_but_keeps_the_seed(bank, tmp_path):
    store = QuizStore(State.load(tmp_path))
    seed = store.seed
    store.record(bank.question("ics_definition"), "b", bank, 10)
    store.reset(bank, 10)
    assert store.answers == {} and store.seed == seed


def test_export_then_read_gives_the_same_score(bank, tmp_path):
    store = QuizStore(State.load(tmp_path))
    for question in bank.questions[::3]:
        store.record(question, key(question, variant_of(question, store.seed)), bank, 10)
    store.record(bank.question("ics_consequences"), ["a"], bank, 10)  # wrong, exported as it is
    path = tmp_path / ANSWERS_FILE
    count = store.export(path, "# my answers\n")
    assert path.read_text().startswith("# my answers\nseed: ")
    read = read_answers(path)
    assert read.seed == store.seed and len(read.answers) == count
    from_file = quiz_result(bank, 10, read.seed, read.answers, source="file")
    assert from_file.correct == store.result(bank, 10).correct > 0


def test_an_answers_file_written_by_hand(bank, tmp_path):
    path = tmp_path / "answers.yml"
    path.write_text("seed: 99\nanswers:\n  ics_definition: b\n  place_block: 3 4 1 2\n  ics_debated: false\n"
                    "  vs_properties: a c a b d\n  no_such_question: a\n")
    read = read_answers(path)
    result = quiz_result(bank, 10, read.seed, read.answers, source="file")
    assert (result.answered, result.correct) == (4, 4)


def test_a_file_without_seed_grades_all_but_numeric_answers(tmp_path, bank):
    path = tmp_path / "answers.yml"
    single = next(q for q in bank.questions if isinstance(q, Single))
    numeric = next(q for q in bank.questions if isinstance(q, Numeric))
    right = next(LETTERS[i] for i, choice in enumerate(single.choices) if choice.correct)
    path.write_text(f"answers:\n  {single.id}: {right}\n  {numeric.id}: 0.5\n")
    read = read_answers(path)
    result = quiz_result(bank, 10, read.seed, read.answers, source="file")
    assert (result.answered, result.correct) == (2, 1)
    verdict = check(numeric, 0.5, None)
    assert not verdict.readable and verdict.feedback == [Msg("quiz.answers.no_seed", {})]


@pytest.mark.parametrize("text, message", [
    ("seed: lots\nanswers: {}\n", "line 1 (seed): Expected `int | null`, got `str`"),
    ("seed: 1\nanswers: [b, c]\n", "line 2 (answers): Expected `object`, got `array`"),
    ("seed: 1\nanswer: {}\n", "line 2 (answer): unknown key `answer` (a misspelling?)"),
    ("seed: 1\nanswers: {a: [b\n", "not valid YAML"),
])
def test_a_broken_answers_file_names_line_and_key(tmp_path, text, message):
    path = tmp_path / "answers.yml"
    path.write_text(text)
    with pytest.raises(CourseError) as error:
        read_answers(path)
    assert str(error.value).startswith("answers.yml") and message in str(error.value)


def test_write_answers_round_trips_every_type(bank, tmp_path):
    answers = {q.id: key(q, variant_of(q, 5)) for q in bank.questions}
    write_answers(tmp_path / "a.yml", 5, answers)
    assert yaml.safe_load((tmp_path / "a.yml").read_text()) == {"seed": 5, "answers": answers}


# -- the quiz in grade's report -------------------------------------------------------------------


def test_which_answers_grade_uses(bank, kit, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADE_STATE_DIR", str(tmp_path / "state"))
    assert quiz_for_report(kit, SOLUTIONS, solutions=True).score == 10
    mine = quiz_for_report(kit, EXERCISES.resolve())
    assert (mine.source, mine.answered, mine.score) == ("state", 0, 0)
    folder = make_submission(tmp_path / "work")
    assert quiz_for_report(kit, folder).source == "none"
    write_answers(folder / ANSWERS_FILE, 3, {q.id: key(q, variant_of(q, 3)) for q in bank.questions})
    full = quiz_for_report(kit, folder)
    assert (full.source, full.seed, full.score) == ("file", 3, 10)
    (folder / ANSWERS_FILE).write_text("seed: [\n")
    broken = quiz_for_report(kit, folder)
    assert broken.score == 0 and "not valid YAML" in broken.error


def report_with_quiz(kit, bank, correct: int) -> GradeReport:
    exercises = [ExerciseResult(e, kit.course.exercise(e).points, not_started=True) for e in kit.course.ids]
    answers = {q.id: key(q, variant_of(q, SEED)) for q in bank.questions[:correct]}
    return GradeReport("exercises", 7, exercises, quiz=quiz_result(bank, 10, SEED, answers, source="state"))


def test_the_quiz_adds_to_the_total(kit, bank):
    report = report_with_quiz(kit, bank, correct=len(bank.questions))
    assert report.max_score == 110 and report.score == 10
    text = render(ReportView(report, kit.course, Translator("en")))
    assert f"✔ {len(bank.questions)}/{len(bank.questions)} right" in text and "10 / 110" in text


def test_a_not_started_exercise_points_to_its_checkpoint(kit, bank):
    text = render(ReportView(report_with_quiz(kit, bank, correct=0), kit.course, Translator("en")))
    assert f"◌ 0/{len(bank.questions)} answered" in text
    assert "Check the idea behind it: grade quiz --checkpoint bn_forward (2 questions)" in text
    assert text.count("--checkpoint") == 1  # only for the next exercise: unobtrusive
    spanish = render(ReportView(report_with_quiz(kit, bank, correct=0), kit.course, Translator("es")))
    assert "grade quiz --checkpoint bn_forward (2 preguntas)" in spanish


def test_checkpoints_answered_right_are_not_mentioned(kit, bank):
    report = report_with_quiz(kit, bank, correct=0)
    for question in report.quiz.checkpoint("bn_forward"):
        question.answered = question.correct = True
    assert "--checkpoint" not in render(ReportView(report, kit.course, Translator("en")))


def test_when_every_exercise_passes_the_quiz_is_next(kit, bank):
    report = report_with_quiz(kit, bank, correct=3)
    for exercise in report.exercises:
        exercise.not_started = False
    report.exercises = [ExerciseResult(e.id, e.max_points) for e in report.exercises]
    for exercise in report.exercises:
        from autograder.grading.results import CheckResult
        exercise.checks = [CheckResult(f"{exercise.id}::a", exercise.id, Msg("x"), "passed")]
    text = render(ReportView(report, kit.course, Translator("en")))
    assert f"Next: the theory quiz, grade quiz ({len(bank.questions) - 3} questions to go)." in text


def test_json_report_with_the_quiz_follows_the_schema(kit, bank):
    report = report_with_quiz(kit, bank, correct=5)
    data = report_to_json(report, kit.course, Translator("en"))
    jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text()))
    assert data["max_score"] == 110 and data["quiz"]["correct"] == 5 and data["quiz"]["max"] == 10
    assert data["score"] == pytest.approx(data["quiz"]["score"])
    no_quiz = GradeReport("exercises", 7, report.exercises)
    assert report_to_json(no_quiz, kit.course, Translator("en"))["quiz"] is None


def test_summary_and_answers_views(kit, bank):
    t = Translator("es")
    result = quiz_result(bank, 10, SEED, {"ics_definition": "b", "ics_sigmoid": "a"}, source="file")
    summary = render(QuizSummaryView(result, bank, t))
    assert "El desplazamiento interno de covariables" in summary and "1/5" in summary
    assert "1 de 58 correctas" in summary.replace(str(len(bank.questions)), "58")
    verdicts = {qid: check(bank.question(qid), answer, SEED) for qid, answer in
                {"ics_definition": "b", "ics_sigmoid": "a"}.items()}
    numbers = {q.id: variant_of(q, SEED) for q in bank.questions}
    table = render(AnswersView(bank, verdicts, numbers, t), width=200)
    assert "✔ Respuestas correctas: 1." in table and "✘ No exactamente. La sigmoide siempre está entre 0 y 1" in table
    assert "ics_definition" not in table  # right answers are only counted
    assert f"Sin responder ({len(bank.questions) - 2}): ics_consequences, ics_fixed_data," in table
    assert quiz_to_json(result)["results"][0] == {"id": "ics_definition", "topic": "covariate_shift",
                                                  "exercise": None, "answered": True, "correct": True,
                                                  "first_try": True}
    assert isinstance(bank.question("ics_definition").prompt, Text)


def test_a_failing_exercise_points_to_its_checkpoint_in_its_panel(kit, bank):
    from autograder.grading.feedback import Feedback
    from autograder.grading.results import CheckResult

    report = report_with_quiz(kit, bank, correct=0)
    failure = Feedback("values", Msg("compare.values", {"name": "dx", "function": "batchnorm_backward",
                                                        "relative": "0.3", "count": 1, "total": 4}))
    report.exercises[1] = ExerciseResult("bn_backward", 20, [
        CheckResult("bn_backward::a", "bn_backward", Msg("x"), "failed", failure)])
    text = render(ReportView(report, kit.course, Translator("en")))
    panel = text[text.index("bn_backward · 1 of 1 checks fail"):]
    assert "grade quiz --checkpoint bn_backward (2 questions)" in panel


def test_grade_list_shows_the_saved_quiz_score(kit):
    from autograder.ui.report import ProgressView

    saved = {"total": 58, "correct": 12, "score": 2.07}
    assert "Theory quiz: 12/58 right · 2.07 / 10 points (grade quiz)" in render(
        ProgressView(kit.course, {}, {}, Translator("en"), quiz=saved))
    assert "Cuestionario de teoría: sin empezar" in render(ProgressView(kit.course, {}, {}, Translator("es")))


def test_an_unreadable_answers_file_says_why_in_the_report(kit, bank):
    report = report_with_quiz(kit, bank, correct=0)
    report.quiz.error = "quiz_answers.yml, line 2 (answrs): unknown key `answrs` (a misspelling?)"
    text = render(ReportView(report, kit.course, Translator("en")), width=200)
    assert "✘ answers file unreadable" in text
    assert ("The quiz answers could not be read, so the quiz scores 0: quiz_answers.yml, line 2 (answrs): "
            "unknown key `answrs`") in text


def test_an_unreadable_answer_is_not_called_a_wrong_idea(bank):
    single = next(q for q in bank.questions if isinstance(q, Single))
    verdict = check(single, "z", 1)
    assert not verdict.correct and not verdict.readable
    text = render(AnswersView(bank, {single.id: verdict}, {single.id: None}, Translator("en")), width=200)
    assert "⚠ Could not read this answer (it counts as wrong)." in text and "Not quite" not in text


def test_plain_text_of_a_seedless_file_names_the_missing_seed(bank):
    from autograder.ui.plain_text import quiz_text

    numeric = next(q for q in bank.questions if isinstance(q, Numeric))
    answers = {numeric.id: 0.5}
    text = quiz_text(bank, quiz_result(bank, 10, None, answers, source="file"), answers, Translator("en"))
    assert text.startswith("quiz: 0 / 10 points\n")
    assert "Numeric answers need the seed" in " ".join(text.split())
