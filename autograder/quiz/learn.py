"""``grade learn [TOPIC]``: the lesson of a topic (Rich Markdown), or the list of topics.

Lessons are Markdown files, ``<lessons>/<language>/<topic>.md`` (course.yml's ``quiz.lessons``),
in the order of quiz.yml's topics.
"""

from __future__ import annotations

from autograder.arguments import OK, Parser, UsageError, common_options, make_console, open_kit
from autograder.i18n import Translator
from autograder.quiz.bank import lesson_path, load_bank
from autograder.quiz.commands import find_topic
from autograder.state import State


def main(argv: list[str], t: Translator) -> int:
    parser = Parser(t, prog="grade learn", description=t("learn.help.description"))
    parser.add_argument("topic", nargs="?", metavar="TOPIC", help=t("learn.help.topic"))
    common_options(parser, t)
    args = parser.parse_args(argv)
    kit, t = open_kit(args)
    if kit.course.quiz is None:
        raise UsageError(t("quiz.errors.no_quiz"))
    bank = load_bank(kit)
    from autograder.quiz.views import LessonView, TopicsView

    console = make_console()
    if args.topic is None:
        from autograder.quiz.answers import QuizStore

        result = QuizStore(State.load(kit.state_dir), bank, kit.course.quiz.points).result()
        console.print(t("learn.heading", course=t.text(kit.course.title)), style="bold")
        console.print(TopicsView(bank, result, t))
        return OK
    topic = find_topic(bank, args.topic, t)
    markdown = lesson_path(kit, topic.id, t.language).read_text(encoding="utf-8")
    console.print(LessonView(markdown, topic.id, len(bank.on_topic(topic.id)), t))
    return OK
