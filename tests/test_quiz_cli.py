"""``grade quiz`` and ``grade learn`` through the real console script: the interactive quiz in a
real pseudo-terminal (pexpect), answers files, lessons, and the quiz in ``grade --json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pexpect
import pytest
from support import EXERCISES, ROOT

from autograder.kit import Kit
from autograder.quiz.answers import ANSWERS_FILE, write_answers
from autograder.quiz.bank import Matching, Multiple, Ordering, Single, TrueFalse, load_bank
from autograder.quiz.check import key, variant_of
from autograder.quiz.order import as_shown, view_order
from autograder.ui.json_report import SCHEMA_FILE

GRADE = Path(sys.executable).with_name("grade")


@pytest.fixture(scope="module")
def bank():
    return load_bank(Kit.locate(ROOT / "course.yml"))


def environment(state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GRADE_LANG"}
    env.update({"GRADE_STATE_DIR": str(state), "COLUMNS": "100", "TERM": "dumb"})
    return env


def run(*args: str, state: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADE), *args], cwd=ROOT, env=environment(state), capture_output=True, text=True,
                          timeout=120, input=stdin)


def spawn(*args: str, state: Path) -> pexpect.spawn:
    return pexpect.spawn(str(GRADE), list(args), cwd=str(ROOT), env=environment(state), encoding="utf-8",
                         timeout=30, dimensions=(50, 100))


def typed(question, answer, seed: int | None) -> list[str]:
    """What a student with `seed` types for a canonical answer (one line per prompt)."""
    shown = view_order(question, seed)
    if isinstance(question, Matching):
        return as_shown(question, answer, shown).split()
    if isinstance(question, Multiple):
        return [" ".join(as_shown(question, answer, shown))]
    if isinstance(question, Ordering):
        return [" ".join(map(str, as_shown(question, answer, shown)))]
    if isinstance(answer, bool):
        return ["t" if answer else "f"]
    return [str(as_shown(question, answer, shown))]


def wrong(question) -> object:
    """A wrong canonical answer of any type."""
    if isinstance(question, Single):
        return next(c.id for c in question.choices if not c.correct)
    if isinstance(question, Ordering):
        return list(reversed(question.order))
    if isinstance(question, TrueFalse):
        return not question.answer
    raise TypeError(question.kind)


def answer(child: pexpect.spawn, question, lines: list[str]) -> None:
    for line in lines:
        child.expect(r": $" if not isinstance(question, Matching) else r"\(a-[a-h]\): $")
        child.sendline(line)


def shown_text(markdown: str) -> str:
    """The start of a bank text as the terminal shows it (Markdown rendered, before any wrap)."""
    return markdown.replace("`", "").replace("*", "")[:40]


def state_of(folder: Path) -> dict:
    return json.loads((folder / "state.json").read_text())["quiz"]


def seeded(folder: Path, seed: int) -> int:
    """A state folder whose quiz seed is already drawn (so that the test knows the order)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state.json").write_text(json.dumps({"version": 1, "quiz": {"seed": seed}}))
    return seed


# -- the interactive quiz -------------------------------------------------------------------------


def test_the_first_answer_counts_practice_opens_the_rest_and_q_resumes(bank, tmp_path):
    seed = seeded(tmp_path, 5)
    questions = bank.on_topic("placement")
    first, second = questions[:2]
    child = spawn("quiz", "--topic", "placement", state=tmp_path)
    child.expect(f"Theory quiz · 0 of {len(bank.questions)} answered")
    child.expect("Your first answer to each question counts")
    child.expect(f"Question 1 of {len(questions)} · Where each layer goes")
    answer(child, first, typed(first, wrong(first), seed))
    child.expect("✘ Not quite.")
    child.expect("Out of place:")
    child.expect("That answer counts. Practise it later")
    child.expect("More on this: grade learn placement")
    child.expect(f"Question 2 of {len(questions)}")
    before = child.before
    assert "Explanation" not in before and "The answer:" not in before  # nothing given away
    answer(child, second, typed(second, key(second, None), seed))
    child.expect("✔ Right at the first try: it counts.")
    child.expect("Explanation")
    child.expect(f"Question 3 of {len(questions)}")
    child.expect(r": $")
    child.sendintr()
    child.expect("Answers saved: 2. grade quiz picks up where you left off.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    saved = state_of(tmp_path)
    assert (saved["answered"], saved["correct"]) == (2, 1)
    assert saved["questions"][first.id]["closed"] is None

    # resume, in Spanish: the third question comes first; then practise the open one, with ?
    child = spawn("quiz", "--topic", "placement", "--lang", "es", state=tmp_path)
    child.expect(f"2 de {len(bank.questions)} respondidas")
    child.expect(f"Pregunta 3 de {len(questions)} · Dónde va cada capa")
    for number, question in enumerate(questions[2:], 3):
        if number > 3:
            child.expect(f"Pregunta {number} de {len(questions)}")
        right = key(question, None)
        answer(child, question, ["v" if right is True else "f"] if isinstance(right, bool)
               else typed(question, right, seed))
        child.expect("✔ Correcto a la primera: cuenta para la nota.")
    child.expect(r"Siguen abiertas: 1. ¿Practicarlas ahora \(tu nota no cambia\)\? \(s/n\): ")
    child.sendline("s")
    child.expect("Práctica 1 de 1")
    child.expect(r": $")
    child.sendline("?")
    child.expect("La respuesta:")
    child.expect("Explicación")
    child.expect(f"Todas las preguntas de esta selección \\({len(questions)}\\) están cerradas")
    child.expect("Nota del cuestionario")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    saved = state_of(tmp_path)
    assert saved["correct"] == len(questions) - 1  # the first, wrong answer still counts
    assert saved["questions"][first.id]["closed"] == "shown"
    assert len(saved["questions"][first.id]["attempts"]) == 1


def test_a_wrong_choice_shows_its_own_feedback_and_q_stops(bank, tmp_path):
    seed = seeded(tmp_path, 8)
    questions = bank.checkpoints("bn_backward")
    shape = questions[0]
    assert isinstance(shape, Single)
    bad = wrong(shape)
    child = spawn("quiz", "--checkpoint", "bn_backward", state=tmp_path)
    child.expect(f"Question 1 of {len(questions)}")
    child.expect("checkpoint of bn_backward")
    child.expect(r"Your answer \(a-d\): ")
    child.sendline("?")
    child.expect("Answer first: your first answer is the one that counts.")
    child.sendline("z")
    child.expect("Type one letter, from a to d.")
    child.sendline(typed(shape, bad, seed)[0])
    child.expect("✘ Not quite.")
    child.expect_exact(shown_text(next(c for c in shape.choices if c.id == bad).feedback.en))
    child.expect("Question 2")
    child.expect(r"Your answer \(a number\): ")
    child.sendline("q")
    child.expect("Answers saved: 1.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert state_of(tmp_path)["questions"][shape.id]["attempts"][0]["answer"] == bad  # stored by id


def test_numeric_questions_use_the_seed_saved_on_first_use(bank, tmp_path):
    question = bank.question("num_bn_parameters")
    child = spawn("quiz", "--topic", "numbers", state=tmp_path)
    child.expect("Question 1 of")
    child.expect(r": $")
    child.sendline("q")
    child.expect(pexpect.EOF)
    seed = state_of(tmp_path)["seed"]
    numbers = variant_of(question, seed)
    child = spawn("quiz", "--topic", "numbers", state=tmp_path)
    for _ in range(3):  # the first three questions, answered 0
        child.expect(r"\(a number\): ")
        child.sendline("0")
    child.expect(f"BatchNorm2d\\({numbers.values['channels']}\\)")  # this student's numbers
    child.expect(r"\(a number\): ")
    child.sendline(str(int(numbers.answer)))
    child.expect("✔ Right at the first try")
    child.expect(r"\(a number\): ")
    child.sendintr()
    child.expect(pexpect.EOF)
    saved = state_of(tmp_path)
    assert saved["seed"] == seed and saved["questions"][question.id]["attempts"][0]["answer"] == numbers.answer


def test_answers_can_be_piped_and_the_end_of_input_stops_cleanly(bank, tmp_path):
    seed = seeded(tmp_path, 21)
    first, second = bank.checkpoints("bn_forward")
    lines = typed(first, key(first, None), seed) + typed(second, key(second, None), seed)
    result = run("quiz", "--checkpoint", "bn_forward", state=tmp_path, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("✔ Right at the first try") == 2
    assert "Every question here (2) is closed" in result.stdout
    assert state_of(tmp_path)["correct"] == 2
    stopped = run("quiz", state=tmp_path, stdin="")  # nothing more to read: stop, keep what is saved
    assert stopped.returncode == 0 and "Answers saved: 2." in stopped.stdout


def test_reset_reopens_a_topic_and_needs_all_and_a_yes_for_everything(bank, tmp_path):
    seed = seeded(tmp_path, 13)
    first, second = bank.checkpoints("bn_forward")
    lines = typed(first, key(first, None), seed) + typed(second, wrong(second), seed)
    run("quiz", "--checkpoint", "bn_forward", state=tmp_path, stdin="\n".join(lines) + "\nn\n")
    before = state_of(tmp_path)
    assert (before["answered"], before["correct"]) == (2, 1)

    refused = run("quiz", "--reset", state=tmp_path)
    assert refused.returncode == 2 and refused.stderr.strip().startswith("grade: --reset needs --topic TOPIC")
    assert run("quiz", "--all", state=tmp_path).returncode == 2

    kept = run("quiz", "--reset", "--all", state=tmp_path, stdin="n\n")
    assert kept.returncode == 0 and "Reopen all the questions for practice?" in kept.stdout
    assert "Nothing was reset." in kept.stdout and state_of(tmp_path) == before
    eof = run("quiz", "--reset", "--all", state=tmp_path, stdin="")
    assert eof.returncode == 0 and state_of(tmp_path) == before  # no answer is a no

    done = run("quiz", "--reset", "--checkpoint", "bn_forward", state=tmp_path)
    assert done.returncode == 0 and "Questions reopened for practice: 2. Your score is unchanged" in done.stdout
    after = state_of(tmp_path)
    assert (after["answered"], after["correct"], after["score"]) == (2, 1, before["score"])
    assert all(entry["closed"] is None for entry in after["questions"].values())
    yes = run("quiz", "--reset", "--all", "--lang", "es", state=tmp_path, stdin="s\n")
    assert "Preguntas reabiertas para practicar: 2." in yes.stdout


# -- answers files --------------------------------------------------------------------------------


def key_file(bank, path: Path, seed: int = 11, **changes) -> Path:
    answers = {q.id: key(q, variant_of(q, seed)) for q in bank.questions} | changes
    write_answers(path, seed, answers)
    return path


def quiz_schema() -> dict:
    schema = json.loads(SCHEMA_FILE.read_text())
    return {"$ref": "#/$defs/quiz", "$defs": schema["$defs"]}


def test_answers_file_all_right(bank, tmp_path):
    path = key_file(bank, tmp_path / "answers.yml")
    result = run("quiz", "--answers", str(path), state=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{len(bank.questions)} of {len(bank.questions)} right at the first try" in result.stdout
    assert "Quiz score: 10 / 10 points" in result.stdout
    assert not (tmp_path / "state.json").exists()  # grading a file leaves the student's state alone


def test_answers_file_with_mistakes(bank, tmp_path):
    path = key_file(bank, tmp_path / "answers.yml", ics_definition="dataset_shift", no_such_question="b")
    result = run("quiz", "--answers", str(path), state=tmp_path)
    assert result.returncode == 1
    assert "✘ Not quite. That is covariate shift between datasets" in " ".join(result.stdout.split())
    assert "Explanation" not in result.stdout
    assert "Not in the question bank (ignored): no_such_question" in result.stdout
    data = json.loads(run("quiz", "--answers", str(path), "--json", state=tmp_path).stdout)
    jsonschema.validate(data, quiz_schema())
    assert data["correct"] == len(bank.questions) - 1 and data["unknown"] == ["no_such_question"]
    assert next(r for r in data["results"] if r["id"] == "ics_definition")["correct"] is False


def test_a_broken_answers_file_is_one_line_naming_the_line(tmp_path):
    path = tmp_path / "answers.yml"
    path.write_text("seed: 5\nanswers:\n  - ics_definition\n")
    result = run("quiz", "--answers", str(path), state=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "grade: answers.yml, line 2 (answers): Expected `object`, got `array`"


def test_export_writes_a_file_that_grades_the_same(bank, tmp_path):
    seed = seeded(tmp_path, 3)
    child = spawn("quiz", "--topic", "bn_vs_dropout", state=tmp_path)
    question = bank.on_topic("bn_vs_dropout")[0]
    child.expect("Question 1 of")
    answer(child, question, typed(question, key(question, None), seed))
    child.expect("✔ Right at the first try")
    child.expect(r": $")
    child.sendintr()
    child.expect(pexpect.EOF)
    exported = tmp_path / ANSWERS_FILE
    result = run("quiz", "--export", str(exported), state=tmp_path)
    assert result.returncode == 0 and ": 1 (seed" in " ".join(result.stdout.split())
    assert exported.read_text().startswith("# Answers to the theory quiz")
    graded = run("quiz", "--answers", str(exported), "--json", state=tmp_path)
    assert json.loads(graded.stdout)["correct"] == 1


def test_submission_with_an_answers_file_gets_quiz_points(bank, tmp_path):
    folder = tmp_path / "submission"
    folder.mkdir()
    for path in EXERCISES.glob("*.py"):
        (folder / path.name).write_text(path.read_text())
    key_file(bank, folder / ANSWERS_FILE)
    result = run("--submission", str(folder), "--json", state=tmp_path)
    report = json.loads(result.stdout)
    jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))
    assert report["quiz"]["source"] == "file" and report["quiz"]["score"] == 10
    assert (report["score"], report["max_score"]) == (10, 110)
    (folder / ANSWERS_FILE).unlink()
    report = json.loads(run("--submission", str(folder), "--json", state=tmp_path).stdout)
    assert report["quiz"]["source"] == "none" and report["score"] == 0


def test_grading_one_exercise_leaves_the_quiz_out(tmp_path):
    report = json.loads(run("--submission", str(EXERCISES), "bn_forward", "--json", state=tmp_path).stdout)
    assert report["quiz"] is None and report["max_score"] == 15


# -- lessons and usage errors ---------------------------------------------------------------------


def test_learn_lists_the_topics_with_progress(tmp_path):
    result = run("learn", state=tmp_path)
    assert result.returncode == 0
    assert " 1   covariate_shift " in result.stdout and "13   numbers " in result.stdout
    assert "0/6 first try" in result.stdout


@pytest.mark.parametrize("args, expected", [
    (["learn", "dropout"], ["Inverted dropout", "Practise it: grade quiz --topic dropout (9 questions)"]),
    (["learn", "8", "--lang", "es"], ["Dropout invertido", "Practícalo: grade quiz --topic dropout"]),
    (["learn", "covariate_shift", "--lang", "es"], ["Una explicación en debate", "Santurkar"]),
    (["learn", "inference"], ["Errata: where the course notes simplify or are wrong", "handle this automatically"]),
    (["learn", "train_eval", "--lang", "es"], ["congeladas", "Monte Carlo"]),
])
def test_learn_shows_a_lesson(tmp_path, args, expected):
    result = run(*args, state=tmp_path)
    assert result.returncode == 0
    for text in expected:
        assert text in result.stdout


@pytest.mark.parametrize("args, message", [
    (["learn", "dropuot"], "grade: unknown topic 'dropuot'. Did you mean 'dropout'? grade learn lists the topics."),
    (["quiz", "--topic", "14"], "grade: unknown topic '14'."),
    (["quiz", "--checkpoint", "bn_fwd"], "grade: no checkpoint questions for 'bn_fwd'. Did you mean 'bn_forward'?"),
    (["quiz", "--answers", "/no/such/file.yml"], "grade: /no/such/file.yml is not a file."),
    (["quiz", "--json"], "grade: --json goes with --answers FILE"),
    (["learn", "dropuot", "--lang", "es"], "grade: el tema 'dropuot' no existe. ¿Querías decir 'dropout'?"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path, args, message):
    result = run(*args, state=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1
