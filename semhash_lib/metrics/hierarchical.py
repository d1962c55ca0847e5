"""Hierarchical precision: hP@k, AHP@k, mAHP@k and hP curves (paper §5.1; Deng, Berg & Fei-Fei, CVPR 2011;
Barz & Denzler, WACV 2019, whose evaluation code ``cvjena/semantic-embeddings`` the field uses).

For a query ``q`` and the ranking ``r_1, r_2, ...`` of the database by code distance,

    hP@i(q) = sum_{j<=i} s(q, r_j) / max_pi sum_{j<=i} s(q, pi_j)

where the denominator is the largest sum of i similarities any ranking of the database could give
(0/0 is taken as 0). ``s`` is a class-similarity matrix ``S[y_q, y_x]`` (e.g. 1 - LCS height on the
WordNet / Barz-Denzler hierarchy) or, for data without classes (captions), a per-pair similarity.

AHP@k integrates the hP curve over ranks 1..k, selected by ``integration``:

- ``"trapezoid"`` (default): ``AHP@k = (1/k) [sum_{i=1}^{k} hP@i - (hP@1 + hP@k)/2]``
  = ``mean(hP@1..hP@k) - (hP@1 + hP@k)/(2k)``, the trapezoidal area on [1, k] divided by k; this is
  ``np.trapz(hP[:k], dx=1/k)`` in Barz & Denzler's code after their fix of 2020-11-04 (issue #4), under
  which their CIFAR-100 mAHP@250 numbers are reported. (With k = 1 it is 0, the area of one point.)
- ``"mean"``: the plain mean ``mean(hP@1..hP@k)``.
- ``"legacy_barz_2020"``: the code before that fix (class_hierarchy.py up to Nov 2020), which subtracted
  ``(hP@1 + s(q, r_k) / ideal_k) / (2k)``: the last term used the similarity of the k-th item alone
  over the ideal *cumulative* sum, instead of hP@k. The fix lowered mAHP@250 by ~0.001-0.002, the
  size of ``(hP@k - s_k/ideal_k)/(2k)``. The paper (May 2020) predates the fix; this option reproduces
  numbers computed with the old code.

mAHP@k is the mean of AHP@k over queries. Ties: ``"index"`` (stable by database index) or
``"average"`` (each similarity replaced by the mean similarity of its distance tie group over the whole
database; hP and AHP are linear in the similarities, so this is exactly their expected value under a
uniformly random order within ties).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..retrieval import _check_k, _sizes, map_ranked_chunks
from ._common import (ClassSimilarityGain, PairSimilarityGain, check_k_list, check_labels, check_options,
                      expected_gains, ideal_class_cumsum, ideal_row_cumsum, last_group_stats, n_codes,
                      topk_gains)

__all__ = ["average_hierarchical_precision", "mean_average_hierarchical_precision",
           "hierarchical_precision_curve", "hierarchical_precision_at_k", "INTEGRATIONS"]

INTEGRATIONS = ("trapezoid", "mean", "legacy_barz_2020")


def _ahp(hp: np.ndarray, last_ratio: np.ndarray, integration: str) -> np.ndarray:
    """AHP@k per row from hP@1..k (c, k); ``last_ratio`` = ``s(q, r_k) / ideal_k`` for the legacy rule."""
    k = hp.shape[1]
    if integration == "mean":
        return hp.mean(axis=1)
    if integration == "trapezoid":
        return hp.mean(axis=1) - (hp[:, 0] + hp[:, -1]) / (2 * k)
    return hp.mean(axis=1) - (hp[:, 0] + last_ratio) / (2 * k)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def _similarity_source(nq: int, nd: int, query_labels, db_labels, class_similarity, pair_similarity, k: int,
                       exclude_self: bool):
    """``chunk(start, stop) -> (g, ideal)``: the gain function ``g(r, c)`` of the chunk's query rows and their best
    cumulative similarities at ranks ``1..k`` (:func:`ideal_class_cumsum` once for all queries with class
    labels, :func:`ideal_row_cumsum` per chunk for per-pair similarities). Checks that exactly one similarity is
    given, with the labels it needs."""
    if (class_similarity is None) == (pair_similarity is None):
        raise ValueError("give exactly one of class_similarity (C x C, with class labels) or "
                         "pair_similarity (Q x N matrix or callable, per-pair similarities)")
    if class_similarity is not None:
        if query_labels is None or db_labels is None:
            raise ValueError("class_similarity needs query_labels and db_labels")
        gain = ClassSimilarityGain(class_similarity, check_labels(query_labels, nq, "query_labels"),
                                   check_labels(db_labels, nd, "db_labels"))
        classes, class_row = np.unique(gain.q, return_inverse=True)
        ideal_table = ideal_class_cumsum(gain.S, gain.d, classes, k, exclude_self)
        return lambda s, e: (gain.for_chunk(s, e), ideal_table[class_row[s:e]])
    pairs = PairSimilarityGain(pair_similarity, nq, nd)

    def chunk(s, e):
        sim_rows = pairs.rows(s, e)
        return (lambda r, c: sim_rows[r, c]), ideal_row_cumsum(sim_rows, k, np.arange(s, e) if exclude_self else None)
    return chunk


def _hp_chunks(query_codes, db_codes, query_labels, db_labels, class_similarity, pair_similarity, k, ties,
               exclude_self, rank, num_threads, chunk_rows, reduce):
    """Run the ranking and call ``reduce(sims (c,k), ideal (c,k))`` on each chunk; returns its results."""
    check_options(ties, rank)
    nq, nd = n_codes(query_codes, "query_codes"), n_codes(db_codes, "db_codes")
    _sizes(query_codes, db_codes, exclude_self)
    kk = _check_k(k, nd, exclude_self)
    source = _similarity_source(nq, nd, query_labels, db_labels, class_similarity, pair_similarity, kk, exclude_self)

    def fn(s, e, dist, idx, rows):
        g, ideal = source(s, e)
        sims = topk_gains(g, idx)
        if ties == "average":
            sims = expected_gains(dist, sims, *last_group_stats(dist, rows, g))
        return reduce(sims, ideal)

    return map_ranked_chunks(query_codes, db_codes, k, fn, exclude_self=exclude_self, rank=rank,
                             chunk_rows=chunk_rows, num_threads=num_threads)


def average_hierarchical_precision(query_codes: Any, db_codes: Any, query_labels: Any, db_labels: Any,
                                   class_similarity: Any = None, k: int | None = 250,
                                   integration: str = "trapezoid", exclude_self: bool = False,
                                   ties: str = "index", *, pair_similarity: Any = None, rank: str = "hamming",
                                   num_threads: int | None = None, chunk_rows: int | None = None) -> np.ndarray:
    """AHP@k of every query, float64 (Q,): the per-query values behind :func:`mean_average_hierarchical_precision`."""
    if integration not in INTEGRATIONS:
        raise ValueError(f"integration must be one of {INTEGRATIONS}, got {integration!r}")

    def reduce(sims, ideal):
        hp = _ratio(np.cumsum(sims, axis=1), ideal)
        return _ahp(hp, _ratio(sims[:, -1], ideal[:, -1]), integration)

    return np.concatenate(_hp_chunks(query_codes, db_codes, query_labels, db_labels, class_similarity,
                                     pair_similarity, k, ties, exclude_self, rank, num_threads, chunk_rows, reduce))


def mean_average_hierarchical_precision(query_codes: Any, db_codes: Any, query_labels: Any, db_labels: Any,
                                        class_similarity: Any = None, k: int | None = 250,
                                        integration: str = "trapezoid", exclude_self: bool = False,
                                        ties: str = "index", *, pair_similarity: Any = None,
                                        rank: str = "hamming", num_threads: int | None = None,
                                        chunk_rows: int | None = None) -> float:
    """mAHP@k: mean over queries of the area under the hierarchical-precision curve hP@1..k (paper §5.1).

    ``hP@i(q) = sum_{j<=i} s(q, r_j) / (largest sum of i similarities any ranking of the database gives)``;
    AHP@k per ``integration`` (``"trapezoid"``, default: ``mean(hP@1..k) - (hP@1 + hP@k)/(2k)``;
    ``"mean"``; ``"legacy_barz_2020"``, see the module docstring). The ideal denominators come from the
    database's per-class counts (best ranking = classes in decreasing ``S[y_q, .]`` order).

    ``class_similarity``: (C, C) non-negative, indexed by the class ids ``query_labels`` / ``db_labels``.
    For data without classes pass ``query_labels=db_labels=None, class_similarity=None`` and
    ``pair_similarity``: a (Q, N) matrix or a callable ``f(query_indices) -> (len, N)`` rows (then each
    query's ideal list is its own row sorted, so this costs O(N) per query; meant for small N; with
    ``num_threads > 1`` the callable is called from several threads at once).
    ``exclude_self=True``: the queries are the database (query ``i`` = item ``i``; test-vs-test as in
    Barz & Denzler): each query is dropped from its own ranking and from its ideal list.
    ``ties``: ``"index"`` (stable) or ``"average"`` (exact expectation under random order within ties).
    ``rank``: ``"hamming"`` (codes) or ``"euclidean"``/``"cosine"`` on real-valued outputs.
    """
    return float(average_hierarchical_precision(
        query_codes, db_codes, query_labels, db_labels, class_similarity, k, integration, exclude_self, ties,
        pair_similarity=pair_similarity, rank=rank, num_threads=num_threads, chunk_rows=chunk_rows).mean())


def hierarchical_precision_curve(query_codes: Any, db_codes: Any, query_labels: Any, db_labels: Any,
                                 class_similarity: Any = None, ks: Any = (1, 10, 50, 100, 250),
                                 exclude_self: bool = False, ties: str = "index", *, pair_similarity: Any = None,
                                 rank: str = "hamming", num_threads: int | None = None,
                                 chunk_rows: int | None = None) -> np.ndarray:
    """Mean hP@k over queries for each k in ``ks``: float64 (len(ks),), for Barz-style plots.

    Same inputs and options as :func:`mean_average_hierarchical_precision`.
    """
    ks = check_k_list(ks)

    def reduce(sims, ideal):
        return _ratio(np.cumsum(sims, axis=1)[:, ks - 1], ideal[:, ks - 1]).sum(axis=0)

    parts = _hp_chunks(query_codes, db_codes, query_labels, db_labels, class_similarity, pair_similarity,
                       int(ks.max()), ties, exclude_self, rank, num_threads, chunk_rows, reduce)
    return np.sum(parts, axis=0) / n_codes(query_codes, "query_codes")


def hierarchical_precision_at_k(query_codes: Any, db_codes: Any, query_labels: Any, db_labels: Any,
                                class_similarity: Any = None, k: int = 250, **options) -> float:
    """Mean hP@k over queries (one point of :func:`hierarchical_precision_curve`; same options)."""
    return float(hierarchical_precision_curve(query_codes, db_codes, query_labels, db_labels, class_similarity,
                                              [k], **options)[0])
