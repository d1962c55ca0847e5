"""mAP@k, mAP@all and mAHP@k of one ranking, computed in a single pass over the database.

:func:`semhash_lib.experiment.evaluate` needs three metrics per ranking (Hamming on ``sign(h)``, then the
continuous ranking of ``h``). Each metric function ranks the database on its own; here one
:func:`semhash_lib.retrieval.map_ranked_chunks` pass ranks each chunk of queries once, to the largest cut-off
asked for (the whole database when mAP@all is), and every metric is read from prefixes of that ranking. The
ranking is ``(distance, database index)`` (``ties="index"``), so a prefix of the top ``K`` is exactly the top
``k <= K``: the values are identical to :func:`semhash_lib.metrics.mean_average_precision` and
:func:`semhash_lib.metrics.mean_average_hierarchical_precision` called one by one (tested), at a third to a
half of the ranking work.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..retrieval import _check_k, _sizes, map_ranked_chunks
from ._common import RelevanceGain, check_labels, check_options, n_codes, topk_gains
from .hierarchical import INTEGRATIONS, _ahp, _ratio, _similarity_source
from .precision import _ap_from_relevance

__all__ = ["retrieval_scores"]


def retrieval_scores(query_codes: Any, db_codes: Any, query_labels: Any, db_labels: Any, *,
                     k_map: int | None = 1000, k_mahp: int | None = 250, map_all: bool = False,
                     class_similarity: Any = None, pair_similarity: Any = None, exclude_self: bool = False,
                     rank: str = "hamming", integration: str = "trapezoid",
                     num_threads: int | None = None) -> dict[str, float]:
    """``{"map@<k_map>", "map@all", "mahp@<k_mahp>"}`` (the keys asked for) from one ranking of the database.

    Definitions as in :func:`semhash_lib.metrics.mean_average_precision` (``AP@k = (1/R_k) sum_i rel_i P@i``,
    0 without a relevant item) and :func:`semhash_lib.metrics.mean_average_hierarchical_precision` (trapezoid
    area of hP@1..k by default). ``k_map=None`` / ``k_mahp=None`` leave that metric out; ``map_all`` adds mAP
    over the whole ranking. mAP needs ``query_labels`` / ``db_labels``; mAHP needs ``class_similarity`` (with
    labels) or ``pair_similarity`` (a (Q, N) matrix or callable, data without classes). Ties by database index.
    """
    check_options("index", rank)
    if integration not in INTEGRATIONS:
        raise ValueError(f"integration must be one of {INTEGRATIONS}, got {integration!r}")
    nq, nd = n_codes(query_codes, "query_codes"), n_codes(db_codes, "db_codes")
    _sizes(query_codes, db_codes, exclude_self)
    want_map = k_map is not None or map_all
    if want_map and (query_labels is None or db_labels is None):
        raise ValueError("mAP needs query_labels and db_labels; pass k_map=None, map_all=False for data without classes")
    km = _check_k(k_map, nd, exclude_self) if k_map is not None else 0
    kh = _check_k(k_mahp, nd, exclude_self) if k_mahp is not None else 0
    if not (km or kh or map_all):
        raise ValueError("nothing to compute: give k_map, k_mahp or map_all=True")
    k_rank = None if map_all else max(km, kh)

    if want_map:
        ql, dl = check_labels(query_labels, nq, "query_labels"), check_labels(db_labels, nd, "db_labels")
        relevance = RelevanceGain(ql, dl)
    if kh:
        similarity = _similarity_source(nq, nd, query_labels, db_labels, class_similarity, pair_similarity, kh,
                                        exclude_self)

    def fn(s, e, dist, idx, rows):
        out = {}
        if want_map:
            rel = relevance.hits(s, e, idx if map_all else idx[:, :km])
            if km:
                out["map"] = _ap_from_relevance(rel[:, :km])
            if map_all:
                out["map_all"] = _ap_from_relevance(rel)
        if kh:
            g, ideal = similarity(s, e)
            sims = topk_gains(g, idx[:, :kh])
            out["mahp"] = _ahp(_ratio(np.cumsum(sims, axis=1), ideal), _ratio(sims[:, -1], ideal[:, -1]), integration)
        return out

    parts = map_ranked_chunks(query_codes, db_codes, k_rank, fn, exclude_self=exclude_self, rank=rank,
                              num_threads=num_threads)
    mean = lambda name: float(np.concatenate([p[name] for p in parts]).mean())   # noqa: E731
    scores = {}
    if km:
        scores[f"map@{k_map}"] = mean("map")
    if map_all:
        scores["map@all"] = mean("map_all")
    if kh:
        scores[f"mahp@{k_mahp}"] = mean("mahp")
    return scores
