"""Near-identical submissions: disguised copies are found (renamed variables, other comments and
layout), independently written code is not, whatever it has in common with the whole class;
the kit's own different-but-correct implementations are far apart. No grading here."""

from __future__ import annotations

import random
import re

import pytest
from support import ROOT, SOLUTIONS

from autograder.instructor.batch.similarity import THRESHOLD, clusters, tokens, winnow

OPS = ["+", "-", "*", "/"]
CALLS = ["np.sum({x}, axis=0)", "np.mean({x})", "np.max({x}, axis=1)", "np.exp(-{x})", "np.sqrt(np.abs({x}))",
         "{x}.T @ {y}", "np.maximum({x}, 0)", "np.clip({x}, -1, 1)", "{x}[::2]", "np.cumsum({x})"]
SHARED = '''
def load_batches(path):
    """The helper every student was given."""
    data = np.load(path)
    return [data[i:i + 32] for i in range(0, len(data), 32)]
'''


def author(seed: int) -> str:
    """A program of four functions written by one (random) author."""
    rng = random.Random(seed)
    lines = ["import numpy as np", SHARED]
    for number in range(4):
        names = ["a", "b", "c"]
        lines.append(f"def step_{seed}_{number}(a, b, c):")
        for index in range(rng.randint(6, 9)):
            target = f"t{index}"
            kind = rng.random()
            x, y = rng.choice(names), rng.choice(names)
            if kind < 0.4:
                lines.append(f"    {target} = {rng.choice(CALLS).format(x=x, y=y)} {rng.choice(OPS)} {rng.randint(1, 9)}")
            elif kind < 0.7:
                lines.append(f"    {target} = ({x} {rng.choice(OPS)} {y}) {rng.choice(OPS)} {rng.random():.2f}")
            elif kind < 0.85:
                lines += [f"    {target} = {x}", f"    for i in range({rng.randint(2, 5)}):",
                          f"        {target} = {target} {rng.choice(OPS)} {y} * i"]
            else:
                lines += [f"    if np.mean({x}) > {rng.randint(0, 3)}:", f"        {target} = {x} {rng.choice(OPS)} {y}",
                          "    else:", f"        {target} = {rng.choice(CALLS).format(x=y, y=x)}"]
            names.append(target)
        lines.append(f"    return {names[-1]}, {names[-2]}\n")
    return "\n".join(lines)


def disguise(source: str, seed: int) -> str:
    """The same program as a copier hands it in: every local name changed, comments and blank
    lines added, quotes and spacing changed."""
    rng = random.Random(seed)
    mapping = {name: f"{rng.choice(['val', 'tmp', 'res', 'my'])}_{name}_{seed}"
               for name in set(re.findall(r"\bt\d+\b", source)) | {"a", "b", "c", "i", "data"}}
    source = re.sub(r"\b(t\d+|a|b|c|i|data)\b", lambda m: mapping[m.group(1)], source)
    lines = []
    for line in source.splitlines():
        lines.append(line.replace(" = ", " =  ") if rng.random() < 0.3 else line)
        if rng.random() < 0.25:
            lines.append(f"{' ' * (len(line) - len(line.lstrip()))}# step {rng.randint(0, 99)} of my own work")
        if rng.random() < 0.15:
            lines.append("")
    return "\n".join(lines).replace('"""The helper every student was given."""', "'''my helper'''")


def prints(source: str) -> list[int]:
    return sorted(winnow(tokens(source)))


@pytest.fixture(scope="module")
def klass():
    """70 submissions: 40 authors; 10 of them copied three times each, in disguise."""
    sources = {f"author{n:02d}": author(n) for n in range(40)}
    copied = {}
    for n in range(0, 40, 4):
        for copy in range(3):
            copied[f"author{n:02d}-copy{copy}"] = disguise(sources[f"author{n:02d}"], 100 * n + copy)
    return {**sources, **copied}


def test_disguised_copies_are_clustered_and_nothing_else(klass):
    found = clusters({student: prints(source) for student, source in klass.items()})
    expected = sorted(sorted([f"author{n:02d}"] + [f"author{n:02d}-copy{c}" for c in range(3)]) for n in range(0, 40, 4))
    assert sorted(c.students for c in found) == expected
    assert all(THRESHOLD <= c.similarity <= 1.0 for c in found)
    assert all(len(c.pairs) >= len(c.students) - 1 for c in found)


def test_names_comments_and_layout_change_nothing():
    original = author(7)
    assert tokens(original) == tokens(disguise(original, 3))
    assert prints(original) == prints(disguise(original, 4))
    assert tokens(original) != tokens(author(8))


def test_a_copy_with_a_few_changes_is_still_near_identical():
    original = author(11)
    lines = original.splitlines()
    edited = [line.replace("+ 3", "- 4") if index % 9 == 0 else line for index, line in enumerate(lines)]
    found = clusters({"x": prints(original), "y": prints("\n".join(edited)), **{f"o{n}": prints(author(200 + n))
                                                                                 for n in range(20)}})
    assert [c.students for c in found] == [["x", "y"]]


def test_code_the_whole_class_shares_makes_no_pair():
    """Forty students who all hand in the same helper and little else: common ground, no cluster."""
    common = "import numpy as np\n" + SHARED + "\n" + author(1).split("def step")[0]
    klass = {f"s{n}": prints(common + f"\nX = {n}\n") for n in range(40)}
    assert clusters(klass) == []


@pytest.mark.parametrize("module", ["test_checks_dropout", "test_checks_bn_backward", "test_checks_bn_sgd_step"])
def test_the_kits_different_but_correct_implementations_are_not_copies(module):
    import importlib

    alternatives = importlib.import_module(module).ALTERNATIVES
    exercise = importlib.import_module(module).EXERCISE
    from autograder.kit import Kit

    file = Kit.locate(ROOT / "course.yml").course.exercise(exercise).file
    klass = {"solution": prints((SOLUTIONS / file).read_text())}
    klass.update({label: prints(source) for label, source in alternatives.items()})
    assert clusters(klass) == [], list(alternatives)
