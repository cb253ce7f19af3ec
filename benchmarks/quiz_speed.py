"""Does the quiz slow `grade` down? Median wall-clock times of whole command runs.

    python benchmarks/quiz_speed.py [--runs 9]

Times, each the median of several runs of a fresh process:
- ``grade`` on the untouched stubs with no quiz answer yet, and with every question answered
  right (the state file holds every attempt, which `grade` judges again for the quiz row);
- the same with the quiz bank's cache emptied before each run (the first run after quiz.yml
  changed: the YAML is parsed and validated again);
- ``grade quiz --answers FILE --json`` on a file answering every question;
- the floor, ``python -c "import numpy, pytest, rich"``.
Nothing here is a test: it measures and prints.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from grade_speed import GRADE, PYTHON, ROOT, median_time, timed  # the same timing as the grade benchmark

sys.path.insert(0, str(ROOT))


def answer_everything(state: Path) -> Path:
    """Answer every question right in the state under `state`; returns an answers file too."""
    from autograder.kit import Kit
    from autograder.quiz.answers import QuizStore
    from autograder.quiz.bank import load_bank
    from autograder.quiz.check import key, variant_of
    from autograder.state import State

    kit = Kit.locate(ROOT / "course.yml")
    bank = load_bank(kit)
    store = QuizStore(State.load(state), bank, kit.course.quiz.points)
    for question in bank.questions:
        store.record(question, key(question, variant_of(question, store.seed)))
    store.export(state / "answers.yml")
    return state / "answers.yml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as full:
        answers = answer_everything(Path(full))
        env = {**os.environ, "GRADE_STATE_DIR": empty}
        full_env = {**os.environ, "GRADE_STATE_DIR": full}
        timed(GRADE, env)  # warm the bank cache

        def no_bank_cache() -> None:
            shutil.rmtree(Path(full) / "cache", ignore_errors=True)

        results = {
            "floor: import numpy, pytest, rich": median_time([PYTHON, "-c", "import numpy, pytest, rich"], runs, env),
            "grade (no quiz answer)": median_time(GRADE, runs, env),
            "grade (every question answered)": median_time(GRADE, runs, full_env),
            "grade (answered, bank cache emptied)": median_time(GRADE, runs, full_env, prepare=no_bank_cache),
            "grade quiz --answers FILE --json": median_time([*GRADE, "quiz", "--answers", str(answers), "--json"],
                                                            runs, full_env),
        }
    floor = results["floor: import numpy, pytest, rich"]
    print(f"median of {runs} runs each, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for name, seconds in results.items():
        print(f"  {name:<40} {seconds:6.3f} s   {seconds / floor:5.2f}x floor")


if __name__ == "__main__":
    main()
