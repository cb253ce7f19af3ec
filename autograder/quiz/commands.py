"""``grade quiz``: the theory quiz in the terminal, or a file of answers graded at once.

    grade quiz [--topic TOPIC | --checkpoint EXERCISE]
    grade quiz --reset (--topic TOPIC | --checkpoint EXERCISE | --all)
    grade quiz --answers FILE [--json]
    grade quiz --export FILE

Only the first attempt at a question scores (see `autograder.quiz.answers`); ``--reset``
reopens questions for practice and never changes the score.

Exit codes: 0 done or stopped with q / end of input (or every answer in FILE right), 1 some
answer in FILE wrong, 2 a usage, course or answers-file error, 130 Ctrl-C (the answers given so
far are saved).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from autograder.arguments import (
    FAILED,
    OK,
    Parser,
    UsageError,
    common_options,
    make_console,
    open_kit,
    suggestion,
)
from autograder.i18n import Translator
from autograder.kit import Kit
from autograder.quiz.bank import Bank, Question, Topic, load_bank
from autograder.state import State


def main(argv: list[str], t: Translator) -> int:
    args = _parser(t).parse_args(argv)
    kit, t = open_kit(args)
    if kit.course.quiz is None:
        raise UsageError(t("quiz.errors.no_quiz"))
    bank = load_bank(kit)
    if args.json and not args.answers:
        raise UsageError(t("quiz.errors.json_needs_answers"))
    if args.all and not args.reset:
        raise UsageError(t("quiz.errors.all_needs_reset"))
    if args.answers:
        return grade_file(kit, bank, Path(args.answers), t, as_json=args.json)
    from autograder.quiz.answers import QuizStore

    store = QuizStore(State.load(kit.state_dir), bank, kit.course.quiz.points)
    if args.export:
        return export(store, Path(args.export), t)
    if args.reset:
        return reset(store, kit, args, t)
    return interactive(store, select(kit, bank, args, t), t)


def _parser(t: Translator) -> argparse.ArgumentParser:
    parser = Parser(t, prog="grade quiz", description=t("quiz.help.description"),
                                     epilog=t("quiz.help.epilog"))
    focus = parser.add_mutually_exclusive_group()
    focus.add_argument("--topic", metavar="TOPIC", help=t("quiz.help.topic"))
    focus.add_argument("--checkpoint", metavar="EXERCISE", help=t("quiz.help.checkpoint"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--answers", metavar="FILE", help=t("quiz.help.answers"))
    mode.add_argument("--export", metavar="FILE", help=t("quiz.help.export"))
    mode.add_argument("--reset", action="store_true", help=t("quiz.help.reset"))
    focus.add_argument("--all", action="store_true", help=t("quiz.help.all"))
    parser.add_argument("--json", action="store_true", help=t("quiz.help.json"))
    common_options(parser, t)
    return parser


def select(kit: Kit, bank: Bank, args: argparse.Namespace, t: Translator) -> list[Question]:
    """The questions of ``--topic`` or ``--checkpoint``, else the whole bank."""
    if args.topic:
        return bank.on_topic(find_topic(bank, args.topic, t).id)
    if args.checkpoint:
        questions = bank.checkpoints(args.checkpoint)
        if not questions:
            raise UsageError(t("quiz.errors.no_checkpoint", name=args.checkpoint,
                               suggestion=suggestion(args.checkpoint, kit.course.ids, t)))
        return questions
    return list(bank.questions)


def find_topic(bank: Bank, name: str, t: Translator) -> Topic:
    """A topic by id or by its number in ``grade learn``; a one-line error otherwise."""
    ids = [topic.id for topic in bank.topics]
    if name in ids:
        return bank.topic(name)
    if name.isdigit() and 1 <= int(name) <= len(ids):
        return bank.topics[int(name) - 1]
    raise UsageError(t("quiz.errors.unknown_topic", name=name, suggestion=suggestion(name, ids, t)))


def reset(store, kit: Kit, args: argparse.Namespace, t: Translator) -> int:
    """Reopen questions for practice: the chosen topic or checkpoint, or (``--all``, after a
    yes) every question. The score never changes."""
    if not (args.topic or args.checkpoint or args.all):
        raise UsageError(t("quiz.errors.reset_needs_selection"))
    questions = select(kit, store.bank, args, t)
    console = make_console()
    if args.all:
        from autograder.quiz.session import confirm

        attempted = sum(not store.is_new(q) for q in questions)
        if not confirm(console, t("quiz.reset_all_prompt", count=attempted), t):
            console.print(t("quiz.reset_cancelled"), style="cyan")
            return OK
    count = store.reset(questions)
    console.print(t("quiz.reset_done", count=count), style="cyan")
    return OK


def interactive(store, questions: list[Question], t: Translator) -> int:
    from autograder.quiz.session import Quit, QuizSession

    console = make_console()
    session = QuizSession(store, t, console)
    try:
        session.run(questions)
    except (Quit, EOFError):  # q, or the end of the input (Ctrl-D, a finished pipe)
        console.print()
        session.summary()
        console.print(t("quiz.saved", answered=store.result().answered), style="cyan")
    except KeyboardInterrupt:
        console.print()
        console.print(t("quiz.saved", answered=store.result().answered), style="cyan")
        return 130
    return OK


def grade_file(kit: Kit, bank: Bank, path: Path, t: Translator, *, as_json: bool) -> int:
    """Grade an answers file: a table of verdicts on the first attempts (or JSON), exit 0 only
    if all are right."""
    from autograder.quiz.answers import file_result, read_answers

    if not path.is_file():
        raise UsageError(t("quiz.errors.not_a_file", path=path))
    answers = read_answers(path)
    result = file_result(bank, kit.course.quiz.points, answers)
    unknown = answers.unknown(bank)
    if as_json:
        from autograder.quiz.answers import quiz_to_json

        print(json.dumps({**quiz_to_json(result), "unknown": unknown}, ensure_ascii=False, indent=2))
    else:
        from rich.text import Text

        from autograder.quiz.check import variant_of
        from autograder.quiz.views import AnswersView, QuizSummaryView

        numbers = {q.id: variant_of(q, answers.seed) for q in bank.questions}
        console = make_console()
        seed = t("quiz.answers.no_seed_heading") if answers.seed is None else answers.seed
        console.print(Text(t("quiz.answers.heading", file=path.name, seed=seed), style="bold"))
        if answers.format < 2 and answers.answers:
            console.print(Text(t("quiz.answers.format_1"), style="yellow"))
        console.print(AnswersView(bank, answers.judged(bank), numbers, t))
        if unknown:
            console.print(Text(t("quiz.answers.unknown", ids=", ".join(unknown)), style="yellow"))
        console.print(QuizSummaryView(result, bank, t))
    return OK if result.correct == len(result.questions) else FAILED


def export(store, path: Path, t: Translator) -> int:
    """Write the student's attempts to an answers file, for a graded submission."""
    count = store.export(path, t("quiz.answers.file_header", file=path.name))
    make_console().print(t("quiz.answers.exported", count=count, file=path, seed=store.seed), style="cyan")
    return OK
