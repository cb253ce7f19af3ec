"""Which files the worker may see: the Python runtime, the libraries it may import, its own
modules and its copies, and nothing of the kit.

- `runtime_roots()`: the interpreter, its standard library and the system libraries it loads.
- `library_roots(names)`: the installed files of the distributions that provide the import
  names (NumPy; a library an exercise's ``allowed_imports`` lifts), with what they require.
- `off_runtime()`: folders inside those roots that are not the runtime's: every site-packages
  folder (the libraries come in through `library_roots` only) and the home folder.
- `split(roots, hidden)`: the roots with the hidden folders carved out of them (a root that
  holds a hidden folder is replaced by its other entries, recursively); `carved` lists the
  folders opened up that way.

The namespace sandbox binds what `split` returns and nothing else; Landlock allows reading it
and nothing else; the unprivileged user gets traverse rights along it (`privileges`).
"""

from __future__ import annotations

import functools
import os
import site
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

SYSTEM_ROOTS = ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin")
SYSTEM_FILES = ("/etc/ld.so.cache",)


@dataclass(frozen=True)
class Library:
    """One top-level entry of a site-packages folder (``numpy``, ``numpy.libs``...)."""

    site: Path
    name: str

    @property
    def path(self) -> Path:
        return self.site / self.name


def interpreter() -> Path:
    """The real Python binary (not a virtual environment's link to it)."""
    return Path(sys.executable).resolve()


@functools.cache
def runtime_roots() -> tuple[Path, ...]:
    """Folders and files the interpreter needs to start and to import the standard library."""
    roots = [Path(p) for p in SYSTEM_ROOTS + SYSTEM_FILES]
    roots += [Path(sys.base_prefix), Path(os.__file__).parent, Path(sysconfig.get_paths()["stdlib"]),
              interpreter().parent]
    for name in ("LIBDIR", "DESTSHARED"):  # libpython, and the standard library's extension modules
        if sysconfig.get_config_var(name):
            roots.append(Path(sysconfig.get_config_var(name)))
    # /bin, /lib... may be links into /usr (shown as links); other paths are taken as they are
    real = [r if str(r) in SYSTEM_ROOTS else r.resolve() for r in roots if os.path.lexists(r)]
    return tuple(_outermost(real))


@functools.cache
def off_runtime() -> tuple[Path, ...]:
    """Folders inside the runtime roots that student code must not see."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    prefixes = {sys.base_prefix, sys.prefix, "/usr", "/usr/local"}
    folders = [*site.getsitepackages(), site.getusersitepackages(), sys.prefix, str(Path.home())]
    folders += [f"{prefix}/{lib}/{name}" for prefix in prefixes for lib in ("lib", "lib64")
                for name in (f"{version}/site-packages", f"{version}/dist-packages", "python3/dist-packages")]
    folders += [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return tuple(dict.fromkeys(Path(f).resolve() for f in folders if f and Path(f).exists()))


@functools.cache
def numpy_roots() -> tuple[Library, ...]:
    """NumPy's installed entries, found without reading any metadata (it is every worker's,
    and requires nothing): its package, the folder of native libraries its wheels bundle
    (``numpy.libs``) and its ``.dist-info``."""
    import importlib.util

    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        return library_roots(("numpy",))
    site = Path(spec.submodule_search_locations[0]).resolve().parent
    names = ["numpy", *(n for n in ("numpy.libs",) if (site / n).is_dir()),
             *(p.name for p in site.glob("numpy-*.dist-info"))]
    return tuple(Library(site, name) for name in names)


@functools.cache
def library_roots(names: tuple[str, ...]) -> tuple[Library, ...]:
    """The installed entries of the distributions providing the import `names`, and of every
    distribution they require (installed ones; optional extras are not followed)."""
    from importlib import metadata

    found: dict[tuple[Path, str], Library] = {}
    pending = [dist for name in names for dist in _distributions_of(name)]
    seen: set[str] = set()
    while pending:
        dist = pending.pop()
        key = _normalise(dist.metadata["Name"] or "")
        if key in seen:
            continue
        seen.add(key)
        base = Path(dist.locate_file("")).resolve()
        for first in _top_levels(dist):
            if first != ".." and (base / first).exists():
                found.setdefault((base, first), Library(base, first))
        for requirement in _requirements(dist):
            try:
                pending.append(metadata.distribution(requirement))
            except metadata.PackageNotFoundError:
                pass
    return tuple(found.values())


def _top_levels(dist) -> set[str]:
    """The first path component of every installed file of `dist` (from its RECORD, read as
    text: NumPy's lists a thousand files)."""
    record = dist.read_text("RECORD") or ""
    return {line.split(",", 1)[0].split("/", 1)[0] for line in record.splitlines() if line.strip()}


def _distributions_of(name: str) -> list:
    """The installed distributions (importlib.metadata) that provide the top-level import `name`."""
    from importlib import metadata

    try:
        dist = metadata.distribution(name)  # the common case: the same name (numpy, torch)
        if {name, f"{name}.py"} & _top_levels(dist):
            return [dist]
    except metadata.PackageNotFoundError:
        pass
    return [metadata.distribution(d) for d in metadata.packages_distributions().get(name, [])]


def _requirements(dist) -> list[str]:
    """Names of what `dist` requires on this platform (extras left out)."""
    if not dist.requires:
        return []
    from packaging.requirements import InvalidRequirement, Requirement

    names = []
    for line in dist.requires:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            names.append(requirement.name)
    return names


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _outermost(paths) -> list[Path]:
    """`paths` without those inside another one (a file inside a listed folder included)."""
    paths = sorted({Path(os.path.abspath(p)) for p in paths}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in paths:
        if not any(k == path or k in path.parents for k in kept):
            kept.append(path)
    return kept


def within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def masks(roots, hidden) -> list[Path]:
    """The `hidden` folders that lie inside one of `roots` (to be covered where the roots are
    shown whole)."""
    roots = list(roots)
    return [Path(h) for h in hidden if any(Path(root) in Path(h).parents for root in roots)]


def carved(roots, hidden) -> list[Path]:
    """The folders `split` opens up: those between a root and a hidden folder inside it
    (their entries are listed, not all of them shown)."""
    folders: dict[Path, None] = {}
    for root in _outermost(roots):
        for covered in masks([root], hidden):
            for folder in covered.parents:
                if not within(folder, root):
                    break
                folders[folder] = None
    return list(folders)


def split(roots, hidden) -> list[Path]:
    """`roots` with every `hidden` folder carved out: a root that holds a hidden folder gives
    way to its entries, recursively, so that the hidden folder and nothing else is left out.
    A root inside a hidden folder stays (it was asked for by name). Symbolic links among the
    entries are kept as they are (the caller decides how to show them)."""
    hidden = [Path(h) for h in hidden]
    result: list[Path] = []
    for root in _outermost(roots):
        result.extend(_carve(root, [h for h in hidden if root in h.parents]))
    return result


def _carve(root: Path, hidden: list[Path]) -> list[Path]:
    if not hidden:
        return [root]
    if root.is_symlink() or not root.is_dir():
        return [root]
    kept = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    for entry in entries:
        if entry in hidden:
            continue
        kept.extend(_carve(entry, [h for h in hidden if entry in h.parents]))
    return kept
