"""Every screen of grade, grade watch, grade hint, grade quiz and grade learn, rendered at 80
columns in English and Spanish: no line wider than the terminal, no title cut short (titles
wrap or are left out deliberately, never end in an ellipsis that is not in the text)."""

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.panel import Panel
from support import make_submission, mutate

from autograder.grading.runner import grade
from autograder.i18n import LANGUAGES, Translator, catalog
from autograder.quiz.answers import key_result
from autograder.quiz.bank import lesson_path, load_bank
from autograder.quiz.check import Verdict, check, variant_of
from autograder.quiz.order import view_order
from autograder.quiz.views import LessonView, QuestionView, QuizSummaryView, TopicsView, VerdictView
from autograder.state import State
from autograder.ui.hints import HintView, reveal_next
from autograder.ui.report import ExerciseView, ProgressView, ReportView

WIDTH = 80
CUT = re.compile(r"\S+…")
"""A word cut with an ellipsis (a table cell that gives way)."""
BORDER_TITLE = re.compile(r"^\s*[╭╰]─+ (.*)[╮╯]\s*$")
"""A title or subtitle in a panel's border; Rich cuts one that does not fit without a mark,
so a whole one is followed by a space and a line: "╭─ Title ─────╮"."""


def render(view) -> str:
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None, highlight=False)
    console.print(view)
    return console.file.getvalue()


def words(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


@pytest.fixture(scope="module")
def sources(kit) -> str:
    """Every text the screens may show whole (a "…" written in them is not a cut)."""
    texts = [text for language in LANGUAGES for text in catalog(language).values()]
    texts += [path.read_text() for path in (kit.root / "lessons").rglob("*.md")]
    texts.append((kit.root / "quiz.yml").read_text())
    return "\n".join(texts)


def assert_fits(text: str, sources: str, *titles: str) -> None:
    assert max(cell_len(line) for line in text.splitlines()) <= WIDTH, text
    cut = [word for word in CUT.findall(text) if word not in sources]
    assert cut == [], text
    borders = [match.group(1) for match in map(BORDER_TITLE.match, text.splitlines()) if match]
    assert [b for b in borders if not re.search(r" ─+$", b)] == [], text
    for title in titles:
        assert words(title) in words(text), (title, text)


@pytest.fixture(scope="module")
def mistakes(kit, reference, tmp_path_factory):
    """One folder with typical mistakes: a wrong variance, a syntax error, dropout not inverted."""
    folder = make_submission(tmp_path_factory.mktemp("mistakes"), {
        "batchnorm.py": mutate("batchnorm.py", "x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps"),
        "optim.py": "def sgd_step(param, grad, lr, velocity=None, momentum=0.0, weight_decay=0.0):\n    return param -\n",
        "dropout.py": mutate("dropout.py", "x * keep / (1.0 - p), (keep, p)", "x * keep, (keep, p)"),
    })
    return grade(kit, folder, reference=reference)


@pytest.mark.parametrize("language", LANGUAGES)
def test_grade_screens(kit, mistakes, solutions_report, sources, language):
    t = Translator(language)
    titles = [t.text(kit.course.exercise(e.id).title) for e in mistakes.exercises]
    for report in (mistakes, solutions_report):
        for detail in ("first", "all", "verbose"):
            assert_fits(render(ReportView(report, kit.course, t, detail=detail, hints={"bn_forward": 2})), sources)
        for result in report.exercises:
            text = render(ExerciseView(result, kit.course, t, standalone=True))
            assert_fits(text, sources, t.text(kit.course.exercise(result.id).title))
    assert titles  # the titles are whole where they are shown: in each exercise's box
    progress = {e.id: {"status": e.status, "score": e.score, "passed": e.passed_checks, "checks": len(e.checks)}
                for e in mistakes.exercises}
    assert_fits(render(ProgressView(kit.course, progress, {"bn_forward": 3}, t)), sources)


@pytest.mark.parametrize("language", LANGUAGES)
def test_hint_screens(kit, mistakes, tmp_path, sources, language):
    t = Translator(language)
    state = State.load(tmp_path)
    for exercise in kit.course.exercises:
        result = mistakes.exercise(exercise.id)
        for _ in range(len(exercise.hints) + 2):
            reveal = reveal_next(state, exercise, result if result.status != "passed" else None)
            text = render(HintView(reveal, t))
            assert_fits(text, sources, *[t.text(hint) for hint in exercise.hints[:reveal.shown]])


@pytest.mark.parametrize("language", LANGUAGES)
def test_quiz_and_learn_screens(kit, sources, language):
    t = Translator(language)
    bank = load_bank(kit)
    for question in bank.questions:
        numbers, shown = variant_of(question, 12345), view_order(question, 12345)
        topic = t.text(bank.topic(question.topic).title)
        title = t("quiz.question", number=58, total=58)
        assert_fits(render(QuestionView(question, numbers, shown, t, title, topic)), sources, title, topic)
        for verdict, closed in ((Verdict(True), True), (check(question, "zzz", 12345), False),
                                (check(question, "zzz", 12345), True)):
            view = VerdictView(question, verdict, numbers, shown, t, scored=True, closed=closed)
            assert_fits(render(view), sources)
    result = key_result(bank, kit.course.quiz.points)
    assert_fits(render(QuizSummaryView(result, bank, t)), sources)
    assert_fits(render(TopicsView(bank, result, t)), sources)  # a long topic title wraps in its cell
    for topic in bank.topics:
        markdown = lesson_path(kit, topic.id, language).read_text(encoding="utf-8")
        assert_fits(render(LessonView(markdown, topic.id, len(bank.on_topic(topic.id)), t)), sources)


def test_the_check_finds_a_cut_title(sources):
    long = "Batch Normalization, paso hacia delante (entrenamiento) y mucho más texto que no cabe"
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None)
    console.print(Panel("x", title=long + " " + long))
    with pytest.raises(AssertionError):
        assert_fits(console.file.getvalue(), sources)

