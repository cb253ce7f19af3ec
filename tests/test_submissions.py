"""The one rule that finds a student's files, shared by `grade batch` and the Gradescope runner:
folders and zips, files at any depth (the shallowest wins), notebooks when the file is missing,
misnamed files reported, and zips read without trusting them (no path escape, no links, limits
on entries and bytes). No grading here: these tests are about finding and copying."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest
from support import EXERCISES, SOLUTIONS

from autograder.instructor import gradescope, submissions
from autograder.instructor.submissions import Submission, collect, find_submissions, read_roster, stage
from autograder.quiz.answers import ANSWERS_FILE

FILES = sorted(p.name for p in SOLUTIONS.glob("*.py"))


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def write_zip(path: Path, files: dict[str, str | bytes], *, links: dict[str, str] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in dict(links).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def solutions(prefix: str = "") -> dict[str, str]:
    return {f"{prefix}{name}": (SOLUTIONS / name).read_text() for name in FILES}


def gathered(kit, roots: list[Path], tmp_path: Path):
    destination = tmp_path / "graded"
    destination.mkdir(parents=True, exist_ok=True)
    result = collect(kit.course, roots, destination)
    return result, {p.name: p.read_text() for p in destination.iterdir()}


def test_files_are_found_at_any_depth_and_the_shallowest_wins(kit, tmp_path):
    upload = write_tree(tmp_path / "carol", {**solutions("nested/mywork/"),
                                             "old/v1/deeper/batchnorm.py": "raise SystemExit\n",
                                             "__MACOSX/optim.py": "junk"})
    result, graded = gathered(kit, [upload], tmp_path)
    assert sorted(result.found) == FILES
    assert graded == {name: (SOLUTIONS / name).read_text() for name in FILES}
    assert result.problems == []


def test_a_zip_at_the_top_or_inside_a_folder_is_read(kit, tmp_path):
    top = write_zip(tmp_path / "class" / "bob.zip", solutions("hw/"))
    result, graded = gathered(kit, [top], tmp_path / "a")
    assert sorted(result.found) == FILES and graded["dropout.py"] == (SOLUTIONS / "dropout.py").read_text()
    inner = tmp_path / "class" / "dan"
    write_zip(inner / "upload" / "mine.zip", solutions())
    write_tree(inner, {"notes.txt": "hello"})
    result, graded = gathered(kit, [inner], tmp_path / "b")
    assert sorted(result.found) == FILES


def test_misnamed_files_are_reported_and_not_graded(kit, tmp_path):
    upload = write_tree(tmp_path / "dan", {"batchnorm.txt": "x", "Dropout.py": "y", "optim.py.txt": "z",
                                           "spatial_batchnorm.py": (SOLUTIONS / "spatial_batchnorm.py").read_text()})
    result, graded = gathered(kit, [upload], tmp_path)
    assert result.found == ["spatial_batchnorm.py"] and list(graded) == ["spatial_batchnorm.py"]
    wrong = {(p.file, p.expected) for p in result.problems if p.kind == "wrong_name"}
    assert wrong == {("batchnorm.txt", "batchnorm.py"), ("Dropout.py", "dropout.py"), ("optim.py.txt", "optim.py")}


def test_notebooks_stand_in_for_missing_files(kit, tmp_path):
    from autograder.instructor.nbgrader.export import export
    from autograder.instructor.notebooks import notebook_names

    export(kit, tmp_path / "course", assignment="ps1")
    notebook = f"{notebook_names(kit.course)['dropout.py']}.ipynb"
    upload = write_tree(tmp_path / "eve", {"deep/in/here/" + notebook: (tmp_path / "course" / "source" / "ps1" /
                                                                          notebook).read_bytes()})
    result, graded = gathered(kit, [upload], tmp_path)
    assert result.found == [notebook] and list(graded) == ["dropout.py"]
    assert "def dropout_forward" in graded["dropout.py"]


@pytest.mark.parametrize("name", ["../../escaped.py", "/tmp/absolute.py", "hw/../../batchnorm.py", "C:/x/optim.py"])
def test_a_zip_member_leaving_the_zip_is_skipped(kit, tmp_path, name):
    archive = write_zip(tmp_path / "up" / "bob.zip", {name: "print('pwned')\n", **solutions("hw/")})
    result, _ = gathered(kit, [archive], tmp_path)
    assert sorted(result.found) == FILES  # the others are still graded
    assert [p.kind for p in result.problems] == ["unsafe_path"]
    assert not list(tmp_path.rglob("escaped.py")) and not Path("/tmp/absolute.py").exists()


def test_links_are_never_followed(kit, tmp_path):
    secret = write_tree(tmp_path / "kit", {"dropout.py": "SECRET = 'the solution'\n"})
    upload = write_tree(tmp_path / "eve", solutions())
    (upload / "dropout.py").unlink()
    (upload / "dropout.py").symlink_to(secret / "dropout.py")
    (upload / "linked").symlink_to(secret, target_is_directory=True)
    archive = write_zip(tmp_path / "up" / "eve.zip", {}, links={"optim.py": str(secret / "dropout.py")})
    result, graded = gathered(kit, [upload, archive], tmp_path)
    assert "dropout.py" not in graded and "SECRET" not in "".join(graded.values())
    assert {p.kind for p in result.problems} == {"link"}


def test_zips_over_the_limits_are_refused(kit, tmp_path, monkeypatch):
    many = write_zip(tmp_path / "many.zip", {f"f{i}.txt": "" for i in range(submissions.ZIP_MEMBERS + 1)})
    result, _ = gathered(kit, [many], tmp_path / "a")
    assert [p.kind for p in result.problems] == ["zip_too_many"] and result.found == []
    monkeypatch.setattr(submissions, "ZIP_BYTES", 3000)
    big = write_zip(tmp_path / "big.zip", {"batchnorm.py": "#" * 2000, "optim.py": "#" * 2000})
    result, _ = gathered(kit, [big], tmp_path / "b")
    assert [p.kind for p in result.problems] == ["zip_too_large"] and result.found == ["batchnorm.py"]
    monkeypatch.setattr(submissions, "FILE_BYTES", 1000)
    bomb = write_zip(tmp_path / "bomb.zip", {"dropout.py": "0" * 100_000})  # compresses to almost nothing
    result, _ = gathered(kit, [bomb], tmp_path / "c")
    assert [p.kind for p in result.problems] == ["too_large"] and result.found == []
    result, _ = gathered(kit, [write_tree(tmp_path / "huge", {"optim.py": "#" * 5000})], tmp_path / "d")
    assert [p.kind for p in result.problems] == ["too_large"]


def test_a_broken_zip_is_a_problem_not_a_crash(kit, tmp_path):
    broken = tmp_path / "x.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result, _ = gathered(kit, [broken], tmp_path)
    assert [p.kind for p in result.problems] == ["bad_zip"] and result.found == []


def test_gradescope_and_batch_use_the_same_rule(kit, tmp_path):
    """The same upload, through the Gradescope runner's `collect` and the batch's `stage`."""
    upload = write_tree(tmp_path / "class" / "zoe", {**solutions("a/b/"), "c/batchnorm.py": "# deeper",
                                                    ANSWERS_FILE: "seed: 3\nanswers: {}\n"})
    write_zip(upload / "late.zip", {"dropout.py": "# from the zip, shallower"})
    (tmp_path / "gs").mkdir()
    found = gradescope.collect(kit.course, upload, tmp_path / "gs")
    staged = stage(Submission("zoe", (upload,)), kit.course, tmp_path / "batch" / "zoe")
    assert sorted(found) == sorted(staged.found) == sorted(FILES + [ANSWERS_FILE])
    for name in FILES + [ANSWERS_FILE]:
        assert (tmp_path / "gs" / name).read_bytes() == (tmp_path / "batch" / "zoe" / name).read_bytes()
    assert (tmp_path / "gs" / "dropout.py").read_text() == "# from the zip, shallower"
    assert (tmp_path / "gs" / "batchnorm.py").read_text() == "# deeper"


def test_the_class_folder_lists_folders_zips_and_the_roster(tmp_path):
    write_tree(tmp_path / "class", {"alice/batchnorm.py": "", "carol/x/optim.py": "", "notes.txt": "",
                                    ".hidden/batchnorm.py": "", "_build/optim.py": ""})
    write_zip(tmp_path / "class" / "bob.zip", {"batchnorm.py": ""})
    write_zip(tmp_path / "class" / "alice.zip", {"optim.py": ""})
    (tmp_path / "class" / "eve").mkdir()
    found = find_submissions(tmp_path / "class", roster=["alice", "zed"])
    assert [(s.student, [p.name for p in s.sources]) for s in found] == [
        ("alice", ["alice", "alice.zip"]), ("bob", ["bob.zip"]), ("carol", ["carol"]), ("eve", ["eve"]),
        ("zed", [])]


@pytest.mark.parametrize("text, ids", [
    ("student,email\nalice,a@x.org\nbob,b@x.org\n", ["alice", "bob"]),
    ("alice\nbob\nalice\n", ["alice", "bob"]),
    ("Name,SIS Login ID,Section\nAlice A,alice,1\n\nBob B,bob,2\n", ["alice", "bob"]),
    ("Student,ID,SIS User ID,SIS Login ID,Section\n\"A, Alice\",11,u1,alice,S1\n", ["alice"]),  # Canvas's export
])
def test_rosters(tmp_path, text, ids):
    (tmp_path / "roster.csv").write_text(text)
    roster = read_roster(tmp_path / "roster.csv")
    assert roster.ids == ids
    if text.startswith("student"):
        assert roster.columns["bob"]["email"] == "b@x.org"


def test_file_times_are_the_latest_of_what_was_used(kit, tmp_path):
    upload = write_tree(tmp_path / "ann", {"batchnorm.py": "", "optim.py": "", "unused.txt": ""})
    os.utime(upload / "batchnorm.py", (1_000_000, 1_000_000))
    os.utime(upload / "optim.py", (2_000_000, 2_000_000))
    os.utime(upload / "unused.txt", (9_000_000, 9_000_000))
    result, _ = gathered(kit, [upload], tmp_path)
    assert result.modified == 2_000_000


def test_stubs_are_found_like_any_file(kit, tmp_path):
    upload = write_tree(tmp_path / "cat", {f"x/{p.name}": p.read_text() for p in EXERCISES.glob("*.py")})
    result, _ = gathered(kit, [upload], tmp_path)
    assert sorted(result.found) == FILES
