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
from autograder.quiz.bank import LETTERS, Matching, Multiple, Ordering, Single, load_bank
from autograder.quiz.check import key, variant_of
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


def typed(question, answer) -> list[str]:
    """What a student types for a canonical answer (one line per prompt)."""
    if isinstance(question, Multiple):
        return [" ".join(answer)]
    if isinstance(question, Ordering):
        ids = [item.id for item in question.items]
        return [" ".join(str(ids.index(item) + 1) for item in answer)]
    if isinstance(question, Matching):
        ids = [option.id for option in question.options]
        return [LETTERS[ids.index(answer[pair.id])] for pair in question.pairs]
    if isinstance(answer, bool):
        return ["t" if answer else "f"]
    return [str(answer)]


def answer(child: pexpect.spawn, question, lines: list[str]) -> None:
    for line in lines:
        child.expect(r": $" if not isinstance(question, Matching) else r"\(a-[a-h]\): $")
        child.sendline(line)


def shown(markdown: str) -> str:
    """The start of a bank text as the terminal shows it (Markdown rendered, before any wrap)."""
    return markdown.replace("`", "").replace("*", "")[:40]


def state_of(folder: Path) -> dict:
    return json.loads((folder / "state.json").read_text())["quiz"]


# -- the interactive quiz -------------------------------------------------------------------------


def test_answer_right_answer_wrong_interrupt_and_resume(bank, tmp_path):
    questions = bank.on_topic("placement")
    first, second, third = questions[:3]
    wrong = list(reversed(key(first, None)))

    child = spawn("quiz", "--topic", "placement", state=tmp_path)
    child.expect("Theory quiz · 0 of 58 answered".replace("58", str(len(bank.questions))))
    child.expect(f"Question 1 of {len(questions)} · Where each layer goes")
    answer(child, first, typed(first, wrong))
    child.expect("✘ Not quite.")
    misplaced = {item.id: item for item in first.items}
    child.expect_exact(shown(misplaced[wrong[0]].feedback.en))  # the chosen order's own feedback
    child.expect("Explanation")
    child.expect("More on this: grade learn placement")

    child.expect(f"Question 2 of {len(questions)}")
    answer(child, second, typed(second, key(second, None)))
    child.expect("✔ Right.")

    child.expect(f"Question 3 of {len(questions)}")
    child.expect(r": $")
    child.sendintr()
    child.expect("Answers saved: 2. grade quiz picks up where you left off.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    saved = state_of(tmp_path)
    assert sorted(saved["answers"]) == sorted([first.id, second.id])
    assert (saved["answered"], saved["correct"]) == (2, 1)

    # resume, in Spanish: the third question comes first; then retry the wrong one
    child = spawn("quiz", "--topic", "placement", "--lang", "es", state=tmp_path)
    child.expect(f"2 de {len(bank.questions)} respondidas")
    child.expect(f"Pregunta 3 de {len(questions)} · Dónde va cada capa")
    for number, question in enumerate(questions[2:], 3):
        if number > 3:
            child.expect(f"Pregunta {number} de {len(questions)}")
        right = key(question, None)
        answer(child, question, ["v" if right is True else "f"] if isinstance(right, bool) else typed(question, right))
        child.expect("✔ Correcto.")
    child.expect(r"Preguntas falladas: 1. ¿Quieres volver a intentarlas\? \(s/n\): ")
    child.sendline("s")
    child.expect("Reintento 1 de 1")
    answer(child, first, typed(first, key(first, None)))
    child.expect("✔ Correcto.")
    child.expect(f"Todas las preguntas de esta selección \\({len(questions)}\\) están bien respondidas.")
    child.expect("Nota del cuestionario")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    saved = state_of(tmp_path)
    assert saved["correct"] == len(questions)
    assert saved["answers"][first.id]["attempts"] == 2 and saved["answers"][first.id]["first_try"] is False
    assert saved["answers"][second.id]["first_try"] is True


def test_a_wrong_choice_shows_its_own_feedback_and_q_stops(bank, tmp_path):
    questions = bank.checkpoints("bn_backward")
    shape = questions[0]
    assert isinstance(shape, Single)
    wrong = next(i for i, choice in enumerate(shape.choices) if not choice.correct)
    child = spawn("quiz", "--checkpoint", "bn_backward", state=tmp_path)
    child.expect(f"Question 1 of {len(questions)}")
    child.expect("checkpoint of bn_backward")
    child.expect(r"Your answer \(a-d\): ")
    child.sendline("z")
    child.expect("Type one letter, from a to d.")
    child.sendline(LETTERS[wrong])
    child.expect("✘ Not quite.")
    child.expect_exact(shown(shape.choices[wrong].feedback.en))
    child.expect("Question 2")
    child.expect(r"Your answer \(a number\): ")
    child.sendline("q")
    child.expect("Answers saved: 1.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert state_of(tmp_path)["answers"][shape.id]["answer"] == LETTERS[wrong]


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
    for _ in range(3):  # the first three questions, skipped by answering 0
        child.expect(r"\(a number\): ")
        child.sendline("0")
    child.expect(f"BatchNorm2d\\({numbers.values['channels']}\\)")  # this student's numbers
    child.expect(r"\(a number\): ")
    child.sendline(str(int(numbers.answer)))
    child.expect("✔ Right.")
    child.expect(r"\(a number\): ")
    child.sendintr()
    child.expect(pexpect.EOF)
    saved = state_of(tmp_path)
    assert saved["seed"] == seed and saved["answers"][question.id]["answer"] == numbers.answer


def test_answers_can_be_piped_and_the_end_of_input_stops_cleanly(bank, tmp_path):
    first, second = bank.checkpoints("bn_forward")
    lines = typed(first, key(first, None)) + typed(second, key(second, None))
    result = run("quiz", "--checkpoint", "bn_forward", state=tmp_path, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("✔ Right.") == 2 and "Every question here (2) is answered right." in result.stdout
    assert state_of(tmp_path)["correct"] == 2
    stopped = run("quiz", state=tmp_path, stdin="")  # nothing more to read: stop, keep what is saved
    assert stopped.returncode == 0 and "Answers saved: 2." in stopped.stdout


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
    assert f"{len(bank.questions)} of {len(bank.questions)} right" in result.stdout
    assert "Quiz score: 10 / 10 points" in result.stdout
    assert not (tmp_path / "state.json").exists()  # grading a file leaves the student's state alone


def test_answers_file_with_mistakes(bank, tmp_path):
    path = key_file(bank, tmp_path / "answers.yml", ics_definition="a", no_such_question="b")
    result = run("quiz", "--answers", str(path), state=tmp_path)
    assert result.returncode == 1
    assert "✘ Not quite. That is covariate shift between datasets" in " ".join(result.stdout.split())
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
    child = spawn("quiz", "--topic", "bn_vs_dropout", state=tmp_path)
    question = bank.on_topic("bn_vs_dropout")[0]
    child.expect("Question 1 of")
    answer(child, question, typed(question, key(question, None)))
    child.expect("✔ Right.")
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
    assert " 1   covariate_shift " in result.stdout and "10   numbers " in result.stdout
    assert "0/5 right" in result.stdout


@pytest.mark.parametrize("args, expected", [
    (["learn", "dropout"], ["Inverted dropout", "Practise it: grade quiz --topic dropout (6 questions)"]),
    (["learn", "8", "--lang", "es"], ["Dropout invertido", "Practícalo: grade quiz --topic dropout"]),
    (["learn", "covariate_shift", "--lang", "es"], ["Una explicación discutida", "Santurkar"]),
])
def test_learn_shows_a_lesson(tmp_path, args, expected):
    result = run(*args, state=tmp_path)
    assert result.returncode == 0
    for text in expected:
        assert text in result.stdout


@pytest.mark.parametrize("args, message", [
    (["learn", "dropuot"], "grade: unknown topic 'dropuot'. Did you mean 'dropout'? grade learn lists the topics."),
    (["quiz", "--topic", "11"], "grade: unknown topic '11'."),
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
