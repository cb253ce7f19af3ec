"""The documentation: a short README with the two set-up commands, four guides, every
`grade` command and flag documented, and no link to a file that does not exist."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
from support import ROOT

from autograder import cli

GUIDES = ["student-guide.md", "instructor-guide.md", "how-it-works.md", "contributing.md"]
USER_GUIDES = ["student-guide.md", "instructor-guide.md"]


def help_text(argv: list[str]) -> str:
    """What ``grade ARGV --help`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.main([*argv, "--help"])
    return out.getvalue()


def commands(argv: list[str] | None = None) -> list[list[str]]:
    """Every command line ``grade ...`` that has its own --help: the bare command, each
    subcommand, and their subcommands (argparse's {a,b} in the usage line)."""
    argv = argv or []
    found = [argv]
    usage = help_text(argv).split("\n\n")[0]
    names = list(cli.COMMANDS) if not argv else []
    for group in re.findall(r"(?<!\w )\{([a-z_,-]+)\}", usage):  # not an option's {choices}
        names += group.split(",")
    for name in names:
        found += commands([*argv, name])
    return found


def flags(argv: list[str]) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", help_text(argv))) - {"--help"}


def undocumented(argv: list[str], text: str) -> set[str]:
    """The flags of ``grade ARGV`` that `text` never mentions (``--seed`` is not ``--seeds``)."""
    return {flag for flag in flags(argv) if not re.search(re.escape(flag) + r"(?![\w-])", text)}


@pytest.fixture(scope="module")
def user_guides() -> str:
    return "\n".join((ROOT / "docs" / name).read_text() for name in USER_GUIDES)


def test_readme_is_short_and_has_the_two_set_up_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 150
    assert "make grade" in readme and "make test" in readme


def test_the_four_guides_exist_and_are_linked_from_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in GUIDES:
        assert (ROOT / "docs" / name).is_file(), name
        assert f"docs/{name}" in readme, name


@pytest.mark.parametrize("argv", commands(), ids=lambda argv: " ".join(["grade", *argv]))
def test_every_command_and_flag_is_in_a_user_guide(argv, user_guides):
    if argv:
        assert f"grade {' '.join(argv)}" in user_guides, f"`grade {' '.join(argv)}` is not documented"
    missing = undocumented(argv, user_guides)
    assert not missing, f"grade {' '.join(argv)}: {sorted(missing)} not in the student or instructor guide"


@pytest.mark.parametrize("page", ["README.md", *(f"docs/{name}" for name in GUIDES)])
def test_relative_links_point_to_files_that_exist(page):
    path = ROOT / page
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
        assert (path.parent / target).exists(), f"{page} links to {target}, which does not exist"


def test_a_missing_flag_is_noticed(user_guides):
    """The check above can fail: a flag the guides never mention is reported."""
    assert undocumented([], user_guides) == set()
    without_seed = re.sub(r"--seed(?![\w-])", "--seeds", user_guides)
    assert undocumented([], without_seed) == {"--seed"}
