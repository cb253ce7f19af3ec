"""The quiz question after an experiment, asked through the quiz's own session.

The coupling with the quiz is kept to its public pieces: the bank (`load_bank`, `question`),
the student's attempts (`QuizStore`) and one question asked by `QuizSession.ask`, which judges,
gives feedback and saves the attempt as ``grade quiz`` would (a first attempt, so it scores as
it would there). A question already attempted is not asked again; it is only named.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from autograder.i18n import Translator
from autograder.kit import Kit


def ask(kit: Kit, question_id: str, t: Translator, console: Console) -> None:
    """Ask question `question_id` of the quiz, unless the student already answered it."""
    from autograder.quiz.answers import QuizStore
    from autograder.quiz.bank import load_bank
    from autograder.quiz.session import Quit, QuizSession
    from autograder.state import State

    bank = load_bank(kit)
    question = bank.question(question_id)
    store = QuizStore(State.load(kit.state_dir), bank, kit.course.quiz.points)
    if not store.is_new(question):
        console.print(Text(t("lab.checkpoint.answered", topic=question.topic), style="dim"))
        return
    try:
        QuizSession(store, t, console).ask(question, t("lab.checkpoint.title"), scored=True)
    except (Quit, EOFError):
        console.print(Text(t("lab.checkpoint.skipped", topic=question.topic), style="dim"))


def check_ids(kit: Kit, experiment_ids: list[str]) -> None:
    """Every checkpoint names a known experiment and a question of the bank (else a
    `CourseError` naming the key)."""
    from autograder.course import CourseError
    from autograder.quiz.bank import load_bank

    checkpoints = kit.course.lab.checkpoints
    if not checkpoints:
        return
    if kit.course.quiz is None:
        raise CourseError("course.yml (lab.checkpoints): the course has no quiz to ask from")
    bank_ids = {q.id for q in load_bank(kit).questions}
    for experiment, question in checkpoints.items():
        if experiment not in experiment_ids:
            raise CourseError(f"course.yml (lab.checkpoints.{experiment}): no experiment {experiment!r}; "
                              f"the experiments are {', '.join(experiment_ids)}")
        if question not in bank_ids:
            raise CourseError(f"course.yml (lab.checkpoints.{experiment}): no question {question!r} in the quiz")
