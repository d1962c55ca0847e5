"""Exact, stable top-k ranking of a database for every query, in memory-bounded chunks.

**Ranking** is by ``(distance, database index)``: ties in distance are broken by the database index,
smallest first (stable). The tie order of a ranking matters for mAP/mAHP with short codes;
:mod:`semhash_lib.metrics` also offers the tie-averaged variant.

Algorithm (exact, no approximation): the queries are processed in chunks of ``c`` rows; for a chunk the
full ``(c, N)`` distance matrix is computed (Hamming: :mod:`semhash_lib.retrieval.packing`; real-valued
outputs: a float64 matrix product). The top k of each row are then selected exactly
(:func:`_hamming_select`): a distance threshold guessed from a fixed random sample of the columns admits
at least k candidates (else the row is sorted whole), and the candidates are sorted stably by
``(row, distance)`` with numpy's radix sort for 16-bit keys, so the order is exactly
``(distance, index)``. When ``4k >= N`` the rows are sorted whole (also a radix sort). Chunks run on
``num_threads`` threads (numpy releases the GIL in these loops; default: the process's cores, at most 8).

Memory bound: about ``20 * c * N`` bytes per chunk in flight (the 8-byte XOR buffer, the distances, the
candidate mask and, for ``4k >= N``, the 8-byte sort indices), with ``c * N <= chunk_elements`` (default
:data:`CHUNK_ELEMENTS` = 2**19, i.e. ~10 MB per chunk; small chunks stay in cache and are recycled by the
allocator) and at most ``num_threads`` chunks at once; plus the outputs (12 bytes per returned
neighbour) and, in the metrics, ``O(c * k)`` per chunk. Real-valued ranking (:func:`real_topk`) holds
about ``24 * c * N`` bytes per chunk (float64 distances, a partition copy, the candidate mask) with
``c * N <= REAL_CHUNK_ELEMENTS`` = 2**22 (~100 MB).
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

from ..devices import cpu_threads
from .packing import _as_words, _check_2d, _distance_block, _distance_dtype, _prepare_pair, _to_numpy

__all__ = ["CHUNK_ELEMENTS", "REAL_CHUNK_ELEMENTS", "FAISS_MAX_K", "hamming_topk", "real_topk", "map_ranked_chunks"]

#: Default bound on ``chunk_rows * database_size`` (number of distances held per chunk), Hamming ranking.
CHUNK_ELEMENTS = 1 << 19
#: The same for real-valued ranking (float64 distances; larger chunks keep the matrix product efficient).
REAL_CHUNK_ELEMENTS = 1 << 22


# ----------------------------------------------------------------------------------------------------
# Chunked exact ranking
# ----------------------------------------------------------------------------------------------------

def _check_k(k: int | None, n_db: int, exclude_self: bool) -> int:
    available = n_db - 1 if exclude_self else n_db
    if k is None:
        return available
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be a positive int or None (all), got {k!r}")
    if k <= 0:
        raise ValueError(f"k must be positive, got k={k}")
    if k > available:
        raise ValueError(f"k={k} exceeds the {available} rankable database items"
                         f"{' (query excluded from its own ranking)' if exclude_self else ''}; "
                         "lower k or pass k=None for the whole ranking")
    return int(k)


def _sizes(query: Any, db: Any, exclude_self: bool) -> tuple[int, int]:
    """Numbers of query and database codes; checks the ``exclude_self`` pairing (Q == N)."""
    q = _to_numpy(query, "query_codes")
    d = _to_numpy(db, "db_codes")
    _check_2d(q, "query_codes")
    _check_2d(d, "db_codes")
    if exclude_self and q.shape[0] != d.shape[0]:
        raise ValueError(f"exclude_self=True needs the queries to be the database (Q == N), "
                         f"got Q={q.shape[0]}, N={d.shape[0]}")
    return q.shape[0], d.shape[0]


def _resolve_threads(num_threads: int | None) -> int:
    if num_threads is None:
        return max(1, min(cpu_threads(), 8))
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    return int(num_threads)


def _chunk_starts(n_query: int, n_db: int, chunk_rows: int | None, chunk_elements: int) -> list[tuple[int, int]]:
    rows = chunk_rows if chunk_rows is not None else max(1, chunk_elements // max(n_db, 1))
    if rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {rows}")
    return [(s, min(s + rows, n_query)) for s in range(0, n_query, rows)]


def _run_chunks(bounds: list[tuple[int, int]], work: Callable[[int, int], Any], num_threads: int) -> list[Any]:
    if num_threads == 1 or len(bounds) == 1:
        return [work(s, e) for s, e in bounds]
    with ThreadPoolExecutor(max_workers=num_threads) as pool:
        return list(pool.map(lambda b: work(*b), bounds))


def map_ranked_chunks(query_codes: Any, db_codes: Any, k: int | None, fn: Callable[..., Any], *,
                      exclude_self: bool = False, rank: str = "hamming", chunk_rows: int | None = None,
                      chunk_elements: int | None = None, num_threads: int | None = None) -> list[Any]:
    """Rank the database for chunks of queries and call ``fn`` on each chunk; returns the list of results.

    ``fn(start, stop, distances, indices, row_distances)`` receives the query rows ``start:stop``, their
    top-``k`` ``distances`` and ``indices`` (c, k) in ``(distance, index)`` order, and the full distance
    rows (c, N) of the chunk (the query's own entry set above every real distance when ``exclude_self``).
    It runs in a worker thread, so the metrics are computed while the chunk is in memory, and only
    ``fn``'s (small) results are kept. ``rank``: ``"hamming"`` (codes, see :func:`pack_codes`) or
    ``"euclidean"`` / ``"cosine"`` on real-valued outputs (see :func:`real_topk`).
    ``exclude_self=True``: query ``i`` is database item ``i`` (needs Q == N) and is left out of its ranking.
    """
    threads = _resolve_threads(num_threads)
    if rank == "hamming":
        q, d = _prepare_pair(query_codes, db_codes)
        n_q, n_db = q.shape[0], d.shape[0]
        qw, dwt = _as_words(q), np.ascontiguousarray(_as_words(d).T)
        dtype = _distance_dtype(q.shape[1])
        sentinel = 8 * q.shape[1] + 1

        def block(s: int, e: int) -> np.ndarray:
            return _distance_block(qw[s:e], dwt, dtype)

        def select(block_d: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
            return _hamming_select(block_d, kk, sentinel)
    elif rank in ("euclidean", "cosine"):
        qr, dr = _real_pair(query_codes, db_codes, rank)
        n_q, n_db = qr.shape[0], dr.shape[0]
        sentinel = np.inf
        db_sq = np.einsum("ij,ij->i", dr, dr)

        def block(s: int, e: int) -> np.ndarray:
            return _real_block(qr[s:e], dr, db_sq, rank)

        select = _stable_topk_rows
    else:
        raise ValueError(f"rank must be 'hamming', 'euclidean' or 'cosine', got {rank!r}")
    if exclude_self and n_q != n_db:
        raise ValueError(f"exclude_self=True needs the queries to be the database (Q == N), got Q={n_q}, N={n_db}")
    kk = _check_k(k, n_db, exclude_self)

    def work(s: int, e: int) -> Any:
        rows = block(s, e)
        if exclude_self:
            rows[np.arange(e - s), np.arange(s, e)] = sentinel
        dist, idx = select(rows, kk)
        return fn(s, e, dist, idx.astype(np.int64, copy=False), rows)

    if chunk_elements is None:
        chunk_elements = CHUNK_ELEMENTS if rank == "hamming" else REAL_CHUNK_ELEMENTS
    return _run_chunks(_chunk_starts(n_q, n_db, chunk_rows, chunk_elements), work, threads)


@functools.lru_cache(maxsize=8)
def _sample_columns(n: int, size: int = 1024) -> np.ndarray:
    """A fixed pseudo-random set of ``size`` columns out of ``n`` (random, so periodic data cannot bias it)."""
    cols = np.sort(np.random.default_rng(0).choice(n, size=min(size, n), replace=False))
    cols.setflags(write=False)  # shared between calls and threads
    return cols


def _hamming_select(rows: np.ndarray, k: int, max_value: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of small-integer distance rows (c, N) in ``(distance, column)`` order.

    For ``k`` close to ``N`` the rows are sorted whole (numpy's stable sort of 8/16-bit keys is a radix
    sort). Otherwise a threshold ``t`` per row is guessed from a sorted fixed random sample of 1,024 columns (a rank a
    little above ``k/N`` of the sample); rows where fewer than ``k`` distances are ``<= t`` fall back to
    ``t = max_value`` (the whole row). All entries ``<= t`` (at least k per row) are candidates: every
    item outside has a larger distance than k candidates, so the top k are among them. The candidates,
    taken in row-major order (column increasing), are stably sorted by ``(row, distance)`` and the first k
    of each row kept. Exact whatever the guess; the guess only sets the amount of work.
    """
    c, n = rows.shape
    if 4 * k >= n:
        order = np.argsort(rows, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(rows, order, axis=1), order
    sample = np.sort(rows[:, _sample_columns(n)], axis=1, kind="stable")
    m = sample.shape[1]
    guess = min(m - 1, int(np.ceil(1.5 * k * m / n)) + 8)
    t = sample[:, guess]
    mask = rows <= t[:, None]
    flat = np.flatnonzero(mask)  # row-major: by row, then column increasing
    counts = np.diff(np.searchsorted(flat, np.arange(c + 1) * n))
    short = counts < k
    if short.any():  # the guess admitted fewer than k items: take these rows whole
        mask[short] = True
        flat = np.flatnonzero(mask)
        counts[short] = n
    vals = rows.reshape(-1)[flat]
    if c * (max_value + 1) <= np.iinfo(np.uint16).max:
        key = np.repeat(np.arange(c, dtype=np.uint16) * np.uint16(max_value + 1), counts) + vals
        order = np.argsort(key, kind="stable")
        col = flat - np.repeat(np.arange(c, dtype=np.int64) * n, counts)
    else:
        r, col = np.divmod(flat, n)
        order = np.lexsort((vals, r))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = order[starts[:, None] + np.arange(k)[None, :]]
    return vals[pick], col[pick]


def _collect_topk(query: Any, db: Any, k: int | None, exclude_self: bool, rank: str, dist_dtype: type,
                  chunk_rows: int | None, chunk_elements: int | None,
                  num_threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Gather the ranked chunks of :func:`map_ranked_chunks` into ``(distances (Q, k), indices int64 (Q, k))``."""
    n_q, n_db = _sizes(query, db, exclude_self)
    kk = _check_k(k, n_db, exclude_self)
    out_d = np.empty((n_q, kk), dtype=dist_dtype)
    out_i = np.empty((n_q, kk), dtype=np.int64)

    def fill(s: int, e: int, dist: np.ndarray, idx: np.ndarray, rows: np.ndarray) -> None:
        out_d[s:e] = dist
        out_i[s:e] = idx

    map_ranked_chunks(query, db, kk, fill, exclude_self=exclude_self, rank=rank, chunk_rows=chunk_rows,
                      chunk_elements=chunk_elements, num_threads=num_threads)
    return out_d, out_i


#: ``hamming_topk(backend="auto")`` uses faiss' counting search for ``k`` up to this value and the chunked
#: numpy selection above it (the measured crossover on the 2-core AVX-512 machine, ``benchmarks/README.md``)
FAISS_MAX_K = 256
HAMMING_BACKENDS = ("auto", "faiss", "numpy")
#: bound on faiss' per-chunk counting buffers, ``chunk rows * (K + 1) * k * 8`` bytes
FAISS_CHUNK_BYTES = 64 << 20


def _faiss_counting_topk(q: np.ndarray, d: np.ndarray, k: int, exclude_self: bool,
                         num_threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by faiss ``IndexBinaryFlat`` with ``use_heap=False`` (``hammings_knn_mc``).

    That search keeps, per query and per distance value ``0..K``, the first ``k`` database ids met while it scans
    the database in index order, and lowers its distance threshold once ``k`` ids are below it; reading the
    buckets out in distance order gives exactly the ``(distance, index)`` order of a stable sort (checked against
    a brute-force stable sort in ``tests/test_retrieval_faiss_topk.py``). Its memory is ``(K + 1) * k`` ids per
    query of one faiss query batch. ``exclude_self``: ``k + 1`` neighbours are searched and query ``i``'s own id
    removed; if it is not among them (more than ``k`` exact duplicates with smaller ids), the first ``k`` are
    the answer, since the item would rank after them. Packed codes are padded to whole bytes with zeros on both
    sides, which leaves every distance unchanged. Queries go to faiss in chunks whose counting buffers stay
    under :data:`FAISS_CHUNK_BYTES`."""
    import faiss

    kk = k + 1 if exclude_self else k
    index = faiss.IndexBinaryFlat(8 * d.shape[1])
    index.use_heap = False
    index.add(np.ascontiguousarray(d))
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(num_threads)
    rows = max(1, FAISS_CHUNK_BYTES // (8 * (8 * d.shape[1] + 1) * kk))   # faiss holds (K + 1) * k int64 per query
    dist = np.empty((q.shape[0], kk), dtype=np.int32)
    ids = np.empty((q.shape[0], kk), dtype=np.int64)
    try:
        for s in range(0, q.shape[0], rows):
            dist[s:s + rows], ids[s:s + rows] = index.search(np.ascontiguousarray(q[s:s + rows]), kk)
    finally:
        faiss.omp_set_num_threads(before)
    if exclude_self:
        dist, ids = drop_own_ids(dist, ids, np.arange(q.shape[0]), k)
    return dist.astype(np.int32, copy=False), ids.astype(np.int64, copy=False)


def drop_own_ids(dist: np.ndarray, ids: np.ndarray, own: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``k`` of ``k + 1`` ranked neighbours per row with each query's own id ``own[i]`` removed; where it
    is not among them (more than ``k`` exact duplicates with smaller ids rank first) the ``(k + 1)``-th is dropped
    instead, since the query itself would rank after all of them."""
    is_self = ids == own[:, None]
    keep = ~is_self
    keep[~is_self.any(axis=1), -1] = False
    return dist[keep].reshape(-1, k), ids[keep].reshape(-1, k)


def hamming_topk(query_codes: Any, db_codes: Any, k: int | None, exclude_self: bool = False, *,
                 chunk_rows: int | None = None, chunk_elements: int | None = None,
                 num_threads: int | None = None, backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` Hamming neighbours: ``(distances int32 (Q, k), indices int64 (Q, k))``.

    Neighbours are ordered by ``(Hamming distance, database index)``: ties are broken by the database
    index, smallest first, so the result is deterministic and equal to a stable sort of each distance row.
    ``k=None`` ranks the whole database. ``exclude_self=True``: the queries are the database (query ``i``
    is item ``i``) and each query is left out of its own ranking (then ``k <= N - 1``).
    Codes: ±1 / {0,1} / real arrays or tensors, or packed ``uint8`` (see :func:`pack_codes`).

    ``backend``: ``"faiss"`` -- faiss' counting search (:func:`_faiss_counting_topk`, the same order);
    ``"numpy"`` -- the chunked selection of this module (memory bounded by chunking the queries, module
    docstring); ``"auto"`` (default) -- faiss for ``k <= FAISS_MAX_K``, numpy above (the measured crossover).
    Both return identical arrays.
    """
    if backend not in HAMMING_BACKENDS:
        raise ValueError(f"backend must be one of {HAMMING_BACKENDS}, got {backend!r}")
    if backend == "faiss" or (backend == "auto" and chunk_rows is None and chunk_elements is None):
        n_q, n_db = _sizes(query_codes, db_codes, exclude_self)
        kk = _check_k(k, n_db, exclude_self)
        if backend == "faiss" or kk <= FAISS_MAX_K:
            q, d = _prepare_pair(query_codes, db_codes)
            return _faiss_counting_topk(q, d, kk, exclude_self, _resolve_threads(num_threads))
    return _collect_topk(query_codes, db_codes, k, exclude_self, "hamming", np.int32, chunk_rows, chunk_elements,
                         num_threads)


# ----------------------------------------------------------------------------------------------------
# Continuous (real-valued) retrieval, for the "continuous vs binary" comparison
# ----------------------------------------------------------------------------------------------------

def _real_pair(query: Any, db: Any, rank: str) -> tuple[np.ndarray, np.ndarray]:
    q = _to_numpy(query, "query_codes")
    d = _to_numpy(db, "db_codes")
    for arr, name in ((q, "query_codes"), (d, "db_codes")):
        _check_2d(arr, name)
        if arr.dtype == np.uint8:
            raise TypeError(f"{name}: rank={rank!r} needs real-valued outputs h, not packed codes")
    if q.shape[1] != d.shape[1]:
        raise ValueError(f"query and database outputs have different dimensions: {q.shape[1]} vs {d.shape[1]}")
    if d.shape[0] == 0:
        raise ValueError("db_codes is empty")
    q = q.astype(np.float64)
    d = d.astype(np.float64)
    for arr, name in ((q, "query_codes"), (d, "db_codes")):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name}: outputs contain NaN or inf")
    if rank == "cosine":
        out = []
        for arr, name in ((q, "query_codes"), (d, "db_codes")):
            norm = np.linalg.norm(arr, axis=1, keepdims=True)
            if (norm == 0).any():
                raise ValueError(f"{name}: cosine ranking is undefined for all-zero vectors "
                                 f"({int((norm == 0).sum())} rows)")
            out.append(arr / norm)
        q, d = out
    return q, d


def _real_block(q: np.ndarray, d: np.ndarray, d_sq: np.ndarray, rank: str) -> np.ndarray:
    """Euclidean: squared distance ``|q|^2 + |d|^2 - 2 q.d`` (same order as the distance);
    cosine: ``1 - cos`` (inputs already normalised). float64."""
    dot = q @ d.T
    if rank == "cosine":
        return 1.0 - dot
    out = np.einsum("ij,ij->i", q, q)[:, None] + d_sq[None, :]
    dot *= 2.0                        # exact; in place, so the block is written twice instead of four times
    out -= dot
    return np.maximum(out, 0.0, out=out)


def _stable_topk_rows(rows: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of each row in ``(value, column)`` order, any dtype, without a full sort.

    The k-th smallest value ``t`` of each row comes from ``np.partition``; every entry ``<= t`` is a
    candidate (at least k per row, in row-major order, so columns increase within a row). When every
    row has exactly k candidates (no tie at ``t``, the usual case for real values) they are sorted per
    row (numpy's fast sort, then a stable sort again for the rows with two equal values); otherwise all
    candidates are ordered by ``(row, value, column)`` with ``np.lexsort`` and the first k of each row are kept.
    """
    c, n = rows.shape
    if k == n:
        order = np.argsort(rows, axis=1, kind="stable")
        return np.take_along_axis(rows, order, axis=1), order
    kth = np.partition(rows, k - 1, axis=1)[:, k - 1]
    flat = np.flatnonzero(rows <= kth[:, None])
    vals = rows.reshape(-1)[flat]
    if flat.size == c * k:
        vals, col = vals.reshape(c, k), (flat % n).reshape(c, k)
        # numpy's default sort (SIMD on AVX-512) is several times faster than its stable one; it gives the
        # stable order wherever a row has no two equal values (nor NaN), and those rows are sorted stably again
        order = np.argsort(vals, axis=1)
        ranked = np.take_along_axis(vals, order, axis=1)
        tied = ~(ranked[:, 1:] > ranked[:, :-1]).all(axis=1)
        if tied.any():
            order[tied] = np.argsort(vals[tied], axis=1, kind="stable")
            ranked[tied] = np.take_along_axis(vals[tied], order[tied], axis=1)
        return ranked, np.take_along_axis(col, order, axis=1)
    r, col = np.divmod(flat, n)
    order = np.lexsort((col, vals, r))
    r, col, vals = r[order], col[order], vals[order]
    start = np.searchsorted(r, np.arange(c))
    keep = (np.arange(r.size) - start[r]) < k
    return vals[keep].reshape(c, k), col[keep].reshape(c, k)


def real_topk(query: Any, db: Any, k: int | None, metric: str = "euclidean", exclude_self: bool = False, *,
              chunk_rows: int | None = None, chunk_elements: int | None = None,
              num_threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` neighbours of real-valued outputs: ``(distances float64 (Q, k), indices int64 (Q, k))``.

    ``metric="euclidean"``: returned distances are *squared* Euclidean distances (same order);
    ``metric="cosine"``: ``1 - cos(q, x)``. Computed in float64 by a chunked matrix product; ties (equal
    computed distances) are broken by database index, as in :func:`hamming_topk`.
    """
    return _collect_topk(query, db, k, exclude_self, metric, np.float64, chunk_rows, chunk_elements, num_threads)
