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
