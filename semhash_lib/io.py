"""Small I/O helpers shared by every module: atomic writes and input-keyed cache files.

Every cache and checkpoint in semhash is written with :func:`atomic_write` (write to a temporary
file in the same folder, ``fsync``, then ``os.replace``), so an interrupted run never leaves a
half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np

__all__ = ["atomic_write", "atomic_save_npz", "load_npz", "cache_key", "cache_dir", "project_root"]


def project_root() -> Path:
    """The folder that holds ``pyproject.toml`` when run from a checkout, else the current folder."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd()


def cache_dir(*parts: str) -> Path:
    """``$SEMHASH_CACHE`` or ``<project>/data/cache``, joined with ``parts`` and created."""
    root = Path(os.environ.get("SEMHASH_CACHE", project_root() / "data" / "cache"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[Any]:
    """Open a temporary file next to ``path``; on success it replaces ``path`` atomically.

    On an exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """``np.savez`` through :func:`atomic_write`."""
    path = Path(path)
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def load_npz(path: str | os.PathLike, keys: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """Load ``keys`` from an ``.npz`` cache file; ``None`` if it is missing or unreadable.

    A corrupt or truncated cache file is deleted (it will be rebuilt), never trusted.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in keys}
    except Exception:  # corrupt zip, missing key, truncated array: rebuild
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return None


def cache_key(*parts: Any) -> str:
    """A short stable hash of JSON-serialisable ``parts`` (numpy arrays hashed by content)."""

    def default(o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return {"ndarray": hashlib.sha256(np.ascontiguousarray(o).tobytes()).hexdigest(),
                    "shape": o.shape, "dtype": str(o.dtype)}
        if isinstance(o, (Path, os.PathLike)):
            return str(o)
        if isinstance(o, (np.integer, np.floating)):
            return o.item()
        raise TypeError(f"cache_key cannot hash {type(o).__name__}")

    blob = json.dumps(parts, sort_keys=True, default=default).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
