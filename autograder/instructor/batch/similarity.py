"""Near-identical submissions, as a hint for a closer look: never a verdict.

Each submission's code becomes a set of fingerprints (`fingerprints`), the way MOSS does it:

1. each student file is parsed and walked into a token stream that keeps the code's structure
   and drops what a copier changes: comments, docstrings, formatting, and names (every
   variable, argument and helper is renamed by order of first use; attributes such as
   ``.mean`` and the course's function names stay);
2. every run of `K` consecutive tokens is hashed (blake2b, stable across processes);
3. winnowing keeps the smallest hash of every window of `W` hashes, so any shared run of at
   least ``K + W - 1`` tokens is sure to share a fingerprint;
4. the fingerprints of the untouched stubs are removed: starter code is not the student's.

`clusters` then compares the class: fingerprints that more than `common_limit` submissions
share are common ground (the way most people write a two-line function) and never make a
pair; two submissions that share at least `MIN_SHARED` of the others are compared, and their
similarity is the Jaccard index of their fingerprint sets (1.0: the same code up to names,
comments and layout). Pairs at `THRESHOLD` or more are joined into clusters.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from autograder.course import Course

K = 12
"""Tokens per hashed run."""
W = 8
"""Window of the winnowing."""
MIN_SHARED = 3
THRESHOLD = 0.8
COMMON_SHARE = 0.02
COMMON_MIN = 8


def tokens(source: str, keep: frozenset[str] = frozenset()) -> list[str]:
    """The normalised token stream of `source` (empty when it does not parse); names in
    `keep` (the course's functions) are not renamed."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, OverflowError, RecursionError):
        return []
    names: dict[str, str] = {}
    out: list[str] = []

    def name(identifier: str) -> str:
        if identifier in keep:
            return identifier
        return names.setdefault(identifier, f"v{len(names)}")

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.expr_context):
            return
        out.append(type(node).__name__)
        if isinstance(node, ast.Name):
            out.append(name(node.id))
        elif isinstance(node, ast.Attribute):
            out.append(node.attr)
        elif isinstance(node, ast.arg):
            out.append(name(node.arg))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(name(node.name))
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node = _without_docstring(node)
        elif isinstance(node, ast.Constant):
            value = node.value
            out.append(repr(value) if isinstance(value, (int, float, complex, bool)) or value is None else "str")
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            out.pop()  # a bare string: a comment in disguise
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    try:
        visit(tree)
    except RecursionError:
        return []
    return out


def _without_docstring(node: ast.AST) -> ast.AST:
    clone = type(node)(**{field: getattr(node, field) for field in node._fields})
    clone.body = node.body[1:] or [ast.Pass()]
    return clone


def winnow(stream: list[str], k: int = K, window: int = W) -> set[int]:
    """Fingerprints of a token stream (see the module docstring)."""
    hashes = [int.from_bytes(hashlib.blake2b(" ".join(stream[i:i + k]).encode(), digest_size=8).digest(), "big")
              for i in range(len(stream) - k + 1)]
    if len(hashes) <= window:
        return set(hashes[:1]) if hashes else set()
    chosen = set()
    for start in range(len(hashes) - window + 1):
        part = hashes[start:start + window]
        chosen.add(min(part))
    return chosen


def file_fingerprints(path: Path, keep: frozenset[str]) -> set[int]:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return set()
    return winnow(tokens(source, keep))


@functools.cache
def _stub_fingerprints(stubs_dir: Path, files: tuple[str, ...], keep: frozenset[str]) -> frozenset[int]:
    return frozenset().union(*(file_fingerprints(stubs_dir / name, keep) for name in files))


def fingerprints(course: Course, folder: Path, stubs_dir: Path) -> list[int]:
    """The sorted fingerprints of the student files in `folder`, without the stubs' own."""
    files = tuple(dict.fromkeys(e.file for e in course.exercises if e.file))
    keep = frozenset(f for e in course.exercises for f in e.functions)
    found = set().union(*(file_fingerprints(folder / name, keep) for name in files))
    return sorted(found - _stub_fingerprints(stubs_dir, files, keep))


@dataclass(frozen=True)
class Cluster:
    """Students whose submissions are near-identical (every one linked to another by a pair
    at `THRESHOLD` or more)."""

    students: list[str]
    similarity: float
    """The lowest similarity of the pairs that link them (1.0: identical up to names)."""
    pairs: list[tuple[str, str, float]]


def common_limit(count: int) -> int:
    """How many submissions may share a fingerprint before it is common ground."""
    return max(COMMON_MIN, int(COMMON_SHARE * count))


def clusters(prints: dict[str, list[int]], threshold: float = THRESHOLD) -> list[Cluster]:
    """Clusters of near-identical submissions among `prints` (student -> fingerprints),
    largest and most similar first."""
    sets = {student: set(values) for student, values in prints.items() if values}
    postings: dict[int, list[str]] = defaultdict(list)
    for student, values in sets.items():
        for value in values:
            postings[value].append(student)
    limit = common_limit(len(sets))
    shared: Counter = Counter()
    for students in postings.values():
        if 2 <= len(students) <= limit:
            shared.update(combinations(sorted(students), 2))
    pairs = []
    for (a, b), count in shared.items():
        if count >= MIN_SHARED:
            score = len(sets[a] & sets[b]) / len(sets[a] | sets[b])
            if score >= threshold:
                pairs.append((a, b, round(score, 3)))
    return _components(pairs)


def _components(pairs: list[tuple[str, str, float]]) -> list[Cluster]:
    parent: dict[str, str] = {}

    def root(student: str) -> str:
        while parent.setdefault(student, student) != student:
            parent[student] = parent[parent[student]]
            student = parent[student]
        return student

    for a, b, _ in pairs:
        parent[root(a)] = root(b)
    groups: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for pair in pairs:
        groups[root(pair[0])].append(pair)
    found = [Cluster(sorted({s for a, b, _ in group for s in (a, b)}), min(score for *_, score in group),
                     sorted(group)) for group in groups.values()]
    return sorted(found, key=lambda c: (-len(c.students), -c.similarity, c.students))


def cluster_rows(found: list[Cluster]) -> list[list]:
    """``similarity.csv``: a header, then one row per student of each cluster, with the member
    closest to them."""
    rows: list[list] = [["cluster", "students", "cluster_similarity", "student", "closest", "similarity"]]
    for number, cluster in enumerate(found, 1):
        for student in cluster.students:
            score, other = max((s, b if a == student else a) for a, b, s in cluster.pairs if student in (a, b))
            rows.append([number, len(cluster.students), cluster.similarity, student, other, score])
    return rows
