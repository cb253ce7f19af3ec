"""`grade export nbgrader`: the notebooks, their nbgrader metadata, the code read back from them,
and the real round trip through nbgrader (marked slow): generate_assignment, autograde and
generate_feedback, with scores equal to `grade --submission` for the same code."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from support import EXERCISES, ROOT, SOLUTIONS, mutate

from autograder.grading.stubs import unimplemented
from autograder.i18n import Translator
from autograder.instructor.nbgrader.export import cell_timeout, export
from autograder.instructor.nbgrader.hidden_tests import run_checks, run_quiz
from autograder.instructor.notebooks import (
    METADATA_KEY,
    QUIZ_MODULE,
    module_source,
    notebook_names,
    notebook_of_exercise,
    quiz_answers,
    write_submission,
)
from autograder.quiz.answers import ANSWERS_FILE, file_result, read_answers, write_answers
from autograder.quiz.bank import load_bank
from autograder.quiz.check import key, variant_of
from autograder.quiz.order import as_shown, view_order

BIN = Path(sys.executable).parent
GRADE = BIN / "grade"
ASSIGNMENT = "ps1"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.DOTALL)
SOLUTION = re.compile(r"[ \t]*### BEGIN SOLUTION.*?### END SOLUTION\n?", re.DOTALL)


@pytest.fixture(scope="module")
def course_dir(kit, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nbgrader-course")
    export(kit, root, assignment=ASSIGNMENT, t=Translator("en"))
    return root


def notebooks(course_dir: Path, folder: str = "source") -> dict[str, nbformat.NotebookNode]:
    base = course_dir / folder / ASSIGNMENT
    return {path.stem: nbformat.read(path, as_version=4) for path in sorted(base.glob("*.ipynb"))}


def nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def cells_by_id(notebook) -> dict:
    return {nbgrader_meta(c)["grade_id"]: c for c in notebook.cells if "grade_id" in nbgrader_meta(c)}


# -- the notebooks -------------------------------------------------------------------------------


def test_one_notebook_per_exercise_file_in_course_order_then_the_quiz(kit, course_dir):
    assert list(notebooks(course_dir)) == ["01_batchnorm", "02_optim", "03_spatial_batchnorm", "04_dropout", "05_torch_model",
                                           "06_quiz"]
    config = (course_dir / "nbgrader_config.py").read_text()
    for setting in (f"c.Execute.timeout = {cell_timeout(kit.course)}\n", "c.Execute.raise_on_iopub_timeout = False",
                    "c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests]"):
        assert setting in config
    compile(config, "nbgrader_config.py", "exec")


def test_cell_metadata_is_valid_nbgrader_v3(course_dir):
    from nbgrader.nbgraderformat import MetadataValidator

    validator = MetadataValidator()
    for name, notebook in notebooks(course_dir).items():
        nbformat.validate(notebook)
        validator.validate_nb(notebook)  # raises on a missing key, a duplicate grade_id, points...
        for cell in notebook.cells:
            meta = nbgrader_meta(cell)
            if meta:
                assert set(meta) >= {"grade", "grade_id", "locked", "schema_version", "solution", "task"}, name
                assert meta["schema_version"] == 3
                assert ("points" in meta) == meta["grade"]


def test_one_locked_tests_cell_per_exercise_worth_its_points(kit, course_dir):
    found = {}
    for name, notebook in notebooks(course_dir).items():
        for cell in notebook.cells:
            meta = nbgrader_meta(cell)
            if meta.get("grade"):
                assert meta["locked"] and not meta["solution"] and cell.cell_type == "code"
                found[meta["grade_id"]] = (name, meta["points"])
    names = notebook_names(kit.course)
    expected = {f"tests_{e.id}": (names[notebook_of_exercise(kit.course, e.id)], e.points) for e in kit.course.exercises}
    expected["quiz_tests"] = (names[QUIZ_MODULE], kit.course.quiz.points)
    assert found == expected
    assert found["tests_bn_layer_training"][0] == "02_optim"  # after both notebooks it needs


def test_tests_cells_call_the_kit_in_a_hidden_block_before_the_visible_check(kit, course_dir):
    for name, notebook in notebooks(course_dir).items():
        for cell in notebook.cells:
            if nbgrader_meta(cell).get("grade"):
                hidden = HIDDEN.search(cell.source)
                assert hidden, cell.source
                assert "autograder.instructor.nbgrader.hidden_tests" in hidden.group(0)
                visible = HIDDEN.sub("", cell.source)
                assert "kit_tests" not in visible and "run_checks" not in visible
                if name != "06_quiz":  # the visible part: the kit's check, never a bare assert
                    exercise = nbgrader_meta(cell)["grade_id"].removeprefix("tests_")
                    assert visible.strip().splitlines()[-2:] == [
                        "from autograder.instructor.nbgrader.jupyter import check  # the kit's checks, on the "
                        "functions you have run (the kit must be installed)", f"check({exercise!r}, lang='en')"]
                    assert "assert " not in visible


def released(source: str) -> str:
    """What nbgrader generate_assignment leaves of an answer cell."""
    return SOLUTION.sub(lambda m: re.match(r"[ \t]*", m.group(0)).group(0)
                        + "# YOUR CODE HERE\n" + re.match(r"[ \t]*", m.group(0)).group(0)
                        + "raise NotImplementedError()\n", source)


def test_answer_cells_are_the_stubs_with_the_solution_in_a_region(kit, course_dir):
    for file, name in notebook_names(kit.course).items():
        if file == QUIZ_MODULE:
            continue
        notebook = notebooks(course_dir)[name]
        stub_tree = ast.parse((EXERCISES / file).read_text())
        stub_docs = {n.name: ast.get_docstring(n) for n in stub_tree.body if isinstance(n, ast.FunctionDef)}
        answers = [c for c in notebook.cells if nbgrader_meta(c).get("solution")]
        functions = [f for e in kit.course.exercises if e.file == file for f in e.functions]
        assert [nbgrader_meta(c)["grade_id"] for c in answers] == [f"answer_{f}" for f in functions]
        for cell, function in zip(answers, functions):
            release = released(cell.source)
            tree = ast.parse(release)
            assert ast.get_docstring(tree.body[0]) == stub_docs[function]  # the stub's docstring survives
            assert "BEGIN SOLUTION" not in release
        # the release, as a module, is the untouched stubs: the kit says "not started"
        folder = course_dir / "released-check"
        folder.mkdir(exist_ok=True)
        module = module_source({"cells": [dict(c, source=released(c.source)) for c in notebook.cells]})
        (folder / file).write_text(module)
        assert unimplemented(folder / file) == set(functions)


def test_solution_only_constants_go_inside_the_region(course_dir):
    notebook = notebooks(course_dir)["03_spatial_batchnorm"]
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("solution"):
            assert "AXES" not in released(cell.source)
            assert re.search(r"### BEGIN SOLUTION\n\s+AXES = \(0, 2, 3\)", cell.source)


def test_source_notebooks_grade_like_the_solutions(kit, reference, course_dir, tmp_path):
    from autograder.grading.runner import grade

    converted = write_submission(kit.course, course_dir / "source" / ASSIGNMENT, tmp_path / "sub")
    assert sorted(converted.files) == sorted({e.file for e in kit.course.exercises if e.file}) and converted.quiz
    report = grade(kit, tmp_path / "sub", reference=reference)
    assert report.score == kit.course.total_points
    answers = read_answers(tmp_path / "sub" / ANSWERS_FILE)
    bank = load_bank(kit)
    assert answers.shown_order  # the letters the notebook showed, read in its order
    assert answers.answers == {q.id: as_shown(q, key(q, variant_of(q, answers.seed)), view_order(q, answers.seed))
                               for q in bank.questions}
    assert answers.seed == notebooks(course_dir)["06_quiz"].metadata[METADATA_KEY]["quiz_seed"]
    assert file_result(bank, kit.course.quiz.points, answers).score == kit.course.quiz.points


def release(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What nbgrader generate_assignment gives students: no hidden tests, stubs in the answers."""
    released_notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in released_notebook.cells:
        cell.source = released(HIDDEN.sub("", cell.source))
    return released_notebook


def test_check_in_a_released_notebook_shows_the_kits_report_for_the_kernels_functions(kit, tmp_path, monkeypatch):
    """A released notebook executed with nbclient: the student's answer cells hold a mistake
    that is in the kernel only (the saved notebook still has the stubs); check() grades the
    kernel's functions in the sandbox and renders the kit's report in Spanish."""
    from nbclient import NotebookClient

    export(kit, tmp_path / "course", assignment=ASSIGNMENT, t=Translator("es"))
    source = nbformat.read(tmp_path / "course" / "source" / ASSIGNMENT / "01_batchnorm.ipynb", as_version=4)
    folder = tmp_path / "release"
    folder.mkdir()
    saved = release(source)
    nbformat.write(saved, folder / "01_batchnorm.ipynb")  # on disk: the stubs
    run = release(source)
    solved = cells_by_id(source)
    for cell in run.cells:
        grade_id = nbgrader_meta(cell).get("grade_id", "")
        if grade_id.startswith("answer_"):
            cell.source = solved[grade_id].source.replace(*MISTAKES["batchnorm.py"])
    monkeypatch.setenv("GRADE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GRADE_LANG", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    NotebookClient(run, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()

    def shown(exercise: str) -> str:
        cell = cells_by_id(run)[f"tests_{exercise}"]
        return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in cell.outputs)

    forward = shown("bn_forward")
    assert "bn_forward" in forward and "✘" in forward
    assert "no coincide con PyTorch" in forward and "varianza insesgada" in forward  # the misconception, in Spanish
    assert not [o for o in cells_by_id(run)["tests_bn_forward"].outputs if o.output_type == "error"]
    assert any("text/html" in o.get("data", {}) for o in cells_by_id(run)["tests_bn_forward"].outputs)  # Rich in Jupyter
    assert "bn_running_stats" in shown("bn_running_stats") and "✘" not in shown("bn_running_stats")
    assert "✔" in shown("bn_running_stats")
    assert nbformat.read(folder / "01_batchnorm.ipynb", as_version=4) == saved  # nothing written


def test_check_does_nothing_under_nbgrader_autograde(monkeypatch, capsys):
    from autograder.instructor.nbgrader.jupyter import check

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert check("bn_forward") is None and capsys.readouterr().out == ""


def test_check_writes_the_kernels_definitions_and_other_notebooks_as_saved(kit, course_dir, tmp_path):
    from autograder.instructor.nbgrader.jupyter import write_files

    cells = ["import numpy as np", "x = np.ones(3)\nprint(x)",
             "def sgd_step(param, grad, lr, **kw):\n    %time y = 1\n    return param - lr * grad, None",
             "sgd_step(x, x, 0.1)", "def sgd_step(param, grad, lr, **kw):\n    return param, None  # run later"]
    folder = tmp_path / "files"
    folder.mkdir()
    from_kernel = write_files(kit.course, "bn_layer_training", folder, cells, course_dir / "source" / ASSIGNMENT)
    assert from_kernel == ["optim.py"]
    optim = (folder / "optim.py").read_text()
    assert optim.rstrip().endswith("return param, None  # run later") and "print(x)" not in optim
    assert "sgd_step(x, x, 0.1)" not in optim
    assert "def batchnorm_backward" in (folder / "batchnorm.py").read_text()  # from 01_batchnorm as saved


# -- code and answers read back from notebooks --------------------------------------------------


def code_cell(source: str, **nbgrader) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {"nbgrader": nbgrader} if nbgrader else {}}


def test_module_source_keeps_answers_and_only_definitions_of_other_cells():
    notebook = {"cells": [
        code_cell("import numpy as np", locked=True, grade_id="setup"),
        code_cell("def f(x):\n    %time y = 1\n    return x + 1", solution=True, grade_id="answer_f"),
        code_cell("assert f(1) == 2\nf(1)", grade=True, grade_id="tests_f", points=1),
        code_cell("!pip install nothing\nimport matplotlib_missing as plt\nSCALE = 2\nz = f(SCALE)\n"
                  "print('exploring')\ndef helper(v):\n    return v * SCALE"),
        code_cell("def g(x):\n    return x +\n", solution=True, grade_id="answer_g"),
        {"cell_type": "markdown", "source": "def nope(): pass", "metadata": {}},
    ]}
    source = module_source(notebook)
    namespace: dict = {}
    exec(compile(source, "module", "exec"), namespace)  # exploration code does not run
    assert namespace["f"](1) == 2 and namespace["helper"](2) == 4
    assert "assert f(1)" not in source and "exploring" not in source and "nope" not in source
    with pytest.raises(SyntaxError, match="line 2 of its cell"):
        namespace["g"](1)


def test_quiz_answers_are_read_as_data_never_run():
    notebook = {"cells": [
        code_cell("quiz_answers = {'a': 'b', 'n': 1/4, 'skip': None, 'order': [3, 1, 2],\n"
                  "                'm': {'s1': 'x'}, 'f': __import__('os').getcwd()}\n"
                  "quiz_answers['t'] = True\nraise NotImplementedError()", solution=True, grade_id="quiz_answers"),
        code_cell("quiz_answers.update({'a': 'c'})"),
        code_cell("quiz_answers = {'ignored': 'a'}", grade=True, grade_id="quiz_tests", points=1),
    ]}
    assert quiz_answers(notebook) == {"a": "c", "n": "1/4", "order": [3, 1, 2], "m": {"s1": "x"},
                                      "f": "__import__('os').getcwd()", "t": True}


def test_run_checks_outside_ipython_returns_the_kit_score_and_writes_no_stderr(kit, course_dir, tmp_path, capfd,
                                                                              monkeypatch):
    folder = tmp_path / "nbs"
    shutil.copytree(course_dir / "source" / ASSIGNMENT, folder)
    notebook = nbformat.read(folder / "02_optim.ipynb", as_version=4)
    answer = cells_by_id(notebook)["answer_sgd_step"]
    answer.source = answer.source.replace("grad + weight_decay * param if weight_decay else grad", "grad")
    nbformat.write(notebook, folder / "02_optim.ipynb")
    monkeypatch.setenv("GRADE_STATE_DIR", str(tmp_path / "state"))
    score = run_checks("bn_sgd_step", folder=folder)
    out, err = capfd.readouterr()
    assert err == ""
    assert 0 < score < 5 and f"bn_sgd_step: {score:g} / 5 points" in out
    assert "✘" in out and "BEGIN HIDDEN" not in out
    assert run_quiz(5, folder=folder) < kit.course.quiz.points  # numbers drawn for another seed
    assert run_quiz(notebook_seed(folder), folder=folder) == kit.course.quiz.points
    assert capfd.readouterr().err == ""


def notebook_seed(folder: Path) -> int:
    return nbformat.read(folder / "06_quiz.ipynb", as_version=4).metadata[METADATA_KEY]["quiz_seed"]


# -- the command ---------------------------------------------------------------------------------


def run_grade(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "GRADE_LANG"}
    environment.update({"COLUMNS": "100", **(env or {})})
    return subprocess.run([str(GRADE), *args], cwd=cwd, env=environment, capture_output=True, text=True,
                          timeout=600)


def test_export_command_writes_refuses_to_overwrite_and_replaces_with_force(tmp_path):
    result = run_grade("export", "nbgrader", str(tmp_path / "course"), "--assignment", "hw1")
    assert result.returncode == 0, result.stderr
    assert "6 notebooks in source/hw1/" in result.stdout and "nbgrader generate_assignment hw1" in result.stdout
    again = run_grade("export", "nbgrader", str(tmp_path / "course"), "--assignment", "hw1")
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--force" in again.stderr
    spanish = run_grade("export", "nbgrader", str(tmp_path / "course"), "--assignment", "hw1", "--force",
                        "--lang", "es")
    assert spanish.returncode == 0 and "cuadernos" in spanish.stdout
    intro = nbformat.read(tmp_path / "course" / "source" / "hw1" / "01_batchnorm.ipynb", as_version=4).cells[0]
    assert "Cómo trabajar" in intro.source
    bad = run_grade("export", "nbgrader", str(tmp_path / "x"), "--assignment", "no spaces")
    assert bad.returncode == 2 and "not a valid assignment name" in bad.stderr


def test_a_stub_without_its_function_is_a_clear_export_error(kit, tmp_path):
    from autograder.instructor.nbgrader.export import ExportError
    from autograder.kit import Kit

    shutil.copytree(EXERCISES, tmp_path / "exercises")
    shutil.copytree(SOLUTIONS, tmp_path / "solutions")
    stub = tmp_path / "exercises" / "optim.py"
    stub.write_text(stub.read_text().replace("def sgd_step(", "def sgd_update("))
    with pytest.raises(ExportError, match="sgd_step of optim.py cannot be turned into an answer cell"):
        export(Kit(tmp_path, kit.course), tmp_path / "course")


def test_an_instructors_own_config_is_kept(kit, tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.Exchange.root = '/srv/x'\n")
    result = export(kit, tmp_path, assignment="hw2")
    assert not result.config_written
    assert (tmp_path / "nbgrader_config.py").read_text().startswith("c = get_config()")


# -- the real round trip -------------------------------------------------------------------------

MISTAKES = {  # file -> (old, new): the same change in the .py file and in the notebook's answer cell
    "batchnorm.py": ("x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps"),
    "optim.py": ("grad + weight_decay * param if weight_decay else grad", "grad"),
    "dropout.py": ("x * keep / (1.0 - p)", "x * keep * (1.0 - p)"),
}


def nbgrader(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def quiz_answers_of_carol(kit, seed: int) -> dict:
    """Right, wrong and unanswered questions, by id (read the same from a notebook, where
    letters are also accepted, and from an answers file)."""
    answers = {}
    for index, question in enumerate(load_bank(kit).questions):
        right = key(question, variant_of(question, seed))
        if index % 3 == 0:
            answers[question.id] = right
        elif index % 3 == 1 and isinstance(right, str):
            answers[question.id] = next(c.id for c in question.choices if c.id != right)
        elif index % 3 == 1 and isinstance(right, float):
            answers[question.id] = right + 1000
    return answers


@pytest.mark.slow
def test_nbgrader_round_trip_scores_equal_grade_submission(kit, tmp_path):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "GRADE_STATE_DIR": str(tmp_path / "state")}
    env.pop("GRADE_LANG", None)
    course = tmp_path / "course"
    assert run_grade("export", "nbgrader", str(course), "--assignment", ASSIGNMENT).returncode == 0
    source = notebooks(course)
    seed = source["06_quiz"].metadata[METADATA_KEY]["quiz_seed"]

    # generate_assignment strips solutions and hidden tests, keeps the stubs' docstrings
    nbgrader("generate_assignment", ASSIGNMENT, cwd=course, env=env)
    release = notebooks(course, "release")
    assert list(release) == list(source)
    for notebook in release.values():
        text = json.dumps(notebook)
        for secret in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "run_checks", "run_quiz", "inv_std", "AXES",
                       "quiz_answers.update"):
            assert secret not in text
    assert "Training-mode forward pass of Batch Normalization" in json.dumps(release["01_batchnorm"])

    # three submissions: the solutions, the untouched release, one with known mistakes
    def submit(student: str, edit) -> None:
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name, notebook in notebooks(course, "release").items():
            edit(name, notebook)
            nbformat.write(notebook, folder / f"{name}.ipynb")

    def solve(name, notebook):
        solved = cells_by_id(source[name])
        for cell in notebook.cells:
            if nbgrader_meta(cell).get("solution"):
                cell.source = solved[nbgrader_meta(cell)["grade_id"]].source

    def with_mistakes(name, notebook):
        solve(name, notebook)
        file = next((f for f, n in notebook_names(kit.course).items() if n == name), None)
        for cell in notebook.cells:
            if nbgrader_meta(cell).get("solution") and file in MISTAKES:
                cell.source = cell.source.replace(*MISTAKES[file])
            if nbgrader_meta(cell).get("grade_id") == "quiz_answers":
                cell.source = f"quiz_answers = {quiz_answers_of_carol(kit, seed)!r}"
        if name == "01_batchnorm":  # an experiment of the student's own, printing and timing
            notebook.cells.insert(3, nbformat.v4.new_code_cell(
                "x = np.random.randn(4, 3)\n%timeit batchnorm_forward(x, np.ones(3), np.zeros(3))\nprint(x)"))

    submit("alice", solve)
    submit("bob", lambda name, notebook: None)
    submit("carol", with_mistakes)
    nbgrader("autograde", ASSIGNMENT, cwd=course, env=env)

    # the same code as files, graded by `grade --submission`
    folders = {"alice": tmp_path / "files" / "alice", "bob": tmp_path / "files" / "bob",
               "carol": tmp_path / "files" / "carol"}
    shutil.copytree(SOLUTIONS, folders["alice"])
    write_answers(folders["alice"] / ANSWERS_FILE, seed, {q.id: key(q, variant_of(q, seed))
                                                          for q in load_bank(kit).questions})
    shutil.copytree(EXERCISES, folders["bob"])
    shutil.copytree(SOLUTIONS, folders["carol"])
    for file, (old, new) in MISTAKES.items():
        (folders["carol"] / file).write_text(mutate(file, old, new))
    write_answers(folders["carol"] / ANSWERS_FILE, seed, quiz_answers_of_carol(kit, seed))

    from nbgrader.api import Gradebook

    names = notebook_names(kit.course)
    totals = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, folder in folders.items():
            result = run_grade("--submission", str(folder), "--json", env={"GRADE_STATE_DIR": env["GRADE_STATE_DIR"]})
            report = json.loads(result.stdout)
            expected_cells = {f"tests_{e['id']}": e["score"] for e in report["exercises"]}
            expected_cells["quiz_tests"] = report["quiz"]["score"]
            submission = gradebook.find_submission(ASSIGNMENT, student)
            cells = {g.name: g.score for nb in submission.notebooks for g in nb.grades}
            assert cells == pytest.approx(expected_cells, abs=1e-9), student
            per_notebook = {nb.name: nb.score for nb in submission.notebooks}
            expected_notebooks = {name: 0.0 for name in names.values()}
            for exercise in kit.course.exercises:
                expected_notebooks[names[notebook_of_exercise(kit.course, exercise.id)]] += expected_cells[f"tests_{exercise.id}"]
            expected_notebooks[names[QUIZ_MODULE]] += expected_cells["quiz_tests"]
            assert per_notebook == pytest.approx(expected_notebooks, abs=1e-9), student
            assert submission.score == pytest.approx(report["score"], abs=1e-6), student
            totals[student] = per_notebook
    assert sum(totals["alice"].values()) == kit.course.total_points + kit.course.quiz.points
    assert sum(totals["bob"].values()) == 0
    for name in ("01_batchnorm", "02_optim", "04_dropout", "06_quiz"):  # partial credit, as the kit gives
        assert 0 < totals["carol"][name] < totals["alice"][name], name

    # feedback: the kit's messages, never the hidden tests
    nbgrader("generate_feedback", ASSIGNMENT, cwd=course, env=env)
    pages = sorted((course / "feedback").rglob("*.html"))
    assert len(pages) == 3 * len(names)
    for page in pages:
        html = page.read_text()
        for secret in ("HIDDEN TESTS", "run_checks", "run_quiz", "kit_tests", "nbgrader_tests"):
            assert secret not in html, (page, secret)
    carol = (course / "feedback" / "carol" / ASSIGNMENT / "01_batchnorm.html").read_text()
    assert "does not match PyTorch" in carol and "bn_forward: " in carol


@pytest.mark.parametrize("source, kept", [
    ("keep = (rng.random(x.shape)\n        != 0)\n", "!= 0)"),
    ("total = (a\n         % 2)\n", "% 2)"),
    ("%timeit f()\ny = 1\n", "# %timeit f()"),
    ("!ls\ny = 1\n", "# !ls"),
])
def test_magics_are_commented_out_but_continuation_lines_are_python(source, kept):
    from autograder.instructor.notebooks import without_magics

    converted = without_magics(source)
    assert kept in converted
    compile(converted, "<cell>", "exec")
