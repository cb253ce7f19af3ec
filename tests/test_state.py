"""The state file is written atomically and a damaged one never stops the kit."""

import json
import os

import pytest

from autograder.state import State, atomic_write


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


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", ""])
def test_a_damaged_state_is_set_aside(tmp_path, content):
    (tmp_path / "state.json").write_text(content)
    state = State.load(tmp_path)
    assert state.progress == {}
    assert (tmp_path / "state.json.corrupt").read_text() == content
    state.save()
    assert json.loads((tmp_path / "state.json").read_text())["version"] == 1


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
def test_sections_of_the_wrong_shape_are_dropped(tmp_path, sections):
    (tmp_path / "state.json").write_text(json.dumps({"version": 1, **sections}))
    state = State.load(tmp_path)
    assert all(isinstance(v, dict) for v in state.progress.values())
    assert all(type(v) is int for v in state.hints.values())
    assert state.reveal_hint("bn_forward", 3) == 1
    assert isinstance(state.section("quiz"), dict)


def test_reveal_hint_stops_at_the_last(tmp_path):
    state = State.load(tmp_path)
    assert [state.reveal_hint("e", 2) for _ in range(4)] == [1, 2, 2, 2]
