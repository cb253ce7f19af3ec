"""Teaching texts teach the ideas without handing out the code or the answers.

- No student-facing text (quiz, lessons, hints, every message catalog, misconception
  explanations included) shares a non-trivial statement or expression with `solutions/`,
  compared after removing all whitespace: they state the maths (x̂ = (x − μ)/√(σ² + ε)), never
  a NumPy line of a solution.
- bn_backward's last hint gives intermediate results of the derivation, not the final line.
- The docs and the README reveal no quiz answer (no answers file with a real answer, no
  explanation text).
- The Spanish follows the kit's conventions (audit §4): no anglicism "test", no topic ids in
  prose, formulas in code spans without spaces (they never break across lines).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml
from support import ROOT, SOLUTIONS

from autograder.course import Text
from autograder.quiz.bank import load_bank
from autograder.quiz.check import AnswerError, judge, key, parse, variant_of
from autograder.quiz.legacy import canonical

LOCALES = ROOT / "autograder" / "locales"
MIN_FRAGMENT = 14
"""Shorter fragments (``x.shape[0]``, ``p == 1.0``) are too generic to be a giveaway."""


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def solution_fragments() -> dict[str, str]:
    """Every statement of a solution function's body and every call or operation inside one,
    whitespace removed (-> where it comes from). Docstrings, raises and messages are left out."""
    fragments: dict[str, str] = {}
    for path in sorted(SOLUTIONS.glob("*.py")):
        source = path.read_text()
        for function in [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)]:
            for statement in function.body:
                if isinstance(statement, (ast.Raise, ast.Expr)):
                    continue  # raise ValueError(...) and docstrings
                nodes = [statement] + [n for n in ast.walk(statement)
                                       if isinstance(n, (ast.Call, ast.BinOp, ast.Compare, ast.Assign))]
                for node in nodes:
                    if isinstance(node, (ast.If, ast.For, ast.While)) or _api_name(node):
                        continue
                    text = squeeze(ast.get_source_segment(source, node) or "")
                    if len(text) >= MIN_FRAGMENT and "ValueError" not in text and not text.endswith("isNone"):
                        fragments[text] = f"{path.name}:{node.lineno}"
    return fragments


def _api_name(node: ast.AST) -> bool:
    """A call without arguments, such as ``torch.no_grad()``: the name of an API, which
    teaching texts must be free to mention, not a statement of a solution."""
    return isinstance(node, ast.Call) and not node.args and not node.keywords


def strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def student_texts() -> dict[str, str]:
    """Where -> text, for every text a student can be shown."""
    texts = {}
    for path in [ROOT / "quiz.yml", *sorted(LOCALES.rglob("*.yml"))]:
        for number, text in enumerate(strings(yaml.safe_load(path.read_text()))):
            texts[f"{path.relative_to(ROOT)} #{number}"] = text
    for path in sorted((ROOT / "lessons").rglob("*.md")):
        texts[str(path.relative_to(ROOT))] = path.read_text()
    course = yaml.safe_load((ROOT / "course.yml").read_text())
    for exercise in course["exercises"]:
        for number, hint in enumerate(exercise["hints"], 1):
            for language, text in hint.items():
                texts[f"course.yml {exercise['id']} hint {number} ({language})"] = text
    return texts


def test_the_fragments_are_real_solution_code():
    """The comparison can fail: it finds the solution's lines (a test that cannot fail is a
    defect)."""
    fragments = solution_fragments()
    assert "dbeta=dout.sum(axis=0)" in fragments and "rng.random(x.shape)>=p" in fragments
    assert len(fragments) > 30
    planted = {"hint": "Compute dbeta = dout.sum(axis=0) first."}
    assert [where for where, text in planted.items() if any(f in squeeze(text) for f in fragments)] == ["hint"]


def test_no_student_facing_text_contains_solution_code():
    fragments = solution_fragments()
    squeezed = {where: squeeze(text) for where, text in student_texts().items()}
    found = [f"{where}: {fragment} (from {fragments[fragment]})"
             for where, text in squeezed.items() for fragment in fragments if fragment in text]
    assert found == []


def test_the_last_backward_hint_gives_intermediate_results_not_the_final_line():
    course = yaml.safe_load((ROOT / "course.yml").read_text())
    hints = next(e["hints"] for e in course["exercises"] if e["id"] == "bn_backward")
    for language in ("en", "es"):
        last = hints[-1][language]
        assert "dσ²" in last and "dμ" in last, language
        assert "dx =" not in last and "dx=" not in last.replace(" ", ""), language


# -- no answers in the docs ----------------------------------------------------------------------


def doc_files() -> list[Path]:
    return [path for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))] if path.is_file()]


def answer_lines(text: str) -> list[tuple[str, object]]:
    """(question id, answer) pairs written in `text`: the answers of every YAML block that parses
    to a mapping with ``answers``, and every ``id: value`` line."""
    pairs = []
    for block in re.findall(r"(?s)```(?:yaml|yml)?\n(.*?)```", text):
        try:
            data = yaml.safe_load(block)
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and isinstance(data.get("answers"), dict):
            pairs += list(data["answers"].items())
    for match in re.finditer(r"(?m)^[ \t]*([a-z][a-z0-9_]*)[ \t]*:[ \t]*(\S.*?)[ \t]*(#.*)?$", text):
        try:
            pairs.append((match.group(1), yaml.safe_load(match.group(2))))
        except yaml.YAMLError:
            pairs.append((match.group(1), match.group(2)))
    return pairs


def revealed(bank, text: str) -> list[str]:
    """Question ids whose right answer appears in `text` (in any answers-file format, the letters
    of the old format included), and questions whose explanation is quoted."""
    found = []
    ids = {question.id: question for question in bank.questions}
    for question_id, raw in answer_lines(text):
        question = ids.get(str(question_id))
        if question is None or question.id in found:
            continue
        for reading in (lambda r: r, lambda r: canonical(question, r)):
            try:
                answer = parse(question, reading(raw))
            except (AnswerError, TypeError, ValueError, AttributeError):
                continue
            if judge(question, answer, variant_of(question, 0)).correct:
                found.append(question.id)
                break
    for question in bank.questions:
        for language in ("en", "es"):
            explanation = question.explanation(language)[:60]
            if len(explanation) == 60 and explanation in text:
                found.append(f"{question.id} (explanation)")
    return found


def test_the_doc_check_finds_an_answer(kit):
    bank = load_bank(kit)
    single = next(q for q in bank.questions if q.kind == "single")
    assert revealed(bank, f"answers:\n  {single.id}: {key(single, None)}\n") == [single.id]
    assert revealed(bank, f"answers:\n  {single.id}: not_a_choice\n") == []


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.name)
def test_the_docs_reveal_no_quiz_answer(kit, path):
    assert revealed(load_bank(kit), path.read_text()) == []


# -- Spanish --------------------------------------------------------------------------------------


def bank_texts(kit, language: str) -> dict[str, str]:
    """Every text of the bank in `language`, and the lessons in it."""
    texts = {}

    def visit(where: str, value) -> None:
        if isinstance(value, Text):
            texts[where] = value(language)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                visit(f"{where}[{index}]", item)
        elif hasattr(value, "__struct_fields__"):
            for name in value.__struct_fields__:
                visit(f"{where}.{name}", getattr(value, name))
        elif isinstance(value, dict):
            for name, item in value.items():
                visit(f"{where}.{name}", item)

    visit("quiz", load_bank(kit))
    for path in sorted((ROOT / "lessons" / language).glob("*.md")):
        texts[str(path.relative_to(ROOT))] = path.read_text()
    return texts


def prose(text: str) -> str:
    """The text without code blocks and code spans."""
    return re.sub(r"`[^`]*`", " ", re.sub(r"(?s)```.*?```", " ", text))


FORBIDDEN_SPANISH = [r"\btest\b", r"esperanzas", r"gradiente de arriba", r"no llega a ajustar", r"se difunde",
                     r"activaciones sigmoide\b", r"unidades sigmoide\b", r"saturables", r"red aligerada",
                     r"^Es verdadero:", r"var_lote", r"estadística_lote", r"\bacumulada = "]


def test_spanish_follows_the_kits_conventions(kit):
    texts = bank_texts(kit, "es")
    topic_ids = [t.id for t in load_bank(kit).topics if t.id not in ("dropout", "pytorch")]
    problems = [f"{where}: {pattern}" for where, text in texts.items() for pattern in FORBIDDEN_SPANISH
                if re.search(pattern, prose(text), re.IGNORECASE | re.MULTILINE)]
    problems += [f"{where}: topic id {topic}" for where, text in texts.items() for topic in topic_ids
                 if re.search(rf"\b{topic}\b", prose(text))]
    assert problems == []
    assert any("medias móviles" in text for text in texts.values())  # the notes' own term, used


MATHS = re.compile(r"[μσεγβ√²Σ←·]|x̂")
SHAPE = re.compile(r"^\([A-Z0-9·, ]+\)$")


@pytest.mark.parametrize("language", ["en", "es"])
def test_formulas_in_code_spans_never_break_across_lines(kit, language):
    """Rich wraps inline code at its spaces: a formula span written without spaces stays whole
    at 80 columns (code blocks do not wrap; shapes such as (N·H·W, C) may)."""
    spans = [(where, span) for where, text in bank_texts(kit, language).items()
             for span in re.findall(r"`([^`\n]+)`", re.sub(r"(?s)```.*?```", " ", text))]
    assert [f"{where}: `{span}`" for where, span in spans
            if MATHS.search(span) and " " in span and not SHAPE.match(span)] == []
