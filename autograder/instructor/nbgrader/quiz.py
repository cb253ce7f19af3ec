"""The quiz notebook of an nbgrader export: the theory quiz as markdown and one answers cell.

    intro (read-only)        how to answer each kind of question
    one cell per topic       its questions, numbered, with the assignment's numbers filled in
    answers (answer cell)    quiz_answers = {"<question id>": None, ...}   <- the student fills it
                             ### BEGIN SOLUTION / quiz_answers.update({... the key ...}) / END
    tests (locked, graded)   hidden: kit_tests.run_quiz(<seed>) - the kit's quiz scoring

nbgrader releases one notebook to the whole class, so the order of the choices and the numbers
of the numeric questions come from one seed per assignment
(`autograder.instructor.notebooks.assignment_seed`, or the one given to the export): every
student of the assignment sees the same letters. The seed is in the hidden call and in the
notebook's metadata, so ``nbgrader autograde`` and ``grade --submission`` (with the
``quiz_answers.yml`` that `notebooks.write_submission` writes, marked ``shown_order``) read the
same letters in the same order and judge them against the same numbers. A notebook holds one
answer per question: its first attempt, the one that scores.
"""

from __future__ import annotations

from nbformat import NotebookNode

from autograder.grading.results import points as shown
from autograder.i18n import Translator
from autograder.instructor.nbgrader import cells
from autograder.instructor.nbgrader.solution_cells import BEGIN, END
from autograder.instructor.notebooks import ANSWERS_NAME
from autograder.quiz.bank import Bank, Numeric, Question
from autograder.quiz.check import key, variant_of
from autograder.quiz.order import as_shown, view_order
from autograder.quiz.views import listing, say, tolerance_text

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def quiz_cells(bank: Bank, points: float, seed: int, t: Translator) -> list[NotebookNode]:
    numbered = _numbered(bank)
    result = [cells.read_only_markdown("quiz_intro", t("notebook.quiz.intro", points=shown(points),
                                                       count=len(bank.questions)))]
    for topic in bank.topics:
        questions = [(number, q) for number, q in numbered if q.topic == topic.id]
        if questions:
            text = "\n\n".join([f"## {t.text(topic.title)}"] + [question_markdown(q, number, seed, t)
                                                                   for number, q in questions])
            result.append(cells.read_only_markdown(f"quiz_topic_{topic.id}", text))
    result.append(cells.answer("quiz_answers", answers_source(numbered, seed, t)))
    result.append(cells.tests("quiz_tests", tests_source(seed, points, t), points))
    return result


def _numbered(bank: Bank) -> list[tuple[int, Question]]:
    """Questions in teaching order (topic by topic), numbered from 1."""
    ordered = [q for topic in bank.topics for q in bank.questions if q.topic == topic.id]
    return list(enumerate(ordered, 1))


def question_markdown(question: Question, number: int, seed: int, t: Translator) -> str:
    numbers = variant_of(question, seed)
    kind = t(f"quiz.kind.{question.kind}")
    lines = [f"**{number}.** {say(t, question.prompt, numbers)}  \n*{kind} · `{question.id}`*"]
    lines += [f"- **{label}** {text}" for label, text in listing(question, view_order(question, seed), numbers, t)
              if label]
    if isinstance(question, Numeric) and tolerance_text(question):
        lines.append(f"*{t('quiz.tolerance', tolerance=tolerance_text(question))}*")
    return "\n".join(lines)


def answers_source(numbered: list[tuple[int, Question]], seed: int, t: Translator) -> str:
    """The template every student fills in, then the key in a solution region."""
    template = [f"# {t('notebook.quiz.fill_in')}", f"{ANSWERS_NAME} = {{"]
    template += [f"    {q.id!r}: None,  # {number} · {t(f'notebook.quiz.format.{q.kind}')}"
                 for number, q in numbered]
    template.append("}")
    solution = [BEGIN, f"{ANSWERS_NAME}.update({{"]
    solution += [f"    {q.id!r}: {as_shown(q, key(q, variant_of(q, seed)), view_order(q, seed))!r},"
                 for _, q in numbered]
    solution += ["})", END]
    return "\n".join(template + solution)


def tests_source(seed: int, points: float, t: Translator) -> str:
    return "\n".join([
        f"# {t('notebook.quiz.tests', points=shown(points))}",
        HIDDEN_BEGIN,
        f"import autograder.instructor.nbgrader.hidden_tests as kit_tests  # {t('notebook.kit_needed')}",
        f"kit_tests.run_quiz({seed}, lang={t.language!r})",
        HIDDEN_END,
        f"assert isinstance({ANSWERS_NAME}, dict), {t('notebook.quiz.not_a_dict')!r}",
        f"print({t('notebook.quiz.answered')!r}.format("
        f"count=sum(value is not None for value in {ANSWERS_NAME}.values()), total=len({ANSWERS_NAME})))",
    ])

