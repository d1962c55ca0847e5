"""The inverted-file (IVF) Hamming index behind ``HashIndex(bits, kind="ivf")``: faiss' ``IndexBinaryIVF``.

An IVF index splits the database into ``nlist`` lists, one per *centroid* code (binary k-means on a
sample of the database, ``faiss.IndexBinaryFlat`` as the quantizer); each code is stored in the list of
its nearest centroid. A query is compared with the ``nlist`` centroids, and its exact Hamming distance is
computed to every code of its ``nprobe`` nearest lists only: about ``nlist + nprobe * N / nlist`` distances
instead of ``N``. The distances returned are exact; what can be missed are neighbours stored in lists that
were not probed. ``nprobe = nlist`` probes everything and equals exact search (up to the order of ties).

**Default sizes** (:func:`ivf_parameters`, measured in ``benchmarks/README.md``, "Retrieval at scale"):

- ``nlist = round(sqrt(N))``, at most ``N // 39`` (faiss' minimum of 39 training codes per centroid) and at
  least 1. The common float-vector advice is ``4 sqrt(N)`` to ``16 sqrt(N)``; for 64-bit codes with class
  structure, ``sqrt(N)`` lists were as fast or faster at matched recall and trained 9-10 times faster than
  ``4 sqrt(N)`` (k-means costs ``nlist * training codes``, both proportional to ``nlist``), which matters at
  10 M codes;
- ``nprobe``: :class:`semhash_lib.retrieval.HashIndex` no longer takes it from a rule; it measures, when the
  index is built, the smallest ``nprobe`` that reaches a target recall on a sample of the collection
  (:func:`semhash_lib.retrieval.calibrate_nprobe`). The rule ``max(8, ceil(8 * k * nlist / N))`` that
  :func:`ivf_parameters` still returns (lists enough to hold about ``8 k`` codes) reached tie-aware recall@100
  of 0.99 on the benchmark's codes but only 0.91 on codes around 1,000 centres with 15 % bit noise: a rule
  fitted to one code distribution. It remains a starting point for ``search(..., nprobe=)`` with another ``k``.

Training uses a random sample of ``min(N, 64 * nlist)`` codes of the first ``add`` (faiss itself caps it
at 256 per centroid); later adds are assigned to the existing lists, so ``nlist`` is set by the first
add. Files are faiss' own format (``faiss.write_index_binary`` / ``read_index_binary``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..io import atomic_write

__all__ = ["ivf_parameters", "train_ivf", "ivf_codes", "write_ivf", "read_ivf", "FAISS_IVF_MAGIC"]

#: The first four bytes of a file ``faiss.write_index_binary`` writes for an ``IndexBinaryIVF``.
FAISS_IVF_MAGIC = b"IBwF"

#: faiss' minimum number of training codes per centroid (``ClusteringParameters.min_points_per_centroid``).
MIN_POINTS_PER_CENTROID = 39

#: Training codes per centroid that :func:`train_ivf` samples.
TRAIN_POINTS_PER_CENTROID = 64


def _faiss() -> Any:
    import faiss

    return faiss


def ivf_parameters(n: int, k: int = 100, nlist: int | None = None) -> tuple[int, int]:
    """``(nlist, nprobe)`` for ``n`` database codes (module docstring):
    ``nlist = clip(round(sqrt(n)), 1, n // 39)`` unless given, ``nprobe = clip(max(8, ceil(8 k nlist / n)), 1, nlist)``."""
    if n < 1:
        raise ValueError(f"ivf_parameters: need at least one database code, got n={n}")
    if nlist is None:
        nlist = max(1, min(int(round(math.sqrt(n))), n // MIN_POINTS_PER_CENTROID))
    nprobe = max(1, min(nlist, max(8, math.ceil(8 * k * nlist / n))))
    return nlist, nprobe


def train_ivf(packed: np.ndarray, bits: int, nlist: int, seed: int = 0) -> Any:
    """A trained, empty ``faiss.IndexBinaryIVF`` with ``nlist`` lists, its centroids from binary k-means on
    ``min(N, 64 nlist)`` codes of ``packed`` drawn at random (``seed``)."""
    faiss = _faiss()
    n = packed.shape[0]
    if n < nlist:
        raise ValueError(f"HashIndex(kind='ivf'): the first add has {n} codes, fewer than nlist={nlist}; "
                         "add more codes at once, or pass a smaller nlist")
    index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(bits), bits, nlist)
    index.cp.seed = seed
    size = min(n, TRAIN_POINTS_PER_CENTROID * nlist)
    sample = packed if size == n else packed[np.sort(np.random.default_rng(seed).choice(n, size, replace=False))]
    index.cp.min_points_per_centroid = min(MIN_POINTS_PER_CENTROID, max(1, size // nlist))  # no warning
    index.train(np.ascontiguousarray(sample))
    return index


def ivf_codes(index: Any) -> np.ndarray:
    """The stored codes of an ``IndexBinaryIVF`` in insertion (id) order, uint8 ``(ntotal, code_size)``."""
    faiss = _faiss()
    out = np.zeros((index.ntotal, index.code_size), dtype=np.uint8)
    inv = index.invlists
    for lst in range(index.nlist):
        size = inv.list_size(lst)
        if size:
            ids = faiss.rev_swig_ptr(inv.get_ids(lst), size).copy()
            codes = faiss.rev_swig_ptr(inv.get_codes(lst), size * index.code_size).reshape(size, index.code_size)
            out[ids] = codes
    return out


def write_ivf(index: Any, path: Path) -> None:
    """``faiss.write_index_binary`` into a temporary file next to ``path``, then ``os.replace`` (atomic)."""
    faiss = _faiss()
    with atomic_write(path) as f:
        faiss.write_index_binary(index, faiss.PyCallbackIOWriter(f.write))


def read_ivf(path: Path, rebuild: str) -> Any:
    """``faiss.read_index_binary(path)``, checked to be a consistent ``IndexBinaryIVF``; a damaged file
    raises ``ValueError`` naming ``path`` and saying how to ``rebuild`` it."""
    faiss = _faiss()
    try:
        index = faiss.read_index_binary(os.fspath(path))
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{path}: damaged HashIndex file (faiss could not read it: {first[:200]}); "
                         f"restore the file, or {rebuild}") from e
    if not isinstance(index, faiss.IndexBinaryIVF):
        raise ValueError(f"{path}: not a semhash HashIndex file (a faiss {type(index).__name__}, "
                         "expected IndexBinaryIVF)")
    listed = sum(index.invlists.list_size(i) for i in range(index.nlist))
    if (index.d % 8 or index.code_size != index.d // 8 or index.quantizer.ntotal != index.nlist
            or listed != index.ntotal or not index.is_trained):
        raise ValueError(f"{path}: damaged HashIndex file (inconsistent IVF: d={index.d}, nlist={index.nlist}, "
                         f"{index.quantizer.ntotal} centroids, {listed} listed codes of {index.ntotal}); "
                         f"restore the file, or {rebuild}")
    return index
