"""Student-facing text in English and Spanish: message keys with parameters.

Every string the kit shows lives in ``locales/<language>/*.yml`` (one file per topic, merged)
under a dotted key and is formatted with named parameters (``str.format`` syntax). Code refers to messages by key
(`Msg`), and a `Translator` renders them in the chosen language. The language comes from
``--lang``, else the ``GRADE_LANG`` environment variable, else course.yml's default.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CATALOG_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("en", "es")
ENV_VAR = "GRADE_LANG"


@dataclass(frozen=True)
class Msg:
    """A message to show: its key in the catalogs and its parameters."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


def msg(key: str, **params: Any) -> Msg:
    return Msg(key, params)


def choose_language(requested: str | None, default: str = "en") -> str:
    """``--lang`` wins, then $GRADE_LANG, then the course default."""
    for candidate in (requested, os.environ.get(ENV_VAR), default):
        if candidate:
            candidate = candidate.strip().lower()[:2]
            if candidate in LANGUAGES:
                return candidate
    return "en"


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """All messages of `language`, flattened to dotted keys. Parsing the YAML files costs
    about 15 ms, at every command: as Python keeps bytecode, a JSON copy is kept in
    ``locales/__pycache__`` and read instead while the files (their names, sizes and
    modification times) and this module are those it was made from. Where that folder cannot
    be written, the files are parsed every time."""
    files = sorted((CATALOG_DIR / language).rglob("*.yml"))
    stamp = hashlib.blake2b(digest_size=10)
    for path in (Path(__file__), *files):
        info = path.stat()
        stamp.update(f"{path}|{info.st_size}|{info.st_mtime_ns}\n".encode())
    copy = CATALOG_DIR / "__pycache__" / f"catalog-{language}-{stamp.hexdigest()}.json"
    try:
        messages = json.loads(copy.read_bytes())
        if isinstance(messages, dict):
            return messages
    except (OSError, ValueError):
        pass
    messages = dict(catalog_entries(language))
    _keep(copy, json.dumps(messages, ensure_ascii=False).encode())
    return messages


def _keep(copy: Path, data: bytes) -> None:
    """Write `copy` atomically (readers see a whole file or none) in place of older copies of
    the same language; nothing happens where the folder cannot be written."""
    try:
        copy.parent.mkdir(exist_ok=True)
        for old in copy.parent.glob(copy.name.rsplit("-", 1)[0] + "-*.json"):
            old.unlink(missing_ok=True)
        fd, temporary = tempfile.mkstemp(dir=copy.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, copy)
    except OSError:
        pass


def catalog_entries(language: str) -> list[tuple[str, str]]:
    """(key, template) pairs of every catalog file of `language`, in file order (a key
    defined twice appears twice: the tests forbid it)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    entries: list[tuple[str, str]] = []
    for path in sorted((CATALOG_DIR / language).rglob("*.yml")):
        entries.extend(_flatten(yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}))
    return entries


def _flatten(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, f"{name}.")
        else:
            yield name, str(value)


class Translator:
    """Renders message keys (and course texts) in one language."""

    def __init__(self, language: str = "en") -> None:
        self.language = language if language in LANGUAGES else "en"

    def __call__(self, key: str | Msg, **params: Any) -> str:
        if isinstance(key, Msg):
            key, params = key.key, {**key.params, **params}
        template = catalog(self.language).get(key) or catalog("en").get(key)
        if template is None:
            return key
        params = {name: self(value) if isinstance(value, Msg) else value for name, value in params.items()}
        try:
            return template.format_map(params)
        except (KeyError, IndexError, ValueError):
            return template

    def text(self, value: Any) -> str:
        """A course text (`autograder.course.Text`) in this language."""
        return value(self.language)
