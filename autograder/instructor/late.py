"""Late submissions: when each was submitted, how late, and what it costs.

The rule is course.yml's ``deadline`` (`autograder.course.Deadline`). When a submission was
made comes, best first, from:

- Gradescope's ``submission_metadata.json`` (`gradescope_times`): ``created_at``, and the due
  date of the student's own (an extension) or the assignment's when course.yml has none;
- a submission-times file exported from the LMS (`read_times`): a CSV with a student column
  and a time column (names in `STUDENT_COLUMNS` and `TIME_COLUMNS`);
- the files themselves: the latest modification time of what was graded (for a zip, the
  zip's). Copies made by a download may not keep these times: prefer one of the above.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from autograder.course import Deadline

STUDENT_COLUMNS = ("student", "id", "identifier", "username", "login", "sis login id", "email address", "email")
TIME_COLUMNS = ("submitted_at", "submitted", "submission time", "last modified (submission)", "timestamp", "time")
FORMATS = ("%A, %d %B %Y, %I:%M %p", "%d %B %Y, %I:%M %p", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")
"""Besides ISO 8601: Moodle's worksheet ("Tuesday, 14 March 2023, 11:59 PM") and day-first dates."""


class TimesError(Exception):
    """A submission-times file cannot be read (the message says where and why)."""


@dataclass(frozen=True)
class Lateness:
    """How late one submission was."""

    submitted_at: datetime | None
    source: str
    """Where the time comes from: "gradescope", "lms", "files" or "" (unknown)."""
    days_late: int = 0
    penalty: float = 0.0
    """Percent of the score lost."""

    def apply(self, score: float | None) -> float | None:
        """`score` after the penalty."""
        return None if score is None else round(score * (1 - self.penalty / 100), 2)


def lateness(deadline: Deadline | None, submitted_at: datetime | None, source: str,
             due: datetime | None = None) -> Lateness:
    """The lateness of a submission made at `submitted_at` (due: `due`, else the deadline's)."""
    if deadline is None or submitted_at is None:
        return Lateness(submitted_at, source if submitted_at else "")
    days = deadline.days_late(submitted_at, due)
    return Lateness(deadline.aware(submitted_at), source, days, deadline.penalty(days))


def from_timestamp(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


def parse_time(text: str) -> datetime | None:
    """A time as an LMS writes it (ISO 8601 or one of `FORMATS`); None when it is none of them."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for pattern in FORMATS:
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    return None


def read_times(path: Path) -> dict[str, datetime]:
    """Student id -> submission time, from a CSV whose header names a student column and a
    time column (see `STUDENT_COLUMNS`, `TIME_COLUMNS`; case does not matter). Empty times
    (not submitted) are left out."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [cell.strip().lower() for cell in next(reader, [])]
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise TimesError(f"{path}: {error}") from None
    student = next((header.index(c) for c in STUDENT_COLUMNS if c in header), None)
    moment = next((header.index(c) for c in TIME_COLUMNS if c in header), None)
    if student is None or moment is None:
        raise TimesError(f"{path}: the first line must name a student column ({', '.join(STUDENT_COLUMNS[:3])}...) "
                         f"and a time column ({', '.join(TIME_COLUMNS[:2])}...)")
    times = {}
    for line, row in enumerate(rows, 2):
        if len(row) <= max(student, moment) or not row[student].strip() or not row[moment].strip():
            continue
        parsed = parse_time(row[moment])
        if parsed is None:
            raise TimesError(f"{path}, line {line}: {row[moment]!r} is not a date and time")
        times[row[student].strip()] = parsed
    return times


def gradescope_times(metadata: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """(when it was submitted, the student's due date) from Gradescope's submission metadata;
    the due date is the latest of the users' own (extensions) and the assignment's."""
    submitted = _iso(metadata.get("created_at"))
    dues = [_iso((user.get("assignment") or {}).get("due_date")) for user in metadata.get("users") or []
            if isinstance(user, dict)]
    dues.append(_iso((metadata.get("assignment") or {}).get("due_date")))
    dues = [due for due in dues if due is not None]
    return submitted, max(dues) if dues else None


def _iso(value: Any) -> datetime | None:
    return parse_time(value) if isinstance(value, str) else None
