"""Where semhash looks for data: an explicit path first, then the standard places, then a download.

An explicit ``root`` argument of a loader is the only place looked at: it must be the dataset's folder
itself or contain it (``<root>/<name>``, e.g. ``<root>/cifar-100-binary``). When it does not exist or does
not hold the dataset's files, :class:`DataNotFoundError` names that path, what was expected there and what
is missing; nothing else is searched and nothing is downloaded (a wrong path is never silently replaced by
data found somewhere else).

With ``root=None`` a dataset folder called ``name`` is searched in

1. ``$SEMHASH_DATA``;
2. ``./data`` (the project's git-ignored data folder; also the current working directory's);
3. ``../shared/data`` next to the project (the real data placed for development and CI);
4. system locations, e.g. ``/usr/share/datasets`` (Debian's ``dataset-*`` packages);

then, where the loader offers it, downloaded into ``<project>/data``. When nothing is found,
:class:`DataNotFoundError` names every place looked at and how to get the data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .io import project_root

__all__ = ["DataNotFoundError", "DataFormatError", "search_roots", "find_dataset_dir", "find_or_download"]

SYSTEM_ROOTS = (Path("/usr/share/datasets"), Path("/usr/local/share/datasets"))


class DataNotFoundError(FileNotFoundError):
    """A dataset or resource was not found in any of the places semhash looks."""


class DataFormatError(ValueError):
    """A data file exists but is truncated, corrupt or not in the expected format."""


def search_roots(root: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for data, in order (duplicates removed): ``[root]`` alone for an explicit
    ``root``, else ``$SEMHASH_DATA``, ``./data``, ``../shared/data`` and the system locations."""
    if root is not None:
        return [Path(root)]
    roots: list[Path] = []
    if os.environ.get("SEMHASH_DATA"):
        roots.append(Path(os.environ["SEMHASH_DATA"]))
    proj = project_root()
    roots += [proj / "data", Path.cwd() / "data", proj.parent / "shared" / "data",
              Path.cwd().parent / "shared" / "data", *SYSTEM_ROOTS]
    seen, out = set(), []
    for r in roots:
        key = str(r.resolve()) if r.exists() else str(r)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _has(d: Path, req: str) -> bool:
    return any((d / alt).exists() for alt in req.split("|"))


def find_dataset_dir(names: Sequence[str], required: Iterable[str], root: str | os.PathLike | None = None,
                     how_to_get: str = "") -> Path:
    """Return the folder ``root`` or ``<root>/<name>``, or with ``root=None`` the first ``<r>/<name>`` of
    :func:`search_roots`, that holds every file in ``required``.

    ``names``: candidate folder names (e.g. ``["cifar-100-binary"]``). ``required``: relative paths,
    each may list alternatives separated by ``|`` (e.g. ``"train-images-idx3-ubyte|train-images-idx3-ubyte.gz"``).
    An explicit ``root`` that does not exist or does not hold them raises :class:`DataNotFoundError` naming
    it (see :func:`_explicit_root`); only ``root=None`` searches.
    """
    required = list(required)
    if root is not None:
        return _explicit_root(names, required, Path(root))

    def complete(d: Path) -> bool:
        return d.is_dir() and all(_has(d, req) for req in required)

    looked: list[Path] = []
    for r in search_roots(None):
        for n in names:
            d = r / n
            looked.append(d)
            if complete(d):
                return d
    lines = "\n  ".join(str(p) for p in looked)
    raise DataNotFoundError(
        f"Could not find {names[0]!r} (needs {', '.join(required)}). Looked in:\n  {lines}\n"
        f"{how_to_get}".rstrip())


def _explicit_root(names: Sequence[str], required: list[str], root: Path) -> Path:
    """``root`` or ``root/<name>`` when it holds every required file, else :class:`DataNotFoundError`
    saying that ``root`` does not exist, is not a folder, or which candidate folder lacks which files."""
    candidates = [root] + [root / n for n in names]
    for d in candidates:
        if d.is_dir() and all(_has(d, req) for req in required):
            return d
    where = " or ".join(str(d) for d in candidates)
    expected = f"expected {', '.join(required)} in {where}"
    if not root.exists():
        problem = f"root={str(root)!r} does not exist"
    elif not root.is_dir():
        problem = f"root={str(root)!r} is not a folder"
    else:
        partial = [(d, [req for req in required if not _has(d, req)]) for d in candidates
                   if d.is_dir() and any(_has(d, req) for req in required)]
        problem = f"root={str(root)!r} does not hold {names[0]!r}"
        if partial:
            problem += " (" + "; ".join(f"{d} lacks {', '.join(miss)}" for d, miss in partial) + ")"
    raise DataNotFoundError(f"{problem}: {expected}. An explicit root is the only place looked at; pass "
                            "root=None to search $SEMHASH_DATA, ./data, ../shared/data and /usr/share/datasets.")


def find_or_download(names: Sequence[str], required: Iterable[str], root: str | os.PathLike | None, how_to_get: str,
                     download: bool, fetch: Callable[[Path], None], source: str,
                     fetched_names: Sequence[str]) -> Path:
    """:func:`find_dataset_dir`; when nothing is found, ``root`` is ``None`` and ``download`` is true,
    ``fetch(<project>/data)`` and look for ``fetched_names`` there. A failed download raises
    :class:`DataNotFoundError` with the places looked at and the download error (offline, proxy, disk full)
    side by side. An explicit ``root`` that lacks the data is an error, never a download."""
    required = list(required)
    if root is not None:
        return find_dataset_dir(names, required, root, how_to_get)
    try:
        return find_dataset_dir(names, required, root, how_to_get)
    except DataNotFoundError as e:
        if not download:
            raise
        target = project_root() / "data"
        try:
            fetch(target)
        except Exception as d:
            raise DataNotFoundError(f"{e}\nDownloading {source} into {target} failed: "
                                    f"{d.__class__.__name__}: {d}") from d
        return find_dataset_dir(fetched_names, required, target, how_to_get)
