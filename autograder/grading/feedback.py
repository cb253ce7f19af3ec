"""What a failing check tells the student, as plain data.

A check fails by raising `CheckFailed` with a `Feedback`: the stage at which the student's
answer first went wrong (design.md §4 order), a one-line summary, detail lines, and optionally
where in the student's file it happened and which known misconception it matches. Texts are
message keys (`autograder.i18n.Msg`), rendered later in the student's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autograder.i18n import Msg

# The order in which problems are reported: the first one found is the one shown.
STAGES = (
    "import", "missing", "not_implemented", "forbidden", "timeout", "crash", "exit",
    "exception", "type", "shape", "dtype", "nonfinite", "values", "raises", "mutation",
    "property", "advice", "internal",
)


@dataclass
class Feedback:
    """Why a check failed."""

    stage: str
    """One of `STAGES`."""
    summary: Msg
    """One line: what is wrong."""
    details: list[Msg] = field(default_factory=list)
    """Further lines: numbers, positions, expected vs got."""
    location: dict | None = None
    """Where in the student's code: {"file", "line", "function", "code"}."""
    misconception: str | None = None
    """Id of the named misconception the wrong answer matches, if any."""
    data: dict[str, Any] = field(default_factory=dict)
    """Numbers for machines (max error, index...), JSON-serialisable."""
    rule: str | None = None
    """Id of the contract rule the answer broke (``contract.rules.<rule>`` in the catalogs),
    when the failure is a contract miss rather than a wrong value."""


class CheckFailed(Exception):
    """Raised by checks. `owner` names the exercise whose function produced the wrong value
    when it is not the exercise being checked (a prerequisite), so the report can say
    "blocked by <owner>" instead of a second, confusing failure."""

    def __init__(self, feedback: Feedback, owner: str | None = None) -> None:
        super().__init__(feedback.summary.key)
        self.feedback = feedback
        self.owner = owner
