"""Shared pieces of the retrieval metrics: input checks, per-pair gains, ideal rankings, tie averaging.

A *gain* is what a retrieved item is worth to a query: the relevance ``rel`` (0/1) for precision and
mAP, the similarity ``s(q, x)`` for hierarchical precision. Gains are evaluated for arbitrary
``(query, database item)`` pairs, vectorised, inside the chunk of queries being ranked
(:func:`semhash_lib.retrieval.map_ranked_chunks`).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..retrieval import _to_numpy

TIES = ("index", "average")
RANKS = ("hamming", "euclidean", "cosine")
_PIECE = 1 << 20  # pairs per vectorised gain evaluation (bounds the multi-label temporaries)


def check_options(ties: str, rank: str) -> None:
    """Validate the ``ties`` and ``rank`` options shared by every metric."""
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    if rank not in RANKS:
        raise ValueError(f"rank must be one of {RANKS}, got {rank!r}")
    if ties == "average" and rank != "hamming":
        raise ValueError("ties='average' is defined for Hamming ranking (integer distances); "
                         "use ties='index' with rank='euclidean'/'cosine'")


def n_codes(codes: Any, name: str) -> int:
    """Number of codes (rows) of a 2-D code array or tensor."""
    arr = _to_numpy(codes, name)
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (num_codes, bits), got shape {arr.shape}")
    return arr.shape[0]


def check_labels(labels: Any, n: int, name: str) -> np.ndarray:
    """Class labels: int (n,) single-label, or multi-hot bool (n, C) multi-label."""
    arr = _to_numpy(labels, name)
    if arr.shape[:1] != (n,):
        raise ValueError(f"{name}: expected {n} labels (one per code), got shape {arr.shape}")
    if arr.ndim == 1:
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name}: class labels must be integers, got {arr.dtype}")
        return arr.astype(np.int64, copy=False)
    if arr.ndim == 2:
        if arr.dtype != np.bool_ and not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name}: multi-label targets must be multi-hot 0/1 (n, C)")
        return arr.astype(bool, copy=False)
    raise ValueError(f"{name}: labels must be (n,) class ids or (n, C) multi-hot, got shape {arr.shape}")


def check_k_list(ks: Any) -> np.ndarray:
    """Cut-offs for curves: positive ints."""
    arr = np.atleast_1d(np.asarray(ks))
    if arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) or (arr <= 0).any():
        raise ValueError(f"ks must be a non-empty list of positive ints, got {ks!r}")
    return arr.astype(np.int64)


def _pieces(n: int):
    for s in range(0, n, _PIECE):
        yield slice(s, min(s + _PIECE, n))


# ----------------------------------------------------------------------------------------------------
# Gains
# ----------------------------------------------------------------------------------------------------

class RelevanceGain:
    """``rel(q, x) = 1`` if the query and the item share a class label (single- or multi-label)."""

    def __init__(self, query_labels: np.ndarray, db_labels: np.ndarray):
        if query_labels.ndim != db_labels.ndim or query_labels.shape[1:] != db_labels.shape[1:]:
            raise ValueError(f"query_labels {query_labels.shape} and db_labels {db_labels.shape} "
                             "must both be class ids or both multi-hot with the same number of classes")
        self.q, self.d = query_labels, db_labels

    def for_chunk(self, start: int, stop: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """``g(r, c)``: relevance (float 0/1) of database items ``c`` to chunk-local query rows ``r``."""
        q = self.q[start:stop]
        if q.ndim == 1:
            return lambda r, c: (q[r] == self.d[c]).astype(np.float64)

        def multi(r: np.ndarray, c: np.ndarray) -> np.ndarray:
            out = np.empty(r.size, dtype=np.float64)
            for p in _pieces(r.size):
                out[p] = (q[r[p]] & self.d[c[p]]).any(axis=1)
            return out
        return multi

    def hits(self, start: int, stop: int, idx: np.ndarray) -> np.ndarray:
        """Boolean (c, k): is ranked item ``idx[r, i]`` relevant to chunk-local query ``r``. For class ids one
        gather and compare (a byte per entry, for rankings of the whole database); multi-hot labels go through
        :meth:`for_chunk`."""
        q = self.q[start:stop]
        if q.ndim == 1:
            return self.d[idx] == q[:, None]
        return topk_gains(self.for_chunk(start, stop), idx) > 0


class ClassSimilarityGain:
    """``s(q, x) = S[y_q, y_x]`` from a class-similarity matrix ``S`` (C, C)."""

    def __init__(self, S: Any, query_labels: np.ndarray, db_labels: np.ndarray):
        S = _to_numpy(S, "class_similarity").astype(np.float64)
        if S.ndim != 2 or S.shape[0] != S.shape[1]:
            raise ValueError(f"class_similarity must be a square (C, C) matrix, got shape {S.shape}")
        if not np.isfinite(S).all() or (S < 0).any():
            raise ValueError("class_similarity must be finite and non-negative (similarities in [0, 1])")
        for lab, name in ((query_labels, "query_labels"), (db_labels, "db_labels")):
            if lab.ndim != 1:
                raise ValueError(f"{name}: hierarchical precision needs one class id per item, got {lab.shape}")
            if lab.size and (lab.min() < 0 or lab.max() >= S.shape[0]):
                raise ValueError(f"{name}: labels must lie in [0, {S.shape[0]}) (rows of class_similarity), "
                                 f"found range [{lab.min()}, {lab.max()}]")
        self.S, self.q, self.d = S, query_labels, db_labels

    def for_chunk(self, start: int, stop: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """``g(r, c) = S[y_q[start + r], y_db[c]]`` for chunk-local query rows ``r``."""
        q = self.q[start:stop]
        return lambda r, c: self.S[q[r], self.d[c]]


class PairSimilarityGain:
    """Per-pair similarity ``s(q_i, x_j)`` for data without classes (captions).

    ``similarity``: a (Q, N) array, or a callable ``f(query_indices) -> (len, N)`` array returning the
    rows for a chunk of queries (e.g. sentence-embedding cosine similarities mapped to [0, 1]); the
    callable keeps memory at one chunk, the matrix needs ``Q * N`` floats (small N).
    """

    def __init__(self, similarity: Any, n_query: int, n_db: int):
        if callable(similarity):
            self.fn = similarity
        else:
            mat = _to_numpy(similarity, "pair_similarity").astype(np.float64)
            if mat.shape != (n_query, n_db):
                raise ValueError(f"pair_similarity must be (Q, N) = ({n_query}, {n_db}), got {mat.shape}")
            self.fn = lambda idx: mat[idx]
        self.shape = (n_query, n_db)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Similarity rows (stop - start, N) of queries ``start:stop``, checked finite and non-negative."""
        rows = _to_numpy(self.fn(np.arange(start, stop)), "pair_similarity rows").astype(np.float64)
        if rows.shape != (stop - start, self.shape[1]):
            raise ValueError(f"pair_similarity returned shape {rows.shape} for queries {start}:{stop}, "
                             f"expected {(stop - start, self.shape[1])}")
        if not np.isfinite(rows).all() or (rows < 0).any():
            raise ValueError("pair_similarity must be finite and non-negative")
        return rows


# ----------------------------------------------------------------------------------------------------
# Ideal rankings (denominators of hierarchical precision)
# ----------------------------------------------------------------------------------------------------

def ideal_class_cumsum(S: np.ndarray, db_labels: np.ndarray, classes: np.ndarray, k: int,
                       exclude_self: bool) -> np.ndarray:
    """Best cumulative similarity at ranks 1..k for a query of each class in ``classes``: (len(classes), k).

    The best ranking of the database for a query of class ``c`` takes the database classes in decreasing
    ``S[c, .]`` order, each as many times as it has items (``n_j``; ``n_c - 1`` with ``exclude_self``).
    So position ``p`` holds the class ``g`` with ``cum_n[g-1] <= p < cum_n[g]`` in that order; found for
    all classes at once by one ``searchsorted`` over the row-offset cumulative counts (no sort of the
    database).
    """
    n_cls = S.shape[0]
    counts = np.bincount(db_labels, minlength=n_cls).astype(np.int64)
    sims = S[classes]                                               # (R, C)
    cnt = np.broadcast_to(counts, sims.shape).copy()
    if exclude_self:
        cnt[np.arange(classes.size), classes] -= 1
    order = np.argsort(-sims, axis=1, kind="stable")
    sorted_sims = np.take_along_axis(sims, order, axis=1)
    cum = np.cumsum(np.take_along_axis(cnt, order, axis=1), axis=1)  # (R, C), rows non-decreasing
    span = int(cum[:, -1].max()) + 1
    offsets = np.arange(classes.size, dtype=np.int64)[:, None] * span
    pos = np.arange(k, dtype=np.int64)[None, :] + offsets
    group = np.searchsorted((cum + offsets).ravel(), pos.ravel(), side="right").reshape(pos.shape)
    group -= np.arange(classes.size, dtype=np.int64)[:, None] * n_cls
    return np.cumsum(np.take_along_axis(sorted_sims, group, axis=1), axis=1)


def ideal_row_cumsum(rows: np.ndarray, k: int, self_cols: np.ndarray | None) -> np.ndarray:
    """Best cumulative similarity at ranks 1..k from full per-query similarity rows (c, N) (per-pair gains).

    ``self_cols``: the column of each query's own item, dropped from its ideal list (``exclude_self``).
    """
    neg = -rows
    if self_cols is not None:
        neg = neg.copy()
        neg[np.arange(rows.shape[0]), self_cols] = np.inf
    top = np.partition(neg, k - 1, axis=1)[:, :k] if k < rows.shape[1] else neg
    return np.cumsum(-np.sort(top, axis=1)[:, :k], axis=1)


# ----------------------------------------------------------------------------------------------------
# Tie averaging
# ----------------------------------------------------------------------------------------------------

def topk_gains(gain: Callable[[np.ndarray, np.ndarray], np.ndarray], idx: np.ndarray) -> np.ndarray:
    """Gains (c, k) of the ranked items ``idx`` (c, k)."""
    r = np.repeat(np.arange(idx.shape[0]), idx.shape[1])
    return gain(r, idx.ravel()).reshape(idx.shape)


def last_group_stats(dist: np.ndarray, rows: np.ndarray,
                     gain: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Size and gain sum, over the *whole* database, of the tie group at each query's k-th distance.

    The group of the k-th ranked item may extend past rank k; every other group inside the top k is
    complete. Returns ``(n_last (c,), sum_last (c,))``.
    """
    c = dist.shape[0]
    r, col = np.nonzero(rows == dist[:, -1:])
    n_last = np.bincount(r, minlength=c).astype(np.float64)
    sum_last = np.bincount(r, weights=gain(r, col), minlength=c)
    return n_last, sum_last


def group_structure(dist: np.ndarray, gains: np.ndarray, n_last: np.ndarray, sum_last: np.ndarray) -> dict:
    """Per-position tie-group statistics of a top-k list sorted by distance (c, k).

    Returns arrays (c, k): ``size`` (items of the group in the whole database), ``total`` (their gain
    sum), ``start`` (0-based rank where the group begins), ``last`` (position is in the k-th item's
    group, whose size and sum come from ``n_last``/``sum_last``).
    """
    c, k = dist.shape
    new = np.ones((c, k), dtype=bool)
    new[:, 1:] = dist[:, 1:] != dist[:, :-1]
    gid = np.cumsum(new, axis=1) - 1
    flat = (gid + np.arange(c)[:, None] * k).ravel()
    size = np.bincount(flat, minlength=c * k)[flat].reshape(c, k).astype(np.float64)
    total = np.bincount(flat, weights=gains.ravel(), minlength=c * k)[flat].reshape(c, k)
    start = np.maximum.accumulate(np.where(new, np.arange(k)[None, :], 0), axis=1)
    last = dist == dist[:, -1:]
    size = np.where(last, n_last[:, None], size)
    total = np.where(last, sum_last[:, None], total)
    return {"size": size, "total": total, "start": start, "last": last}


def expected_gains(dist: np.ndarray, gains: np.ndarray, n_last: np.ndarray, sum_last: np.ndarray) -> np.ndarray:
    """Expected gain at each rank when the order within each distance tie group is uniformly random.

    ``E[g_i] = (gain sum of i's tie group) / (size of the group)``, the group taken over the whole
    database; exact, so every metric linear in the gains (P@k, hP@k, AHP@k) is exactly its expectation.
    """
    g = group_structure(dist, gains, n_last, sum_last)
    return g["total"] / g["size"]
