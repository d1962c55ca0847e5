"""The Hamming index for serving codes: :class:`HashIndex` (``add``, ``search``, ``save``, ``load``), of two kinds.

- ``kind="flat"`` — exact search: the packed codes in memory, :func:`hamming_topk` over all of them
  (``N`` distances per query; ties by insertion order). Any number of bits. Saved as ``.npz``.
- ``kind="ivf"`` — faiss' inverted-file binary index (:mod:`semhash_lib.retrieval.ivf`): trained on the
  first ``add``, each query probes ``nprobe`` of ``nlist`` lists (about ``nlist + nprobe N / nlist``
  distances), so it is approximate: the distances are exact, but a neighbour stored in a list that was
  not probed is missed. For collections of millions of codes. Bits a multiple of 8. Saved in faiss'
  own format.

Both return ``(distances int32 (Q, k), ids int64 (Q, k))`` ordered by ``(distance, id)``; ids are the
insertion order (0, 1, ... over all ``add`` calls).
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..devices import cpu_threads
from ..io import atomic_write
from .ivf import FAISS_IVF_MAGIC, ivf_codes, ivf_parameters, read_ivf, train_ivf, write_ivf
from .packing import _packed_and_bits
from .topk import _check_k, drop_own_ids, hamming_topk

__all__ = ["HashIndex", "INDEX_KINDS", "tie_aware_recall", "calibrate_nprobe"]

#: The ``format`` entry of a saved flat index.
INDEX_FORMAT = b"semhash-hashindex-1"

#: The index kinds :class:`HashIndex` builds.
INDEX_KINDS = ("flat", "ivf")

_REBUILD = "build the index again (HashIndex(bits, kind), add the codes, save)"


def _positive(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"HashIndex: {name} must be a positive int or None (chosen from the database size), "
                         f"got {value!r}")
    return int(value)


def tie_aware_recall(found: tuple[Any, Any], exact: tuple[Any, Any]) -> float:
    """Recall@k of an approximate search against exact search, counting ties as found.

    ``found`` and ``exact`` are ``(distances, ids)`` (Q, k) from ``search`` (exact: a flat index, or
    :func:`hamming_topk`). For query ``q`` with exact ``k``-th distance ``d_k(q)``, recall is
    ``|{returned j : id_j >= 0, d_j <= d_k(q)}| / k``, averaged over queries: any code at most as far as the
    ``k``-th exact neighbour is a true neighbour, since exact search could have returned it in place of an
    equally distant one. The distances returned must be true distances (both kinds return exact ones).
    """
    fd, fi = (np.asarray(a) for a in found)
    ed = np.asarray(exact[0])
    if fd.shape != fi.shape or fd.ndim != 2 or ed.ndim != 2 or ed.shape[0] != fd.shape[0] or ed.shape[1] != fd.shape[1]:
        raise ValueError(f"tie_aware_recall: found (distances, ids) {fd.shape}/{fi.shape} and exact distances "
                         f"{ed.shape} must be the same (queries, k)")
    hits = (fd <= ed[:, -1:]) & (fi >= 0)
    return float(hits.sum(axis=1).mean() / fd.shape[1])


def calibrate_nprobe(ivf: Any, packed: np.ndarray, k: int = 100, target_recall: float = 0.95, sample: int = 1000,
                     seed: int = 0) -> tuple[int, float]:
    """The smallest ``nprobe`` whose tie-aware recall@k (:func:`tie_aware_recall`) on a sample of the indexed
    codes reaches ``target_recall``, and that recall: ``(nprobe, recall)``.

    A fixed random ``sample`` of the codes just added (``packed``, ids ``0..N-1``) is searched as queries, each
    leaving itself out of both rankings, exactly (:func:`hamming_topk`) and through the trained ``ivf`` with
    ``nprobe`` = 1, 2, 4, ... until the target is met, then bisected down to the smallest ``nprobe`` that meets
    it (recall grows with ``nprobe``; ``nlist`` is exact search, recall 1). So the default fits the collection at
    hand, whatever its code distribution, rather than a rule fitted to one benchmark's codes (the previous
    ``ivf_parameters`` rule reached 0.91 on 15 %-noise codes around 1,000 centres). Costs one exact search of
    ``sample`` queries and a few approximate ones (``benchmarks/README.md``, "Retrieval at scale"). The sample
    are database codes: for queries drawn like the database (the model's codes of new images) the recall
    carries over; for queries from another distribution, measure it (:func:`tie_aware_recall`)."""
    import faiss

    n = packed.shape[0]
    if n < 2:
        return 1, 1.0
    kk = min(k, n - 1)
    rows = np.sort(np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False))
    queries = np.ascontiguousarray(packed[rows])
    exact = drop_own_ids(*hamming_topk(queries, packed, kk + 1), rows, kk)

    def recall(nprobe: int) -> float:
        found = ivf.search(queries, kk + 1, params=faiss.SearchParametersIVF(nprobe=nprobe))
        return tie_aware_recall(drop_own_ids(*found, rows, kk), exact)

    measured: dict[int, float] = {}
    probe = 1
    while True:
        measured[probe] = recall(probe)
        if measured[probe] >= target_recall or probe >= ivf.nlist:
            break
        probe = min(2 * probe, ivf.nlist)
    lo, hi = probe // 2, probe             # recall(lo) < target <= recall(hi), or hi = nlist
    while hi - lo > 1 and measured[hi] >= target_recall:
        mid = (lo + hi) // 2
        measured[mid] = recall(mid)
        lo, hi = (lo, mid) if measured[mid] >= target_recall else (mid, hi)
    return hi, measured[hi]


class HashIndex:
    """Hamming index over ``bits``-bit codes: ``add`` codes, ``search`` neighbours, ``save``/``load``.

    ``kind="flat"`` (exact) or ``"ivf"`` (approximate, for millions of codes; module docstring). A trained
    model's codes are served with::

        index = HashIndex(64); index.add(db_codes); dist, ids = index.search(query_codes, 10)
        index = HashIndex(64, kind="ivf"); index.add(all_db_codes)   # trains nlist lists on this first add

    ``nlist`` / ``nprobe`` (ivf only): lists, and lists probed per query. ``nlist=None``: ``round(sqrt(N))``
    of the first add (:func:`semhash_lib.retrieval.ivf.ivf_parameters`); ``nprobe=None``: chosen when the index
    is built by measuring, on a sample of the added codes, the smallest ``nprobe`` whose tie-aware
    recall@``recall_k`` (default 100) reaches ``target_recall`` (default 0.95) (:func:`calibrate_nprobe`; the
    value measured is kept in :attr:`measured_recall`). Add the whole collection at once (or pass ``nlist`` and
    ``nprobe``) since the first add sets the lists and ``nprobe``. ``seed``: the training sample and k-means. ``num_threads``: threads for
    the search (``None``: :func:`semhash_lib.devices.cpu_threads`; for ivf, ``faiss.omp_set_num_threads``).
    """

    def __init__(self, bits: int, kind: str = "flat", *, nlist: int | None = None, nprobe: int | None = None,
                 target_recall: float = 0.95, recall_k: int = 100, seed: int = 0, num_threads: int | None = None):
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or bits <= 0:
            raise ValueError(f"HashIndex: bits must be a positive int, got {bits!r}")
        if kind not in INDEX_KINDS:
            raise ValueError(f"HashIndex: kind must be 'flat' (exact) or 'ivf' (faiss IndexBinaryIVF), got {kind!r}")
        if not (isinstance(target_recall, (int, float)) and 0 < target_recall <= 1):
            raise ValueError(f"HashIndex: target_recall must be in (0, 1], got {target_recall!r}")
        self.bits, self.kind, self.seed = int(bits), kind, int(seed)
        self.target_recall, self.recall_k = float(target_recall), _positive(recall_k, "recall_k")
        self.measured_recall: float | None = None   # ivf: recall@recall_k of the chosen nprobe on the sample
        self._nlist, self._nprobe = _positive(nlist, "nlist"), _positive(nprobe, "nprobe")
        self.num_threads = _positive(num_threads, "num_threads")
        if kind == "flat" and (nlist is not None or nprobe is not None):
            raise ValueError("HashIndex(kind='flat') is exact and has no nlist/nprobe; use kind='ivf'")
        if kind == "ivf" and self.bits % 8:
            raise ValueError(f"HashIndex(kind='ivf'): faiss' binary indexes need bits to be a multiple of 8, got "
                             f"{self.bits}; use kind='flat', or train {8 * math.ceil(self.bits / 8)}-bit codes")
        self._codes = np.zeros((0, self.nbytes), dtype=np.uint8)  # flat
        self._ivf: Any = None                                      # ivf, made by the first add

    @property
    def nbytes(self) -> int:
        """Bytes per packed code."""
        return (self.bits + 7) // 8

    @property
    def nlist(self) -> int | None:
        """ivf: number of lists (``None`` before the first add, unless given); flat: ``None``."""
        return self._ivf.nlist if self._ivf is not None else self._nlist

    @property
    def nprobe(self) -> int | None:
        """ivf: lists probed per query by default (``None`` before the first add, unless given); flat: ``None``."""
        return self._ivf.nprobe if self._ivf is not None else self._nprobe

    @property
    def codes(self) -> np.ndarray:
        """The stored packed codes in id order, uint8 (len(self), nbytes) (for ivf, a copy read from its lists)."""
        if self._ivf is not None:
            return ivf_codes(self._ivf)
        return self._codes

    def __len__(self) -> int:
        return int(self._ivf.ntotal) if self._ivf is not None else self._codes.shape[0]

    def __repr__(self) -> str:
        extra = f", nlist={self.nlist}, nprobe={self.nprobe}" if self.kind == "ivf" else ""
        return f"HashIndex(bits={self.bits}, kind={self.kind!r}, size={len(self)}{extra})"

    def _pack(self, codes: Any, name: str) -> np.ndarray:
        packed, k = _packed_and_bits(codes, name)
        if (k is not None and k != self.bits) or packed.shape[1] != self.nbytes:
            got = k if k is not None else f"{packed.shape[1]} packed bytes"
            raise ValueError(f"HashIndex({self.bits} bits): {name} have {got}; expected {self.bits} bits "
                             f"or {self.nbytes} packed bytes")
        return packed

    def _threads(self) -> int:
        return self.num_threads or cpu_threads()

    def add(self, codes: Any) -> None:
        """Append codes (any form accepted by :func:`pack_codes`); their ids continue from ``len(self)``.
        ivf: the first (non-empty) add trains the lists on a sample of its codes."""
        packed = self._pack(codes, "codes")
        if self.kind == "flat":
            self._codes = np.concatenate([self._codes, packed])
            return
        if not packed.shape[0]:
            return
        import faiss

        faiss.omp_set_num_threads(self._threads())
        if self._ivf is None:
            nlist, _ = ivf_parameters(packed.shape[0], nlist=self._nlist)
            index = train_ivf(packed, self.bits, nlist, self.seed)
            index.add(packed)
            self._ivf = index
            if self._nprobe is not None:
                index.nprobe = min(self._nprobe, nlist)
            else:
                index.nprobe, self.measured_recall = calibrate_nprobe(index, packed, self.recall_k,
                                                                      self.target_recall, seed=self.seed)
            return
        self._ivf.add(packed)

    def search(self, queries: Any, k: int, *, nprobe: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(distances int32 (Q, k), ids int64 (Q, k))`` of the ``k`` nearest stored codes, by ``(distance, id)``.

        ivf: ``nprobe`` overrides :attr:`nprobe` for this call (clipped to ``nlist``; ``nlist`` is exact
        search); where the probed lists hold fewer than ``k`` codes the row ends in ids ``-1`` at distance
        ``2**31 - 1`` (faiss' convention).
        """
        if len(self) == 0:
            raise ValueError("HashIndex.search: the index is empty; add codes first")
        q = self._pack(queries, "queries")
        k = _check_k(k, len(self), False)
        if self.kind == "flat":
            if nprobe is not None:
                raise ValueError("HashIndex(kind='flat').search is exact and takes no nprobe")
            return hamming_topk(q, self._codes, k, num_threads=self.num_threads)
        import faiss

        probe = min(_positive(nprobe, "nprobe") or self._ivf.nprobe, self._ivf.nlist)
        faiss.omp_set_num_threads(self._threads())
        dist, ids = self._ivf.search(q, k, params=faiss.SearchParametersIVF(nprobe=probe))
        # faiss sorts by distance only: order equal distances by id (missing ids -1 last)
        key = np.minimum(dist, self.bits + 1).astype(np.int64) * (len(self) + 1) + np.where(ids < 0, len(self), ids)
        order = np.argsort(key, axis=1, kind="stable")
        return (np.take_along_axis(dist, order, axis=1).astype(np.int32, copy=False),
                np.take_along_axis(ids, order, axis=1).astype(np.int64, copy=False))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the index to ``path`` atomically (temporary file, then ``os.replace``): flat as ``.npz``
        with ``bits`` and ``codes``; ivf with ``faiss.write_index_binary`` (lists, centroids, nprobe)."""
        path = Path(path)
        if self.kind == "ivf":
            if self._ivf is None:
                raise ValueError("HashIndex(kind='ivf').save: the index is empty (its lists are made by the "
                                 "first add); add codes first")
            write_ivf(self._ivf, path)
            return path
        with atomic_write(path) as f:
            np.savez(f, bits=np.int64(self.bits), codes=self._codes, format=np.bytes_(INDEX_FORMAT))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, *, num_threads: int | None = None) -> "HashIndex":
        """Read an index written by :meth:`save` (either kind, told apart by the file's first bytes). A missing
        file raises ``FileNotFoundError``; a damaged file (truncated, overwritten) or a file of another kind
        raises ``ValueError`` naming it."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no HashIndex file there; check the path, or {_REBUILD}")
        try:
            with open(path, "rb") as f:
                magic = f.read(len(FAISS_IVF_MAGIC))
        except OSError as e:
            raise ValueError(f"{path}: cannot read a HashIndex file there ({type(e).__name__}: {e})") from e
        if magic[:2] == FAISS_IVF_MAGIC[:2]:  # a faiss binary index: read_ivf accepts IndexBinaryIVF only
            ivf = read_ivf(path, _REBUILD)
            index = cls(int(ivf.d), "ivf", num_threads=num_threads)
            index._ivf = ivf
            return index
        return cls._load_flat(path, num_threads)

    @classmethod
    def _load_flat(cls, path: Path, num_threads: int | None) -> "HashIndex":
        try:
            with np.load(path, allow_pickle=False) as z:
                entries = {k: z[k] for k in ("format", "bits", "codes") if k in z.files}
        except (AttributeError, EOFError, KeyError, OSError, TypeError, ValueError, zipfile.BadZipFile) as e:
            raise ValueError(f"{path}: damaged or not a semhash HashIndex file ({type(e).__name__}: {e}); "
                             f"restore the file, or {_REBUILD}") from e
        if "format" not in entries or bytes(entries["format"]) != INDEX_FORMAT:
            raise ValueError(f"{path}: not a semhash HashIndex file")
        if "bits" not in entries or "codes" not in entries:
            raise ValueError(f"{path}: corrupt HashIndex (lacks {sorted({'bits', 'codes'} - set(entries))}); "
                             f"{_REBUILD}")
        index = cls(int(entries["bits"]), num_threads=num_threads)
        codes = entries["codes"]
        if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != index.nbytes:
            raise ValueError(f"{path}: corrupt HashIndex (codes {codes.dtype} {codes.shape} for {index.bits} bits)")
        index._codes = codes
        return index
