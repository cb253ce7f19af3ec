"""The state file is written atomically, and a damaged one is kept and reported, never
silently replaced, and never a reason to stop the kit."""

import json
import os

import pytest

from autograder.state import EVERYTHING, State, atomic_write


def test_atomic_write_replaces_the_whole_file(tmp_path):
    target = tmp_path / "state.json"
    atomic_write(target, b"old")
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]  # no temporary left behind


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    atomic_write(target, b"old")

    def broken_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_round_trip(tmp_path):
    state = State.load(tmp_path)
    state.progress["bn_forward"] = {"status": "passed", "score": 15}
    state.hints["bn_forward"] = 2
    state.save()
    again = State.load(tmp_path)
    assert again.progress["bn_forward"]["status"] == "passed"
    assert again.hints == {"bn_forward": 2}


def backups(folder):
    return sorted(folder.glob("state.json.damaged-*"))


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "", "\udcff"])
def test_an_unreadable_state_is_moved_aside_and_reported(tmp_path, content):
    (tmp_path / "state.json").write_text(content, errors="surrogateescape")
    state = State.load(tmp_path)
    assert state.progress == {}
    [backup] = backups(tmp_path)
    assert backup.read_text(errors="surrogateescape") == content
    assert state.damage.backup == backup and state.damage.lost == (EVERYTHING,)
    state.progress["bn_forward"] = {"status": "passed"}
    state.save()
    assert json.loads((tmp_path / "state.json").read_text())["version"] == 1
    assert State.load(tmp_path).damage is None  # reported once, not at every command


def test_two_damaged_files_keep_two_backups(tmp_path):
    for content in ("{one", "{two"):
        (tmp_path / "state.json").write_text(content)
        State.load(tmp_path)
    assert sorted(p.read_text() for p in backups(tmp_path)) == ["{one", "{two"]


def test_a_file_that_cannot_be_moved_aside_is_never_written(tmp_path, monkeypatch):
    (tmp_path / "state.json").write_text("{broken")

    def refuse(source, destination):
        raise PermissionError("read-only folder")

    monkeypatch.setattr(os, "replace", refuse)
    state = State.load(tmp_path)
    assert state.damage.backup is None and not state.writable
    state.progress["bn_forward"] = {"status": "passed"}
    state.save()
    assert (tmp_path / "state.json").read_text() == "{broken"


def test_two_processes_keep_each_others_sections(tmp_path):
    """Watch mode (progress, hints) and the quiz (answers) write the same file."""
    watch, quiz = State.load(tmp_path), State.load(tmp_path)
    quiz.section("quiz")["answers"] = {"q1": {"answer": "b"}}
    quiz.save()
    watch.progress["bn_forward"] = {"status": "passed"}
    watch.save()
    merged = State.load(tmp_path)
    assert merged.data["quiz"]["answers"] == {"q1": {"answer": "b"}}
    assert merged.progress["bn_forward"]["status"] == "passed"
    watch.reveal_hint("bn_forward", 3)
    watch.save()
    assert State.load(tmp_path).data["quiz"]["answers"] == {"q1": {"answer": "b"}}


@pytest.mark.parametrize("sections", [
    {"hints": {"bn_forward": "x", "dropout": 2}},
    {"progress": {"bn_forward": "x"}},
    {"quiz": [1]},
    {"progress": [], "hints": None},
])
def test_sections_of_the_wrong_shape_are_dropped_after_a_backup(tmp_path, sections):
    original = json.dumps({"version": 1, **sections})
    (tmp_path / "state.json").write_text(original)
    state = State.load(tmp_path)
    [backup] = backups(tmp_path)
    assert backup.read_text() == original
    assert set(state.damage.lost) == set(sections)
    assert State.load(tmp_path).damage is None  # the file no longer holds the damaged parts
    assert all(isinstance(v, dict) for v in state.progress.values())
    assert all(type(v) is int for v in state.hints.values())
    assert state.reveal_hint("bn_forward", 3) == 1
    assert isinstance(state.section("quiz"), dict)


def test_reveal_hint_stops_at_the_last(tmp_path):
    state = State.load(tmp_path)
    assert [state.reveal_hint("e", 2) for _ in range(4)] == [1, 2, 2, 2]


def test_misconception_hints_are_counted_once(tmp_path):
    state = State.load(tmp_path)
    state.reveal_hint("bn_forward", 3)
    assert state.reveal_misconception_hint("bn_forward", "no_eps")
    assert not state.reveal_misconception_hint("bn_forward", "no_eps")
    assert state.hints_used("bn_forward") == 2 and state.hints_used("dropout") == 0
