"""Where the kit lives on disk: the course file, the student and solution folders, the state."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Course, CourseError, load_course

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKS_DIR = PACKAGE_DIR / "grading" / "checks"
COURSE_FILE = "course.yml"


@dataclass(frozen=True)
class Kit:
    """A course on disk: ``course.yml`` and the folders next to it."""

    root: Path
    course: Course

    @classmethod
    def locate(cls, course_file: str | Path | None = None) -> Kit:
        """Find course.yml: the given path, $GRADE_COURSE, the current folder or its parents,
        then the folder the kit was installed from."""
        explicit = course_file or os.environ.get("GRADE_COURSE")
        if explicit:
            path = Path(explicit)
            path = path / COURSE_FILE if path.is_dir() else path
            if not path.is_file():
                raise CourseError(f"{path}: no such course file")
        else:
            here = Path.cwd().resolve()
            candidates = [d / COURSE_FILE for d in (here, *here.parents)] + [PACKAGE_DIR.parent / COURSE_FILE]
            path = next((c for c in candidates if c.is_file()), None)
            if path is None:
                raise CourseError(f"no {COURSE_FILE} found here or in the kit folder {PACKAGE_DIR.parent}")
        path = path.resolve()
        cache = None if os.environ.get("GRADE_NO_CACHE") else state_dir(path.parent) / "cache"
        return cls(path.parent, load_course(path, checks_dir=CHECKS_DIR, cache_dir=cache))

    @property
    def exercises_dir(self) -> Path:
        return self.root / self.course.exercises_dir

    @property
    def solutions_dir(self) -> Path:
        return self.root / self.course.solutions_dir

    @property
    def state_dir(self) -> Path:
        return state_dir(self.root)


def state_dir(root: Path) -> Path:
    """Where the kit at `root` keeps its state and caches: $GRADE_STATE_DIR, else ``.grade``."""
    return Path(os.environ.get("GRADE_STATE_DIR") or root / ".grade")
