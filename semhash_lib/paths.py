"""Where semhash looks for data: an explicit path first, then the standard places, then a download.

Search order for a dataset folder called ``name`` (e.g. ``"cifar-100-binary"``):

1. the explicit ``root`` argument of the loader (a folder that is, or contains, ``name``);
2. ``$SEMHASH_DATA``;
3. ``./data`` (the project's git-ignored data folder; also the current working directory's);
4. ``../shared/data`` next to the project (the real data placed for development and CI);
5. system locations, e.g. ``/usr/share/datasets`` (Debian's ``dataset-*`` packages).

When nothing is found, :class:`DataNotFoundError` names every place looked at and how to get the data.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .io import project_root

__all__ = ["DataNotFoundError", "DataFormatError", "search_roots", "find_dataset_dir"]

SYSTEM_ROOTS = (Path("/usr/share/datasets"), Path("/usr/local/share/datasets"))


class DataNotFoundError(FileNotFoundError):
    """A dataset or resource was not found in any of the places semhash looks."""


class DataFormatError(ValueError):
    """A data file exists but is truncated, corrupt or not in the expected format."""


def search_roots(root: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for data, in order (duplicates removed)."""
    roots: list[Path] = []
    if root is not None:
        roots.append(Path(root))
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


def find_dataset_dir(names: Sequence[str], required: Iterable[str], root: str | os.PathLike | None = None,
                     how_to_get: str = "") -> Path:
    """Return the first folder ``<r>/<name>`` (or ``root`` itself) that holds every file in ``required``.

    ``names``: candidate folder names (e.g. ``["cifar-100-binary"]``). ``required``: relative paths,
    each may list alternatives separated by ``|`` (e.g. ``"train-images-idx3-ubyte|train-images-idx3-ubyte.gz"``).
    """
    required = list(required)

    def complete(d: Path) -> bool:
        return d.is_dir() and all(any((d / alt).exists() for alt in req.split("|")) for req in required)

    looked: list[Path] = []
    candidates: list[Path] = []
    if root is not None:
        candidates.append(Path(root))
    for r in search_roots(root):
        candidates += [r / n for n in names]
    for d in candidates:
        looked.append(d)
        if complete(d):
            return d
    lines = "\n  ".join(str(p) for p in looked)
    raise DataNotFoundError(
        f"Could not find {names[0]!r} (needs {', '.join(required)}). Looked in:\n  {lines}\n"
        f"{how_to_get}".rstrip())


def find_or_download(names: Sequence[str], required: Iterable[str], root: str | os.PathLike | None, how_to_get: str,
                     download: bool, fetch: Callable[[Path], None], source: str,
                     fetched_names: Sequence[str]) -> Path:
    """:func:`find_dataset_dir`; when nothing is found and ``download`` is true, ``fetch(<project>/data)`` and
    look for ``fetched_names`` there. A failed download raises :class:`DataNotFoundError` with the places
    looked at and the download error (offline, proxy, disk full) side by side."""
    required = list(required)
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
