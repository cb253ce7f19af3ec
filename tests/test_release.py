"""``grade export student``: the release grades exercises and the quiz with its own package, and
nothing in it, nor in what grading it leaves behind, reads as an answer or a solution."""

from __future__ import annotations

import ast
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support import ROOT, SOLUTIONS, copy_kit

from autograder.instructor.release import MARKER, ReleaseError, export_student
from autograder.kit import Kit
from autograder.quiz import seal
from autograder.quiz.bank import Matching, Multiple, Numeric, Ordering, Single, TrueFalse, load_bank
from autograder.quiz.check import judge, key
from autograder.quiz.seal import canonical


@pytest.fixture(scope="module")
def release(tmp_path_factory, kit) -> Path:
    return export_student(kit, tmp_path_factory.mktemp("release") / "bn-dropout").root


def run_grade(release: Path, *args: str, state: Path) -> subprocess.CompletedProcess:
    """``grade ARGS`` in the release, with the release's own package (not the kit's)."""
    env = {**os.environ, "PYTHONPATH": str(release), "GRADE_STATE_DIR": str(state), "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=release, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def quiz_graded(release, kit, tmp_path_factory) -> tuple[dict, Path, dict]:
    """The release grades an answers file: the first right for half the questions, wrong for
    the others (numeric ones with the student's numbers). Returns its JSON, the state folder
    and which questions were answered right."""
    bank = load_bank(kit)
    answers, expected = {}, {}
    for number, question in enumerate(bank.questions):
        right = key(question, _numbers(question, 7))
        answers[question.id] = right if number % 2 == 0 else _wrong(question, right)
        expected[question.id] = number % 2 == 0
    path = tmp_path_factory.mktemp("answers") / "quiz_answers.yml"
    path.write_text(yaml.safe_dump({"format": 2, "seed": 7, "answers": answers}))
    state = tmp_path_factory.mktemp("state")
    result = run_grade(release, "quiz", "--answers", str(path), "--json", state=state)
    assert result.returncode == 1, result.stderr  # some answers are wrong
    run_grade(release, "--json", state=state)  # the report's quiz row: the bank cache is written
    return json.loads(result.stdout), state, expected


def _numbers(question, seed):
    from autograder.quiz.check import variant_of

    return variant_of(question, seed)


def _wrong(question, right):
    """A wrong answer in canonical form."""
    if isinstance(question, Single):
        return next(c.id for c in question.choices if c.id != right)
    if isinstance(question, Multiple):
        return sorted(c.id for c in question.choices if c.id not in right)
    if isinstance(question, TrueFalse):
        return not right
    if isinstance(question, Numeric):
        return right * 3 + 17
    if isinstance(question, Ordering):
        return list(reversed(right))
    options = [o.id for o in question.options]
    return {pid: next(o for o in options if o != option) for pid, option in right.items()}


# -- what is in it --------------------------------------------------------------------------------


def test_the_release_holds_the_kit_without_solutions_or_tests(release):
    names = {path.name for path in release.iterdir()}
    assert {"autograder", "course.yml", "quiz.yml", "exercises", "lessons", "pyproject.toml", "Makefile",
            "README.md", MARKER, ".gitignore"} <= names
    assert not {"solutions", "tests", "benchmarks", ".grade", ".venv"} & names
    assert "student-guide.md" in [p.name for p in (release / "docs").iterdir()]
    assert sorted(p.name for p in (release / "exercises").glob("*.py")) == \
        sorted(p.name for p in (ROOT / "exercises").glob("*.py"))


def test_the_release_grades_exercises_with_its_own_package(release, tmp_path):
    """A solved exercise scores, the others are stubs; the report comes from the release's code."""
    copy = tmp_path / "clone"
    shutil.copytree(release, copy)
    shutil.copy(SOLUTIONS / "dropout.py", copy / "exercises" / "dropout.py")
    result = run_grade(copy, "--json", "dropout", "bn_forward", state=tmp_path / "state")
    report = json.loads(result.stdout)
    scores = {e["id"]: (e["score"], e["status"]) for e in report["exercises"]}
    assert scores == {"dropout": (15, "passed"), "bn_forward": (0, "not_started")}
    assert str(copy) in result.stdout and str(ROOT) not in result.stdout


def test_the_release_grades_the_quiz(quiz_graded):
    """A right first answer scores, a wrong one does not, for every type of question."""
    report, _, expected = quiz_graded
    outcome = {q["id"]: q["correct"] for q in report["results"]}
    assert outcome == expected
    assert report["correct"] == sum(expected.values())


def test_a_sealed_question_is_judged_as_the_open_one(kit):
    """The same verdict (right or not, the feedback, what is wrong) for every answer of every
    choice question, and for sampled orders and matchings; the shell lists its choices, items,
    statements and options in another order than the bank, never an ordering's right one."""
    bank = load_bank(kit)
    sealed = seal.seal_bank(bank)
    rng = random.Random(1)
    judged = 0
    for question, shell in zip(bank.questions, sealed.questions):
        for answer in _answers(question, rng):
            open_verdict, sealed_verdict = judge(question, answer, None), judge(shell, answer, None)
            assert verdict_of(sealed_verdict) == verdict_of(open_verdict), (question.id, answer)
            judged += 1
        if isinstance(question, (Single, Multiple)):
            assert sorted(c.id for c in shell.choices) == sorted(c.id for c in question.choices)
        if isinstance(question, Ordering):
            assert [item.id for item in shell.items] != question.order
        if shell.sealed:
            assert seal.open_question(shell, key(question, None)) == question
            assert seal.search(shell) == key(question, None)
    assert judged > 500


def verdict_of(verdict) -> tuple:
    """What a verdict says, in any order (a sealed question lists its choices in its own)."""
    return verdict.correct, sorted(map(repr, verdict.feedback)), sorted(verdict.wrong)


def _answers(question, rng) -> list:
    if isinstance(question, Single):
        return [c.id for c in question.choices]
    if isinstance(question, Multiple):
        ids = [c.id for c in question.choices]
        return [sorted(combo) for size in range(1, len(ids) + 1) for combo in itertools.combinations(ids, size)]
    if isinstance(question, TrueFalse):
        return [True, False]
    if isinstance(question, Ordering):
        ids = [item.id for item in question.items]
        return [rng.sample(ids, len(ids)) for _ in range(10)] + [list(question.order)]
    if isinstance(question, Matching):
        options = [o.id for o in question.options]
        return [{p.id: rng.choice(options) for p in question.pairs} for _ in range(10)] + \
            [{p.id: p.match for p in question.pairs}]
    return []


def test_a_sealed_question_opens_only_with_its_answer(kit):
    bank = load_bank(kit)
    question = next(q for q in bank.questions if isinstance(q, Multiple))
    shell = seal.seal_question(question, "salt")
    right = key(question, None)
    assert shell.explanation is None and not any(c.correct or c.feedback for c in shell.choices)
    assert seal.open_question(shell, _wrong(question, right)) is None
    assert seal.open_question(shell, right).explanation == question.explanation
    with pytest.raises(seal.SealError):
        key(shell, None)
    assert seal.seal_question(question, "another salt").seal.digest != shell.seal.digest


# -- what is not in it ---------------------------------------------------------------------------------


def release_text(folder: Path) -> dict[str, str]:
    """Every file of the release (and its .grade), as text."""
    return {str(path.relative_to(folder)): path.read_bytes().decode("utf-8", errors="ignore")
            for path in sorted(folder.rglob("*")) if path.is_file()}


def words(text: str) -> str:
    """Letters and digits only: quoting, escaping and line breaks cannot hide a text."""
    return re.sub(r"[\W_]+", "", text).lower()


def answer_texts(bank) -> list[tuple[str, str]]:
    """(where, text) of every text that states an answer, which a sealed question shows only
    once closed: explanations, a right choice's feedback, a true/false question's feedback,
    where each item goes and why each statement matches, in both languages (numeric questions
    are not sealed). A wrong choice's feedback is shown to whoever picks it, so it is sealed
    (its absence would mark the right choice) but is no answer by itself."""
    found = []
    for question in bank.questions:
        if isinstance(question, Numeric):
            continue
        texts = [("explanation", question.explanation)]
        texts += [(f"choice {c.id}", c.feedback) for c in getattr(question, "choices", []) if c.feedback and c.correct]
        texts += [(f"item {i.id}", i.feedback) for i in getattr(question, "items", [])]
        texts += [(f"pair {p.id}", p.feedback) for p in getattr(question, "pairs", [])]
        if isinstance(question, TrueFalse):
            texts.append(("feedback", question.feedback))
        for where, text in texts:
            for language in ("en", "es"):
                found.append((f"{question.id} {where} ({language})", text(language)))
    return found


def test_nothing_in_the_release_reads_as_an_answer_or_a_solution(release, quiz_graded, kit):
    """After grading the quiz in it (state and bank cache written): no explanation, no
    feedback, no key in any readable form, no solution code, no solution file."""
    _, state, _ = quiz_graded
    files = {**release_text(release), **{f".grade/{k}": v for k, v in release_text(state).items()}}
    assert any(name.startswith(".grade/cache/quiz-") for name in files)  # the bank cache was searched
    assert leaks(files, load_bank(kit)) == []
    banks = {"quiz.yml": yaml.safe_load(files["quiz.yml"])}
    banks |= {name: json.loads(text) for name, text in files.items() if name.startswith(".grade/cache/quiz-")}
    assert {name: answer_fields(data) for name, data in banks.items()} == dict.fromkeys(banks, [])


def leaks(files: dict[str, str], bank) -> list[str]:
    """Answers and solutions found in `files` (name -> text)."""
    # The lessons teach what the quiz asks: a sentence that an explanation repeats there is
    # the lesson, not a key (tests/test_teaching_texts.py keeps answers out of the docs).
    haystack = {name: words(text) for name, text in files.items() if not name.startswith("lessons/")}
    found = [f"{where} in {name}" for where, text in answer_texts(bank)
             for name, hay in haystack.items() if len(words(text)) >= 30 and words(text)[:60] in hay]
    for question in bank.questions:
        right = key(question, None) if not isinstance(question, Numeric) else None
        if isinstance(right, (list, dict)) and len(right) > 1:
            forms = {canonical(right), json.dumps(right), yaml.safe_dump(right, default_flow_style=True).strip()}
            found += [f"{question.id} key in {name}" for name, text in files.items() for form in forms if form in text]
    squeezed = {name: re.sub(r"\s+", "", text) for name, text in files.items()}
    found += [f"solution code {statement} in {name}" for statement in solution_statements()
              for name, text in squeezed.items() if statement in text]
    found += [f"solutions/{path.name} in {name}" for path in SOLUTIONS.glob("*.py")
              for name, text in files.items() if path.read_text() in text]
    return found


def answer_fields(data, where: str = "") -> list[str]:
    """Where a loaded bank holds a field that states or marks an answer with a value (numeric
    questions are not sealed: their numbers are computed per student)."""
    found = []
    if isinstance(data, dict) and data.get("type") == "numeric":
        return found
    if isinstance(data, dict):
        for name, value in data.items():
            if name in ("correct", "answer", "order", "match", "explanation", "feedback") and value not in \
                    (None, False, "", [], {}) and not (name == "answer" and isinstance(value, str)):
                found.append(f"{where}.{name}")
            found += answer_fields(value, f"{where}.{name}")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += answer_fields(value, f"{where}[{index}]")
    return found


def solution_statements() -> set[str]:
    """Every statement of a solution function that does a real step (24 characters or more
    without whitespace), and every whole body. Shorter ones (``n = x.shape[0]``, ``dx̂ = dout·γ``)
    are single steps that the hints state in maths; the grading code itself, whose catalogue of
    misconceptions replays wrong computations, holds such pieces (docs/instructor-guide.md)."""
    statements = set()
    for path in SOLUTIONS.glob("*.py"):
        source = path.read_text()
        for function in [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)]:
            body = [n for n in function.body if not isinstance(n, ast.Expr)]
            statements.add(re.sub(r"\s+", "", "\n".join(ast.get_source_segment(source, n) for n in body)))
            statements |= {text for n in body if len(text := re.sub(r"\s+", "", ast.get_source_segment(source, n))) >= 24}
    return statements


def test_the_statements_searched_are_the_solutions_steps():
    statements = solution_statements()
    assert "inv_std=1.0/np.sqrt(x.var(axis=0)+eps)" in statements and "keep=rng.random(x.shape)>=p" in statements
    assert len(statements) > 30


def test_the_search_finds_planted_leaks(release, kit):
    """The search above can fail: an explanation quoted in the docs, a multiple-select key in a
    cache, a solution line in a module are each found."""
    bank = load_bank(kit)
    files = release_text(release)
    where, explanation = answer_texts(bank)[0]
    multiple = next(q for q in bank.questions if isinstance(q, Multiple) and len(key(q, None)) > 1)
    planted = {**files, "docs/student-guide.md": files["docs/student-guide.md"] + f"\n> {explanation}\n",
               ".grade/cache/x.json": json.dumps({"k": key(multiple, None)}),
               "autograder/extra.py": "keep = rng.random(x.shape) >= p\n"}
    assert leaks(planted, bank) == [f"{where} in docs/student-guide.md", f"{multiple.id} key in .grade/cache/x.json",
                                    "solution code keep=rng.random(x.shape)>=p in autograder/extra.py"]


# -- refusals ------------------------------------------------------------------------------------------


def test_an_existing_folder_is_replaced_only_when_it_is_a_release(tmp_path, kit):
    with pytest.raises(ReleaseError, match="already exists"):
        (tmp_path / "taken").mkdir()
        (tmp_path / "taken" / "notes.txt").write_text("mine")
        export_student(kit, tmp_path / "taken", messages=_say)
    with pytest.raises(ReleaseError, match="not an earlier student release"):
        export_student(kit, tmp_path / "taken", force=True, messages=_say)
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"  # nothing lost
    first = export_student(kit, tmp_path / "again").root
    (first / "stale.txt").write_text("old")
    export_student(kit, first, force=True)
    assert not (first / "stale.txt").exists() and (first / MARKER).is_file()


def test_written_exercises_are_refused(tmp_path):
    """A kit whose exercises/ holds solved code must not be released."""
    course = copy_kit(tmp_path / "kit")
    shutil.copy(SOLUTIONS / "optim.py", course.parent / "exercises" / "optim.py")
    with pytest.raises(ReleaseError, match="bn_sgd_step"):
        export_student(Kit.locate(course), tmp_path / "out", messages=_say)
    assert not (tmp_path / "out").exists()


def test_the_command_and_the_lab_in_a_release(release, tmp_path):
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run([sys.executable, "-m", "autograder", "export", "student", str(tmp_path / "r")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Student release written to" in done.stdout
    again = subprocess.run([sys.executable, "-m", "autograder", "export", "student", str(tmp_path / "r")], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--force" in again.stderr
    lab = run_grade(release, "lab", state=tmp_path / "state")
    assert lab.returncode == 2 and "reference solutions" in lab.stderr and "Traceback" not in lab.stderr


def _say(key: str, **params) -> str:
    from autograder.i18n import Translator

    return Translator("en")(key, **params)

