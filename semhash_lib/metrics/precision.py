"""Class-relevance retrieval metrics: AP@k / mAP@k, precision@k and precision curves (paper §5.2).

Relevance: a database item is relevant to a query when they have the same class label, or, for
multi-hot labels (N, C), when they share at least one label.

Ranking: Hamming distance of the binary codes (``rank="hamming"``, codes ``sign(h)``), or ``"euclidean"``
/ ``"cosine"`` on the real-valued outputs ``h`` for the "continuous vs binary" comparison. Ties:

- ``ties="index"`` (default): ties in distance are broken by database index (stable, deterministic);
- ``ties="average"`` (Hamming only): the *expected* value of the metric when the order within every
  group of equal distance is uniformly random (each group taken over the whole database, including the
  part past rank k). For P@k this is P@k with each relevance replaced by its group's mean relevance;
  for AP@k it is the exact expectation computed in closed form (:func:`_expected_ap`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import hypergeom

from ..retrieval import map_ranked_chunks
from ._common import (RelevanceGain, check_k_list, check_labels, check_options, expected_gains,
                      group_structure, last_group_stats, n_codes, topk_gains)

__all__ = ["average_precision", "mean_average_precision", "precision_at_k", "precision_curve"]


def _ap_from_relevance(rel: np.ndarray) -> np.ndarray:
    """AP@k per row of a 0/1 (or boolean) relevance list (c, k): ``(1/R_k) sum_i rel_i P@i``, 0 when ``R_k = 0``.

    Summed over the relevant positions only: the j-th relevant item of a row, at rank ``i``, adds ``j / i``
    (``P@i`` at a relevant rank), so the work is one pass to find them, not a cumulative sum over all k ranks
    (mAP@all ranks the whole database, where the relevant items are a few in ten thousand)."""
    c = rel.shape[0]
    rows, ranks = np.nonzero(rel)                      # row-major: ranks increase within a row
    r_k = np.bincount(rows, minlength=c)
    first = np.concatenate([[0], np.cumsum(r_k)[:-1]])
    j = np.arange(1, rows.size + 1) - first[rows]     # 1-based count of relevant items so far in the row
    num = np.bincount(rows, weights=j / (ranks + 1.0), minlength=c)
    return np.where(r_k > 0, num / np.maximum(r_k, 1), 0.0)


def _expected_ap(dist: np.ndarray, rel: np.ndarray, n_last: np.ndarray, r_last: np.ndarray) -> np.ndarray:
    """Exact ``E[AP@k]`` per query when the order inside each distance tie group is uniformly random.

    With ``cs_i`` the relevant count in ranks ``1..i``, ``AP@k = (1/R_k) sum_{i<=k} rel_i cs_i / i``.
    For rank ``i`` at position ``t`` (1-based) of a tie group of ``n`` items, ``r`` relevant, with ``c``
    relevant items ranked before the group:
    ``E[rel_i cs_i] = (r/n) (c + 1) + (t - 1) r (r - 1) / (n (n - 1))``.
    Groups that end before rank k contribute ``A = sum E[rel_i cs_i] / i`` and ``c_last`` relevant items;
    the group holding rank k (``n`` items in the database, ``r`` relevant, ``m`` of its ranks inside the
    top k, starting after rank ``S = k - m``) puts ``X ~ Hypergeometric(n, r, m)`` relevant items in the
    top k, at uniformly random ranks given ``X = x``, so
    ``E[AP@k] = sum_x P(X=x) (A + B(x)) / (c_last + x)`` (a term with ``c_last + x = 0`` is 0), with
    ``B(x) = (x/m)(c_last + 1) H1 + x(x-1)/(m(m-1)) H2``, ``H1 = sum_{t<=m} 1/(S+t)``,
    ``H2 = sum_{t<=m} (t-1)/(S+t) = m - (S+1) H1``.
    """
    c, k = dist.shape
    g = group_structure(dist, rel, n_last, r_last)
    n, r, start, last = g["size"], g["total"], g["start"], g["last"]
    pos = np.arange(1, k + 1, dtype=np.float64)[None, :]
    t = pos - start                                                     # 1-based position in the group
    before = (np.cumsum(rel, axis=1) - rel)                             # relevant before rank i
    c_grp = np.take_along_axis(before, start, axis=1)                   # relevant before the group
    pair = np.where(n > 1, r * (r - 1) / np.maximum(n * (n - 1), 1), 0.0)
    term = ((r / n) * (c_grp + 1) + (t - 1) * pair) / pos
    a = np.where(last, 0.0, term).sum(axis=1)
    c_last = np.where(last, 0.0, rel).sum(axis=1)
    s = last.argmax(axis=1).astype(np.float64)                          # ranks before the last group
    m = k - s
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, k + 1))])
    h1 = harmonic[k] - harmonic[s.astype(np.int64)]
    h2 = m - (s + 1) * h1
    n_l, r_l = n_last, r_last
    x_max = int(np.minimum(r_l, m).max())
    x = np.arange(x_max + 1, dtype=np.float64)[None, :]
    pmf = hypergeom.pmf(x, n_l[:, None], r_l[:, None], m[:, None])
    pmf = np.nan_to_num(pmf)
    b = (x / m[:, None]) * (c_last[:, None] + 1) * h1[:, None]
    b = b + np.where(m[:, None] > 1, x * (x - 1) / np.maximum(m * (m - 1), 1)[:, None], 0.0) * h2[:, None]
    denom = c_last[:, None] + x
    val = np.where(denom > 0, (a[:, None] + b) / np.maximum(denom, 1), 0.0)
    return (pmf * val).sum(axis=1)


def _setup(query_codes, db_codes, query_labels, db_labels, ties, rank):
    check_options(ties, rank)
    nq, nd = n_codes(query_codes, "query_codes"), n_codes(db_codes, "db_codes")
    return RelevanceGain(check_labels(query_labels, nq, "query_labels"), check_labels(db_labels, nd, "db_labels"))


def average_precision(query_codes: Any, db_codes: Any, query_labels: Any, db_labels: Any, k: int | None = None,
                      *, ties: str = "index", exclude_self: bool = False, rank: str = "hamming",
                      num_threads: int | None = None, chunk_rows: int | None = None) -> np.ndarray:
    """AP@k of every query, float64 (Q,): the per-query values behind :func:`mean_average_precision`."""
    gain = _setup(query_codes, db_codes, query_labels, db_labels, ties, rank)

    def fn(s, e, dist, idx, rows):
        if ties == "index":
            return _ap_from_relevance(gain.hits(s, e, idx))
        g = gain.for_chunk(s, e)
        return _expected_ap(dist, topk_gains(g, idx), *last_group_stats(dist, rows, g))

    parts = map_ranked_chunks(query_codes, db_codes, k, fn, exclude_self=exclude_self, rank=rank,
                              chunk_rows=chunk_rows, num_threads=num_threads)
    return np.concatenate(parts)


def mean_average_precision(query_codes: Any, db_codes: Any, query_labels: Any, db_labels: Any,
                           k: int | None = None, *, ties: str = "index", exclude_self: bool = False,
                           rank: str = "hamming", num_threads: int | None = None,
                           chunk_rows: int | None = None) -> float:
    """mAP@k of Hamming-ranking retrieval, the standard deep-hashing metric (paper §5.2).

    ``AP@k(q) = (1/R_k) sum_{i=1}^{k} rel_i P@i``, with ``P@i`` the precision of the top i and ``R_k`` the
    number of relevant items in the top k; a query with no relevant item in its top k counts 0.
    ``mAP@k`` is the mean over queries; ``k=None`` ranks the whole database (mAP@all).

    Codes: ±1 / real (sign taken) arrays or tensors, or packed bytes. Labels: class ids (N,) or multi-hot
    (N, C) (relevant = shared label). ``ties``: ``"index"`` (stable, default) or ``"average"`` (exact
    expected AP under random order within equal distances; module docstring). ``exclude_self``: queries
    are the database (query ``i`` = item ``i``), each dropped from its own ranking. ``rank``:
    ``"hamming"``, ``"euclidean"`` or ``"cosine"`` (the last two on real-valued outputs).
    """
    return float(average_precision(query_codes, db_codes, query_labels, db_labels, k, ties=ties,
                                   exclude_self=exclude_self, rank=rank, num_threads=num_threads,
                                   chunk_rows=chunk_rows).mean())


def precision_curve(query_codes: Any, db_codes: Any, query_labels: Any, db_labels: Any, ks: Any, *,
                    ties: str = "index", exclude_self: bool = False, rank: str = "hamming",
                    num_threads: int | None = None, chunk_rows: int | None = None) -> np.ndarray:
    """Mean precision@k over queries at each cut-off in ``ks``: float64 (len(ks),), for plotting.

    ``P@k(q) = (1/k) sum_{i<=k} rel_i``. With ``ties="average"`` each ``rel_i`` is replaced by the mean
    relevance of its distance tie group (the exact expectation under random order within ties).
    """
    ks = check_k_list(ks)
    gain = _setup(query_codes, db_codes, query_labels, db_labels, ties, rank)

    def fn(s, e, dist, idx, rows):
        g = gain.for_chunk(s, e)
        rel = topk_gains(g, idx)
        if ties == "average":
            rel = expected_gains(dist, rel, *last_group_stats(dist, rows, g))
        return np.cumsum(rel, axis=1)[:, ks - 1].sum(axis=0)

    parts = map_ranked_chunks(query_codes, db_codes, int(ks.max()), fn, exclude_self=exclude_self, rank=rank,
                              chunk_rows=chunk_rows, num_threads=num_threads)
    return np.sum(parts, axis=0) / (n_codes(query_codes, "query_codes") * ks)


def precision_at_k(query_codes: Any, db_codes: Any, query_labels: Any, db_labels: Any, k: int, **options) -> float:
    """Mean precision@k over queries (one point of :func:`precision_curve`; same options)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise ValueError(f"k must be a positive int, got {k!r}")
    return float(precision_curve(query_codes, db_codes, query_labels, db_labels, [k], **options)[0])
