"""The question bank: the shipped one covers every learning objective in both languages; a
broken one is refused with the file, line and key of the mistake."""

import re
import shutil
from collections import Counter

import pytest
import yaml
from support import ROOT

from autograder.course import LANGUAGES, CourseError
from autograder.kit import Kit
from autograder.quiz.bank import Multiple, Numeric, Single, load_bank
from autograder.quiz.numbers import GENERATORS

TOPICS = ["covariate_shift", "normalisation", "gamma_beta", "benefits", "inference", "pytorch", "placement",
          "dropout", "bn_vs_dropout", "norm_family", "batch_size", "train_eval", "numbers"]
BANK = (ROOT / "quiz.yml").read_text()


@pytest.fixture(scope="module")
def bank(kit):
    return load_bank(kit)


def test_every_learning_objective_has_at_least_three_questions(bank):
    assert [topic.id for topic in bank.topics] == TOPICS
    counts = Counter(question.topic for question in bank.questions)
    assert {topic: counts[topic] for topic in TOPICS if counts[topic] < 4} == {}
    assert len(bank.questions) >= 80


def test_at_least_six_find_the_bug_questions_show_code(bank):
    """Code-reading questions: a short snippet in the prompt, in both languages."""
    snippets = [q.id for q in bank.questions if "```python" in q.prompt.en and "```python" in q.prompt.es]
    assert len(snippets) >= 6, snippets


def test_every_question_type_is_used(bank):
    assert {question.kind for question in bank.questions} == {
        "single", "multiple", "true_false", "numeric", "ordering", "matching"}


def test_every_generator_is_used(bank):
    assert {q.generator for q in bank.questions if isinstance(q, Numeric)} == set(GENERATORS)


def test_every_exercise_has_checkpoint_questions(bank, kit):
    assert {exercise: len(bank.checkpoints(exercise)) for exercise in kit.course.ids
            if not bank.checkpoints(exercise)} == {}
    shape = bank.question("gb_dgamma_shape")
    assert shape.exercise == "bn_backward" and "dγ" in shape.prompt.en


def test_the_debate_about_internal_covariate_shift_is_taught(bank):
    debated = bank.question("ics_debated")
    assert debated.answer is False and "Santurkar" in debated.feedback.en and "Santurkar" in debated.feedback.es


def test_spanish_texts_are_translations_not_copies(bank):
    copies = []
    for question in bank.questions:
        texts = [question.prompt, question.explanation]
        if isinstance(question, (Single, Multiple)):
            texts += [c.text for c in question.choices] + [c.feedback for c in question.choices if c.feedback]
        copies += [t.en for t in texts if t.en == t.es and re.search(r"[a-z]{4} [a-z]{4} [a-z]{4}", t.en)]
    assert copies == []
    spanish = " ".join(q.explanation.es for q in bank.questions)
    assert re.search(r"[áéíóúñ¿]", spanish)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_topic_has_a_lesson_in_each_language(bank, kit, language):
    for topic in bank.topics:
        text = (ROOT / "lessons" / language / f"{topic.id}.md").read_text()
        assert text.startswith("# ") and 400 < len(text) < 7000, topic.id
        assert too_wide(text) == [], topic.id


def too_wide(markdown: str) -> list[str]:
    """Code lines wider than 76 columns (they wrap badly in an 80-column terminal) and prose
    lines wider than 100 (tables excepted)."""
    wide, code = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            code = not code
        elif len(line) > (76 if code else 100) and not line.startswith("|"):
            wide.append(line)
    return wide


# -- a broken bank is refused, naming the line and the key -----------------------------------------


def load_text(tmp_path, text: str, lessons: bool = True):
    """Load `text` as the bank of a copy of the kit in tmp_path."""
    (tmp_path / "quiz.yml").write_text(text)
    if lessons and not (tmp_path / "lessons").exists():
        shutil.copytree(ROOT / "lessons", tmp_path / "lessons")
    shutil.copy(ROOT / "course.yml", tmp_path / "course.yml")
    return load_bank(Kit(tmp_path, Kit.locate(ROOT / "course.yml").course))


def line_of(text: str, needle: str, after: str = "") -> int:
    start = text.index(after) if after and after in text else 0
    return text[:text.index(needle, start)].count("\n") + 1


def replace_once(old: str, new: str, after: str = "") -> str:
    start = BANK.index(after) if after else 0
    at = BANK.index(old, start)
    return BANK[:at] + new + BANK[at + len(old):]


def test_the_shipped_bank_loads_from_a_copy(tmp_path):
    assert len(load_text(tmp_path, BANK).questions) >= 80


def index(question_id: str) -> int:
    return [q["id"] for q in yaml.safe_load(BANK)["questions"]].index(question_id)


BROKEN = [
    # (what, question id, old, new, expected message ({i}: the question's index), line with)
    ("two right answers", "ics_definition", "      - id: dataset_shift\n        text:",
     "      - id: dataset_shift\n        correct: true\n        text:",
     "(questions[{i}].choices): `choices`: single-choice question 'ics_definition' needs exactly one correct "
     "choice, has 2", "    choices:"),
    ("a misspelt feedback key", "ics_definition", "        feedback:\n          en: \"Label noise is",
     "        fb:\n          en: \"Label noise is",
     "(questions[{i}].choices[3].fb): unknown key `fb` (a misspelling?)", "fb:"),
    ("a wrong choice without feedback", "ics_sigmoid", "        feedback:\n          en: \"The sigmoid always lies",
     "        hint:\n          en: \"The sigmoid always lies", "(questions[{i}].choices[0].hint)", "hint:"),
    ("a choice without an id", "ics_sigmoid", "      - id: negative_outputs\n        text:", "      - text:",
     "(questions[{i}].choices[0]): the key `id` is missing", "- text:"),
    ("a one-letter choice id", "ics_sigmoid", "- id: negative_outputs", "- id: a",
     "(questions[{i}].choices[0].id): `id` 'a': choice ids need two letters or more", "- id: a\n"),
    ("a choice id given twice", "ics_sigmoid", "- id: no_derivative", "- id: negative_outputs",
     "(questions[{i}].choices[1].id): `choices[1].id`: 'negative_outputs' appears twice in 'ics_sigmoid'",
     "- id: negative_outputs\n        text:\n          en: \"The sigmoid has no derivative"),
    ("an unknown topic", "norm_axis", "topic: normalisation", "topic: normalization",
     "(questions[{i}].topic): `questions[{i}].topic`: unknown topic 'normalization'", "topic: normalization"),
    ("a duplicate id", "ics_sigmoid", "- id: ics_sigmoid", "- id: ics_definition",
     "(questions[{i}].id): `questions[{i}].id`: question id 'ics_definition' appears twice",
     "- id: ics_definition\n    topic: covariate_shift\n    type: single\n    prompt:\n      en: \"Why"),
    ("an unknown type", "ics_fixed_data", "type: true_false", "type: yes_no",
     "(questions[{i}].type): Invalid value 'yes_no'", "type: yes_no"),
    ("an unknown generator", "gb_output_mean", "generator: output_mean", "generator: output_average",
     "(questions[{i}].generator): `generator`: no generator 'output_average'", "generator: output_average"),
    ("a numeric mistake without feedback", "gb_output_mean", "      gamma:\n        en: \"γ sets the spread",
     "      gama:\n        en: \"γ sets the spread", "(questions[{i}].mistakes): `mistakes`: generator "
     "'output_mean' knows the mistakes ['gamma', 'zero']; missing ['gamma'], unknown ['gama']",
     "    mistakes:\n      zero:"),
    ("a placeholder the generator does not give", "gb_output_mean", "the mini-batch `{batch}`. What is the mean",
     "the mini-batch `{batches}`. What is the mean",
     "(questions[{i}].prompt.en): `prompt.en`: {{batches}} is not a value of generator 'output_mean'",
     "en: \"In training mode, a BatchNorm feature"),
    ("an ordering key that is not a permutation", "place_block", "order: [linear, batchnorm, relu, dropout]",
     "order: [linear, batchnorm, relu, relu]", "(questions[{i}].order): `order` of 'place_block' must list each "
     "item id once", "order: [linear, batchnorm, relu, relu]"),
    ("items listed in the right order", "place_block", "order: [linear, batchnorm, relu, dropout]",
     "order: [relu, dropout, linear, batchnorm]", "(questions[{i}].items): `items` of 'place_block' are listed in "
     "the right order", "    items:\n      - id: relu\n        text: {en: \"`nn.ReLU()`\""),
    ("a matching statement with no such option", "pt_layer_arguments", "match: inside_sqrt", "match: in_the_sqrt",
     "(questions[{i}].pairs[1].match): `pairs[1].match`: 'in_the_sqrt' is not an option of 'pt_layer_arguments'",
     "match: in_the_sqrt"),
    ("a missing Spanish explanation", "ics_fixed_data", "      es: \"Solo la primera capa ve los datos",
     "      fr: \"Solo la primera capa ve los datos",
     "(questions[{i}].explanation.fr): unknown key `fr` (a misspelling?)", "fr: \"Solo la primera"),
    ("an empty prompt", "do_eval_identity", "      en: \"At inference, inverted dropout returns its input unchanged.\"",
     "      en: \" \"", "(questions[{i}].prompt.en): `prompt.en` is empty", "en: \" \""),
    ("a checkpoint of an exercise that does not exist", "norm_axis", "exercise: bn_forward", "exercise: bn_fwd",
     "(questions[{i}].exercise): `questions[{i}].exercise`: no exercise 'bn_fwd' in course.yml", "exercise: bn_fwd"),
]


@pytest.mark.parametrize("what, question, old, new, expected, line_with", BROKEN, ids=[b[0] for b in BROKEN])
def test_a_mistake_names_its_line_and_key(tmp_path, what, question, old, new, expected, line_with):
    text = replace_once(old, new, after=f"- id: {question}\n")
    with pytest.raises(CourseError) as error:
        load_text(tmp_path, text)
    message = str(error.value)
    assert message.startswith("quiz.yml, line ")
    assert expected.format(i=index(question)) in message
    assert f"line {line_of(text, line_with, after=f'- id: {question}')} " in message


def test_a_missing_lesson_is_named(tmp_path):
    shutil.copytree(ROOT / "lessons", tmp_path / "lessons")
    (tmp_path / "lessons" / "es" / "dropout.md").unlink()
    with pytest.raises(CourseError) as error:
        load_text(tmp_path, BANK)
    assert "(topics[7].id): `topics[7].id`: no lesson lessons/es/dropout.md" in str(error.value)
    assert f"line {line_of(BANK, '- id: dropout')} " in str(error.value)


def test_invalid_yaml_names_the_line(tmp_path):
    text = replace_once("    answer: true\n", "    answer: [true\n", "ics_fixed_data")
    with pytest.raises(CourseError, match=r"quiz.yml, line \d+: not valid YAML"):
        load_text(tmp_path, text)


def test_a_course_without_quiz_has_no_bank(tmp_path):
    import msgspec

    kit = Kit.locate(ROOT / "course.yml")
    bare = Kit(kit.root, msgspec.structs.replace(kit.course, quiz=None))
    with pytest.raises(CourseError, match="no `quiz` section"):
        load_bank(bare)


def test_the_validated_bank_is_cached_and_a_bad_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GRADE_NO_CACHE", raising=False)
    first = load_text(tmp_path, BANK)
    cached = list((tmp_path / "state" / "cache").glob("quiz-*.json"))
    assert len(cached) == 1
    assert load_text(tmp_path, BANK) == first  # read back from the cache
    cached[0].write_text("{damaged")
    assert load_text(tmp_path, BANK) == first and cached[0].read_text().startswith("{\"topics\"")
    (tmp_path / "lessons" / "en" / "dropout.md").unlink()  # a cached bank is still checked
    with pytest.raises(CourseError, match=r"no lesson lessons/en/dropout.md"):
        load_text(tmp_path, BANK)
    (tmp_path / "lessons" / "en" / "dropout.md").write_text("# Dropout\n")
    edited = BANK.replace("Worked numbers", "Numbers, worked")
    assert load_text(tmp_path, edited).topics[-1].title.en == "Numbers, worked"  # a new hash
    assert len(list((tmp_path / "state" / "cache").glob("quiz-*.json"))) == 1  # the stale one went
    monkeypatch.setenv("GRADE_NO_CACHE", "1")
    shutil.rmtree(tmp_path / "state")
    load_text(tmp_path, BANK)
    assert not (tmp_path / "state").exists()
