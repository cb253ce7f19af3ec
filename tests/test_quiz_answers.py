"""Answers: read as typed (through the student's own order) or as stored (by id), judged with
feedback that never gives the answer away while the question is open, scored by the first
attempt, kept in the state file and in answers files."""

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
    FORMAT,
    AnswersFile,
    QuizStore,
    file_result,
    key_result,
    quiz_for_report,
    quiz_result,
    quiz_to_json,
    read_answers,
    write_answers,
)
from autograder.quiz.bank import Matching, Multiple, Numeric, Ordering, Single, TrueFalse, load_bank
from autograder.quiz.check import AnswerError, check, judge, key, parse, variant_of
from autograder.quiz.order import Shown, as_shown, view_order
from autograder.quiz.views import AnswersView, AnswerView, QuestionView, QuizSummaryView, VerdictView
from autograder.state import State
from autograder.ui.json_report import SCHEMA_FILE, report_to_json
from autograder.ui.report import ReportView

SEED = 4242


@pytest.fixture(scope="module")
def bank(kit):
    return load_bank(kit)


def render(view, width=100) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(view)
    return console.file.getvalue()


def wrong_choice(question) -> str:
    return next(c.id for c in question.choices if not c.correct)


def store_of(tmp_path, bank) -> QuizStore:
    return QuizStore(State.load(tmp_path), bank, 10)


# -- the order a student sees -----------------------------------------------------------------------


def test_each_student_sees_the_choices_in_an_order_of_their_own(bank):
    for question in bank.questions:
        if isinstance(question, (Single, Multiple, Ordering, Matching)):
            orders = {view_order(question, seed) for seed in range(40)}
            assert len(orders) > 1, question.id
            assert view_order(question, 7) == view_order(question, 7)
    block = bank.question("place_block")
    assert all(list(view_order(block, seed).ids) != block.order for seed in range(200))  # never shown solved
    assert view_order(block, None).ids == tuple(item.id for item in block.items)  # no seed: the bank's order


def test_letters_are_read_through_the_students_order(bank):
    question = bank.question("ics_definition")
    shown = view_order(question, SEED)
    for letter, choice_id in zip("abcd", shown.ids):
        assert parse(question, f" {letter.upper()}) ", shown) == choice_id
    assert parse(question, "label_noise", shown) == "label_noise"  # an id is read too
    with pytest.raises(AnswerError) as error:
        parse(question, "b")  # no shown order: a letter means nothing
    assert error.value.message.key == "quiz.expect.choice_ids"


@pytest.mark.parametrize("question_id, typed", [
    ("ics_consequences", "c, a e"), ("ics_consequences", "cae"), ("ics_consequences", ["e", "a", "c"]),
])
def test_multiple_select_reads_letters_in_any_form(bank, question_id, typed):
    question = bank.question(question_id)
    shown = Shown(("slow_learning", "more_overfitting", "small_rates", "later_layers_wait", "init_sensitivity"))
    assert parse(question, typed, shown) == ["init_sensitivity", "slow_learning", "small_rates"]


def test_ordering_and_matching_read_the_shown_numbers_and_letters(bank):
    block = bank.question("place_block")
    shown = Shown(("dropout", "linear", "relu", "batchnorm"))
    assert parse(block, "2 4 3 1", shown) == ["linear", "batchnorm", "relu", "dropout"]
    assert parse(block, "2431", shown) == parse(block, [2, 4, 3, 1], shown)
    properties = bank.question("vs_properties")
    shown = Shown(("learnable", "train_eval", "batch_statistics", "drops_layers", "identity_at_test"),
                  ("neither", "bn", "dropout", "both"))
    assert parse(properties, "b d b a c", shown) == key(properties, None)


@pytest.mark.parametrize("question_id, typed, key_", [
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
def test_unreadable_answers_say_what_is_expected(bank, question_id, typed, key_):
    question = bank.question(question_id)
    with pytest.raises(AnswerError) as error:
        parse(question, typed, view_order(question, SEED))
    assert error.value.message.key == key_
    assert not check(question, typed, SEED, view_order(question, SEED)).correct


def test_the_canonical_form_is_the_same_whatever_the_order(bank):
    """What is stored (and what a hashed key of a student release would hash) never depends on
    the order the student saw."""
    for question in bank.questions:
        right = key(question, variant_of(question, SEED))
        for seed in (1, 2, 3):
            shown = view_order(question, seed)
            assert parse(question, as_shown(question, right, shown), shown) == right, question.id


# -- judging --------------------------------------------------------------------------------------


def test_the_key_is_right_for_every_question_and_every_student(bank):
    for seed in (0, SEED, 2**31 - 1):
        for question in bank.questions:
            numbers = variant_of(question, seed)
            answer = key(question, numbers)
            assert parse(question, answer) == answer
            verdict = judge(question, answer, numbers)
            assert verdict.correct and verdict.feedback == [] and verdict.wrong == (), question.id


def test_each_wrong_choice_gets_its_own_feedback_without_the_right_answer(bank):
    for question in bank.questions:
        if isinstance(question, Single):
            right = next(c for c in question.choices if c.correct)
            for choice in question.choices:
                verdict = judge(question, choice.id, None)
                assert verdict.correct == choice.correct
                assert verdict.feedback == ([] if choice.correct else [choice.feedback])
                for language in ("en", "es"):
                    if not choice.correct and len(right.text(language)) > 12:
                        assert right.text(language) not in choice.feedback(language), (question.id, choice.id)


def test_multiple_select_names_wrong_picks_but_not_the_missed_right_choices(bank):
    question = bank.question("norm_properties")  # mean_zero and variance_one are right
    verdict = judge(question, ["gaussian", "mean_zero"], None)
    assert not verdict.correct and verdict.wrong == ("variance_one",)
    gaussian = next(c for c in question.choices if c.id == "gaussian")
    assert verdict.feedback == [gaussian.feedback, Msg("quiz.missing_some", {})]
    t, shown = Translator("en"), view_order(question, SEED)
    still_open = render(VerdictView(question, verdict, None, shown, t, scored=True, closed=False))
    assert "Some right choices are missing." in still_open and "You left out" not in still_open
    assert "Explanation" not in still_open and "Just under" not in still_open
    closed = render(VerdictView(question, verdict, None, shown, t, scored=False, closed=True))
    assert f"You left out {shown.letter('variance_one')}), which is also right." in closed
    assert "Explanation" in closed


def test_a_numeric_mistake_is_recognised_and_the_number_withheld(bank):
    question = bank.question("num_normalised_value")
    numbers = variant_of(question, SEED)
    verdict = check(question, round(numbers.mistakes["unbiased"], 2), SEED)
    assert not verdict.correct and verdict.feedback == [question.mistakes["unbiased"]]
    other = check(question, numbers.answer + 100, SEED)
    assert other.feedback[0].key == "quiz.numeric_off"
    assert check(question, round(numbers.answer, 2), SEED).correct  # two decimals are within tolerance
    text = render(VerdictView(question, verdict, numbers, Shown(), Translator("en"), scored=True, closed=False))
    assert numbers.values["answer"] not in text and "Explanation" not in text


def test_numeric_feedback_never_contains_the_answer(bank):
    for question in bank.questions:
        if isinstance(question, Numeric):
            for text in question.mistakes.values():
                assert "{answer}" not in text.en and "{answer}" not in text.es, question.id


def test_ordering_and_matching_name_what_is_wrong_and_explain_only_once_closed(bank):
    block = bank.question("place_block")
    verdict = check(block, ["linear", "relu", "batchnorm", "dropout"], SEED)
    assert verdict.wrong == ("relu", "batchnorm") and verdict.feedback == []
    t = Translator("en")
    items = {item.id: item for item in block.items}
    still_open = render(VerdictView(block, verdict, None, view_order(block, SEED), t, scored=True, closed=False))
    assert "Out of place: nn.ReLU(), nn.BatchNorm1d(128)." in still_open
    assert items["relu"].feedback.en[:30] not in still_open
    closed = render(VerdictView(block, verdict, None, view_order(block, SEED), t, scored=False, closed=True))
    assert items["relu"].feedback.en[:30] in closed and "The answer:" in closed
    properties: Matching = bank.question("vs_properties")
    answer = key(properties, None) | {"identity_at_test": "both"}
    assert judge(properties, answer, None).wrong == ("identity_at_test",)


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_question_and_feedback_renders_with_the_numbers_filled_in(bank, language):
    t = Translator(language)
    for question in bank.questions:
        numbers, shown = variant_of(question, SEED), view_order(question, SEED)
        text = render(QuestionView(question, numbers, shown, t, "Q", "topic"))
        answers = [c.id if isinstance(question, Single) else [c.id] for c in getattr(question, "choices", [])]
        if isinstance(question, Numeric):
            answers += list(numbers.mistakes.values())
        if isinstance(question, TrueFalse):
            answers.append(not question.answer)
        for number, answer in enumerate(answers):  # while open, and once closed (which adds the explanation)
            verdict = judge(question, answer, numbers)
            text += render(VerdictView(question, verdict, numbers, shown, t, scored=True, closed=number == 0))
        text += render(AnswerView(question, numbers, shown, t, right=False))
        assert "{" not in text.replace("{{", "").replace("{0, 1}", "") and "quiz." not in text, question.id


# -- scoring: the first attempt counts ------------------------------------------------------------


def test_only_the_first_attempt_scores(bank):
    first, second = bank.questions[0], bank.questions[1]
    judged = {first.id: [judge(first, wrong_choice(first), None), judge(first, key(first, None), None)],
              second.id: [judge(second, key(second, None), None)]}
    result = quiz_result(bank, 10, judged, seed=None, source="state")
    assert (result.answered, result.correct, result.practised) == (2, 1, 1)
    assert result.score == round(10 / len(bank.questions), 2)
    assert key_result(bank, 10).score == 10


def test_the_state_keeps_every_attempt_and_scores_the_first(bank, tmp_path):
    store = store_of(tmp_path, bank)
    seed = store.seed
    question = bank.question("ics_definition")
    assert not store.record(question, "label_noise").correct  # the first attempt, wrong
    assert not store.is_closed(question)
    assert store.record(question, "layer_inputs_drift").correct  # practice
    assert store.is_closed(question)
    saved = json.loads((tmp_path / "state.json").read_text())["quiz"]
    assert saved["format"] == FORMAT and saved["seed"] == seed
    entry = saved["questions"]["ics_definition"]
    assert [a["answer"] for a in entry["attempts"]] == ["label_noise", "layer_inputs_drift"]
    assert [a["correct"] for a in entry["attempts"]] == [False, True] and entry["closed"] == "right"
    assert (saved["answered"], saved["correct"], saved["practised"]) == (1, 0, 1)
    again = QuizStore(State.load(tmp_path), bank, 10)
    assert again.seed == seed
    result = again.result()
    assert (result.correct, result.practised, result.score) == (0, 1, 0)
    assert not list(tmp_path.glob("*.tmp"))


def test_a_true_false_question_closes_after_one_attempt(bank, tmp_path):
    store = store_of(tmp_path, bank)
    question = bank.question("ics_debated")
    store.record(question, True)  # wrong
    assert store.is_closed(question)
    assert json.loads((tmp_path / "state.json").read_text())["quiz"]["questions"]["ics_debated"]["closed"] == "final"


def test_asking_for_the_answer_closes_an_attempted_question_only(bank, tmp_path):
    store = store_of(tmp_path, bank)
    question = bank.question("norm_eps")
    store.reveal(question)  # never attempted: nothing to close
    assert store.is_new(question) and not store.is_closed(question)
    store.record(question, "noise")
    store.reveal(question)
    assert store.is_closed(question) and store.result().correct == 0


def test_numeric_answers_are_judged_with_the_students_own_numbers(bank, tmp_path):
    question = bank.question("num_bn_parameters")
    store = store_of(tmp_path, bank)
    answer = variant_of(question, store.seed).answer
    assert store.record(question, answer).correct
    other_seed = next(s for s in range(100) if variant_of(question, s).answer != answer)
    assert not check(question, answer, other_seed).correct


def test_reset_reopens_for_practice_and_never_changes_the_score(bank, tmp_path):
    store = store_of(tmp_path, bank)
    right, wrong = bank.question("norm_eps"), bank.question("norm_axis")
    store.record(right, "finite")
    store.record(wrong, "per_sample")
    store.record(wrong, "per_feature")
    before = store.result()
    assert store.reset([right, wrong, bank.question("gb_why")]) == 2  # gb_why was never attempted
    after = store.result()
    assert (after.correct, after.answered, after.score) == (before.correct, before.answered, before.score) == \
        (1, 2, round(10 / len(bank.questions), 2))
    assert not store.is_closed(right) and not store.is_closed(wrong) and not store.is_new(wrong)
    saved = json.loads((tmp_path / "state.json").read_text())["quiz"]["questions"]["norm_axis"]
    assert [a["answer"] for a in saved["attempts"]] == ["per_sample"]
    assert [a["answer"] for a in saved["set_aside"][0]["attempts"]] == ["per_feature"]  # kept, not deleted
    assert store.seed == store.seed


def test_a_damaged_entry_is_kept_and_reported(bank, tmp_path):
    store = store_of(tmp_path, bank)
    store.seed
    store.entries["norm_eps"] = {"attempts": "nonsense"}
    store.save()
    store = store_of(tmp_path, bank)
    assert store.is_new(bank.question("norm_eps")) and store.result().answered == 0
    assert store.damaged == 1
    store.record(bank.question("norm_eps"), "finite")
    saved = json.loads((tmp_path / "state.json").read_text())["quiz"]
    assert saved["damaged"]["norm_eps"] == {"attempts": "nonsense"}
    assert saved["questions"]["norm_eps"]["attempts"][0]["answer"] == "finite"


# -- answers files --------------------------------------------------------------------------------


def test_export_then_read_gives_the_same_score(bank, tmp_path):
    store = store_of(tmp_path, bank)
    for question in bank.questions[::3]:
        store.record(question, key(question, variant_of(question, store.seed)))
    store.record(bank.question("ics_consequences"), ["slow_learning"])  # wrong first...
    store.record(bank.question("ics_consequences"), sorted(["slow_learning", "small_rates", "init_sensitivity"]))
    path = tmp_path / ANSWERS_FILE
    count = store.export(path, "# my answers\n")
    assert path.read_text().startswith("# my answers\nformat: 2\nseed: ")
    read = read_answers(path)
    assert read.seed == store.seed and len(read.answers) == count
    assert read.answers["ics_consequences"] == ["slow_learning"]  # the first attempt is what is exported
    assert read.practice["ics_consequences"] == [["init_sensitivity", "slow_learning", "small_rates"]]
    from_file = file_result(bank, 10, read)
    mine = store.result()
    assert (from_file.correct, from_file.practised) == (mine.correct, mine.practised) == (mine.correct, 1)


def test_a_file_with_letters_of_the_old_format_is_read_in_the_old_order(bank, tmp_path):
    path = tmp_path / "answers.yml"
    path.write_text("seed: 99\nanswers:\n  ics_definition: b\n  place_block: 3 4 1 2\n  ics_debated: false\n"
                    "  vs_properties: a c a b d\n  ics_consequences: [a, b, c]\n  gb_why: c\n"
                    "  no_such_question: a\n")
    read = read_answers(path)
    assert read.format == 1
    result = file_result(bank, 10, read)
    assert (result.answered, result.correct) == (6, 5)  # gb_why's old c) no longer exists
    verdict = read.judged(bank)["gb_why"][0]
    assert not verdict.readable and verdict.feedback == [Msg("quiz.answers.older_quiz", {})]
    assert read.unknown(bank) == ["no_such_question"]


def test_a_file_of_letters_from_a_notebook_is_read_in_the_order_it_showed(bank):
    question = bank.question("norm_axis")
    shown = view_order(question, 77)
    answers = AnswersFile(FORMAT, 77, {"norm_axis": shown.letter("per_feature")}, shown_order=True)
    assert file_result(bank, 10, answers).correct == 1
    assert file_result(bank, 10, AnswersFile(FORMAT, 77, {"norm_axis": "per_feature"})).correct == 1


def test_a_file_without_seed_grades_all_but_numeric_answers(tmp_path, bank):
    path = tmp_path / "answers.yml"
    single = next(q for q in bank.questions if isinstance(q, Single))
    numeric = next(q for q in bank.questions if isinstance(q, Numeric))
    path.write_text(f"format: 2\nanswers:\n  {single.id}: {key(single, None)}\n  {numeric.id}: 0.5\n")
    result = file_result(bank, 10, read_answers(path))
    assert (result.answered, result.correct) == (2, 1)
    verdict = check(numeric, 0.5, None)
    assert not verdict.readable and verdict.feedback == [Msg("quiz.answers.no_seed", {})]


@pytest.mark.parametrize("text, message", [
    ("seed: lots\nanswers: {}\n", "line 1 (seed): Expected `int | null`, got `str`"),
    ("seed: 1\nanswers: [b, c]\n", "line 2 (answers): Expected `object`, got `array`"),
    ("seed: 1\nanswer: {}\n", "line 2 (answer): unknown key `answer` (a misspelling?)"),
    ("seed: 1\npractice: {x: 1}\n", "line 2 (practice[...]): Expected `array`, got `int`"),
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
    write_answers(tmp_path / "a.yml", 5, answers, practice={"norm_eps": ["noise"]})
    assert yaml.safe_load((tmp_path / "a.yml").read_text()) == {"format": 2, "seed": 5, "answers": answers,
                                                                 "practice": {"norm_eps": ["noise"]}}


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


def report_with_quiz(kit, bank, correct: int, practised: int = 0) -> GradeReport:
    exercises = [ExerciseResult(e, kit.course.exercise(e).points, not_started=True) for e in kit.course.ids]
    judged = {q.id: [judge(q, key(q, variant_of(q, SEED)), variant_of(q, SEED))] for q in bank.questions[:correct]}
    for question in [q for q in bank.questions[correct:] if isinstance(q, Single)][:practised]:
        judged[question.id] = [judge(question, wrong_choice(question), None),
                               judge(question, key(question, None), None)]
    return GradeReport("exercises", 7, exercises, quiz=quiz_result(bank, 10, judged, seed=SEED, source="state"))


def test_the_quiz_adds_to_the_total(kit, bank):
    report = report_with_quiz(kit, bank, correct=len(bank.questions))
    assert report.max_score == 110 and report.score == 10
    text = render(ReportView(report, kit.course, Translator("en")))
    assert f"✔ {len(bank.questions)}/{len(bank.questions)} first try" in text and "10 / 110" in text


def test_the_quiz_row_says_first_try_and_practice(kit, bank):
    report = report_with_quiz(kit, bank, correct=3, practised=2)
    total = len(bank.questions)
    text = render(ReportView(report, kit.course, Translator("en")), width=80)
    row = text[text.index(" quiz "):].splitlines()
    assert f"◑ 3/{total} first try" in row[0]  # at 80 columns the table shows ids, not titles
    assert f"{round(10 * 3 / total, 2):g} / 10" in row[0] and "+2 practice" in row[1]  # narrow: two lines
    assert "Theory quiz" in render(ReportView(report, kit.course, Translator("en")), width=120)
    spanish = render(ReportView(report, kit.course, Translator("es")), width=80)
    assert f"3/{total} a la primera" in spanish
    assert "Cuestionario de teoría" in render(ReportView(report, kit.course, Translator("es")), width=130)
    assert "+2 en práctica" in spanish


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


def test_when_every_exercise_passes_the_unanswered_quiz_is_next(kit, bank):
    report = report_with_quiz(kit, bank, correct=3, practised=1)
    report.exercises = [ExerciseResult(e.id, e.max_points) for e in report.exercises]
    for exercise in report.exercises:
        from autograder.grading.results import CheckResult
        exercise.checks = [CheckResult(f"{exercise.id}::a", exercise.id, Msg("x"), "passed")]
    text = render(ReportView(report, kit.course, Translator("en")))
    assert f"Next: the theory quiz, grade quiz ({len(bank.questions) - 4} questions to go)." in text


def test_json_report_with_the_quiz_follows_the_schema(kit, bank):
    report = report_with_quiz(kit, bank, correct=5, practised=2)
    data = report_to_json(report, kit.course, Translator("en"))
    jsonschema.validate(data, json.loads(SCHEMA_FILE.read_text()))
    assert data["max_score"] == 110 and data["quiz"]["correct"] == 5 and data["quiz"]["max"] == 10
    assert data["quiz"]["practised"] == 2 and data["quiz"]["results"][5]["attempts"] == 2
    assert data["score"] == pytest.approx(data["quiz"]["score"])
    no_quiz = GradeReport("exercises", 7, report.exercises)
    assert report_to_json(no_quiz, kit.course, Translator("en"))["quiz"] is None


def test_summary_and_answers_views(kit, bank):
    t = Translator("es")
    answers = AnswersFile(FORMAT, SEED, {"ics_definition": "layer_inputs_drift", "ics_sigmoid": "negative_outputs"})
    result = file_result(bank, 10, answers)
    summary = render(QuizSummaryView(result, bank, t))
    assert "Desplazamiento interno de covariables" in summary and "1/6" in summary
    assert f"1 de {len(bank.questions)} acertadas a la primera" in summary
    table = render(AnswersView(bank, answers.judged(bank), {q.id: variant_of(q, SEED) for q in bank.questions}, t),
                   width=200)
    assert "✔ Respuestas correctas: 1." in table
    assert "✘ No exactamente. La sigmoide siempre está entre 0 y 1" in table
    assert "ics_definition" not in table  # right answers are only counted
    assert f"Sin responder ({len(bank.questions) - 2}): ics_consequences, ics_fixed_data," in table
    assert quiz_to_json(result)["results"][0] == {"id": "ics_definition", "topic": "covariate_shift",
                                                  "exercise": None, "answered": True, "correct": True,
                                                  "practised": False, "attempts": 1}
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

    saved = {"total": 86, "correct": 12, "score": 1.4}
    assert "Theory quiz: 12/86 right at the first try · 1.4 / 10 points (grade quiz)" in render(
        ProgressView(kit.course, {}, {}, Translator("en"), quiz=saved), width=120)
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
    text = render(AnswersView(bank, {single.id: [verdict]}, {single.id: None}, Translator("en")), width=200)
    assert "⚠ Could not read this answer (it counts as wrong)." in text and "Not quite" not in text


def test_plain_text_of_a_seedless_file_names_the_missing_seed(bank):
    from autograder.ui.plain_text import quiz_text

    numeric = next(q for q in bank.questions if isinstance(q, Numeric))
    answers = AnswersFile(FORMAT, None, {numeric.id: 0.5})
    text = quiz_text(bank, file_result(bank, 10, answers), answers.judged(bank), Translator("en"))
    assert text.startswith("quiz: 0 / 10 points\n")
    assert "Numeric answers need the seed" in " ".join(text.split())


# -- state files written before format 2 ------------------------------------------------------------


def test_an_old_state_file_is_read_and_converted_without_losing_anything(bank, tmp_path):
    old_answers = {
        "ics_definition": {"answer": "b", "attempts": 1, "first_try": True, "at": "2024-11-20T10:00:00+00:00"},
        "norm_axis": {"answer": "b", "attempts": 3, "first_try": False, "at": "2024-11-20T10:01:00+00:00"},
        "gb_why": {"answer": "c", "attempts": 2, "first_try": False, "at": "2024-11-20T10:02:00+00:00"},
        "ics_fixed_data": {"answer": False, "attempts": 1, "first_try": False, "at": "2024-11-20T10:03:00+00:00"},
        "num_bn_parameters": {"answer": 96.0, "attempts": 1, "first_try": True, "at": "2024-11-20T10:04:00+00:00"},
        "place_block": {"answer": ["linear", "batchnorm", "relu", "dropout"], "attempts": 2, "first_try": False,
                        "at": "2024-11-20T10:05:00+00:00"},
        "ben_learning_rate": {"answer": True, "attempts": 1, "first_try": True, "at": "2024-11-20T10:06:00+00:00"},
        "not_a_question_any_more": {"answer": "a", "attempts": 1, "first_try": True},
    }
    old = {"version": 1, "progress": {"bn_forward": {"status": "passed", "score": 15.0}},
           "quiz": {"seed": 1234, "answers": old_answers, "answered": 8, "correct": 6, "score": 1.03, "max": 10}}
    (tmp_path / "state.json").write_text(json.dumps(old))

    store = store_of(tmp_path, bank)
    result = store.result()  # reading converts in memory, the file is untouched until a save
    assert json.loads((tmp_path / "state.json").read_text()) == old
    by_id = {q.id: q for q in result.questions}
    assert [q for q in by_id if by_id[q].correct] == ["ics_definition", "num_bn_parameters"]
    assert by_id["norm_axis"].practised and by_id["place_block"].practised and not by_id["gb_why"].practised
    assert result.answered == 6 and result.score == round(10 * 2 / len(bank.questions), 2)
    assert store.is_closed(bank.question("ics_fixed_data"))  # true/false: one attempt closes it
    assert not store.is_closed(bank.question("gb_why"))  # its old answer no longer exists: still open

    store.record(bank.question("norm_eps"), "finite")
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["quiz"]["answers_v1"] == old_answers  # every old answer kept, verbatim
    assert saved["quiz"]["seed"] == 1234 and saved["progress"] == old["progress"]
    assert saved["quiz"]["format"] == FORMAT and "answers" not in saved["quiz"]
    norm_axis = saved["quiz"]["questions"]["norm_axis"]
    assert [a["answer"] for a in norm_axis["attempts"]] == [None, "per_feature"] and norm_axis["closed"] == "right"
    assert saved["quiz"]["questions"]["ics_definition"]["attempts"][0]["answer"] == "layer_inputs_drift"
    assert store_of(tmp_path, bank).result().correct == 3  # read again: the same, plus the new answer
