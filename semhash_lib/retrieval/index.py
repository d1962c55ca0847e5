"""A small exact Hamming index for serving codes: :class:`HashIndex` (``add``, ``search``, ``save``, ``load``)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_write
from .packing import _packed_and_bits
from .topk import hamming_topk

__all__ = ["HashIndex"]

#: The ``format`` entry of a saved index.
INDEX_FORMAT = b"semhash-hashindex-1"


class HashIndex:
    """Exact Hamming index over ``bits``-bit codes: ``add`` codes, ``search`` neighbours, ``save``/``load``.

    Stores the packed codes (faiss layout, ``ceil(bits/8)`` bytes each); ``search`` is
    :func:`hamming_topk` (ties by insertion order). A trained model's codes are served with::

        index = HashIndex(64); index.add(db_codes); dist, ids = index.search(query_codes, 10)
    """

    def __init__(self, bits: int):
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits <= 0:
            raise ValueError(f"HashIndex: bits must be a positive int, got {bits!r}")
        self.bits = int(bits)
        self._codes = np.zeros((0, self.nbytes), dtype=np.uint8)

    @property
    def nbytes(self) -> int:
        """Bytes per packed code."""
        return (self.bits + 7) // 8

    @property
    def codes(self) -> np.ndarray:
        """The stored packed codes, uint8 (len(self), nbytes)."""
        return self._codes

    def __len__(self) -> int:
        return self._codes.shape[0]

    def __repr__(self) -> str:
        return f"HashIndex(bits={self.bits}, size={len(self)})"

    def _pack(self, codes: Any, name: str) -> np.ndarray:
        packed, k = _packed_and_bits(codes, name)
        if (k is not None and k != self.bits) or packed.shape[1] != self.nbytes:
            got = k if k is not None else f"{packed.shape[1]} packed bytes"
            raise ValueError(f"HashIndex({self.bits} bits): {name} have {got}; expected {self.bits} bits "
                             f"or {self.nbytes} packed bytes")
        return packed

    def add(self, codes: Any) -> None:
        """Append codes (any form accepted by :func:`pack_codes`); their ids continue from ``len(self)``."""
        self._codes = np.concatenate([self._codes, self._pack(codes, "codes")])

    def search(self, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(distances int32 (Q, k), ids int64 (Q, k))`` of the ``k`` nearest stored codes."""
        if len(self) == 0:
            raise ValueError("HashIndex.search: the index is empty; add codes first")
        return hamming_topk(self._pack(queries, "queries"), self._codes, k)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index to ``path`` (``.npz`` with ``bits`` and ``codes``) atomically."""
        path = Path(path)
        with atomic_write(path) as f:
            np.savez(f, bits=np.int64(self.bits), codes=self._codes, format=np.bytes_(INDEX_FORMAT))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "HashIndex":
        """Read an index written by :meth:`save`. A missing file raises ``FileNotFoundError``; a damaged file
        (truncated, overwritten) or a file of another kind raises ``ValueError`` naming it."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                entries = {k: z[k] for k in ("format", "bits", "codes") if k in z.files}
        except FileNotFoundError:
            raise
        except (AttributeError, EOFError, KeyError, OSError, TypeError, ValueError, zipfile.BadZipFile) as e:
            raise ValueError(f"{path}: damaged or not a semhash HashIndex file ({type(e).__name__}: {e}); "
                             "restore the file, or build the index again (HashIndex(bits), add the codes, save)"
                             ) from e
        if "format" not in entries or bytes(entries["format"]) != INDEX_FORMAT:
            raise ValueError(f"{path}: not a semhash HashIndex file")
        if "bits" not in entries or "codes" not in entries:
            raise ValueError(f"{path}: corrupt HashIndex (lacks {sorted({'bits', 'codes'} - set(entries))}); "
                             "build the index again (HashIndex(bits), add the codes, save)")
        index = cls(int(entries["bits"]))
        codes = entries["codes"]
        if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != index.nbytes:
            raise ValueError(f"{path}: corrupt HashIndex (codes {codes.dtype} {codes.shape} for {index.bits} bits)")
        index._codes = codes
        return index
