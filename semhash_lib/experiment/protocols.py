"""Retrieval protocols and the evaluation of one protocol's codes.

- ``"train_db"``: queries = test split, database = train split (the usual deep-hashing protocol);
- ``"test_vs_test"``: every test image queries all other test images (Barz & Denzler's mAHP protocol);
- ``"zs_unseen"``: zero-shot, queries = test images of unseen classes, database = train images of unseen
  classes only;
- ``"zs_mixed"``: zero-shot, the same queries against the whole train split (seen-class images too).

The paper's own query / database split is unrecovered (``docs/paper.md`` §5.1, ``docs/reconstruction.md``).
:func:`protocol_indices` gives a protocol's query and database rows, :func:`evaluate` its metrics
(:data:`METRIC_COLUMNS`): mAP@1000, mAP@all, mAHP@250 on ``sign(h)``, the same metrics on the continuous
``h`` (and the drop), code statistics.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .data import ExperimentData

__all__ = ["PROTOCOLS", "METRIC_COLUMNS", "protocol_indices", "evaluate"]

PROTOCOLS = ("train_db", "test_vs_test", "zs_unseen", "zs_mixed")
METRIC_COLUMNS = ("map@1000", "map@all", "mahp@250", "cont_map@1000", "cont_mahp@250", "drop_map@1000",
                  "drop_mahp@250", "near_zero", "quant_error", "bit_balance", "code_entropy", "bit_corr")


def protocol_indices(protocol: str, data: ExperimentData, train_classes: Sequence[int] | None = None
                     ) -> tuple[str, np.ndarray, str, np.ndarray, bool]:
    """``(query_split, query_rows, db_split, db_rows, exclude_self)`` of a retrieval protocol (module docstring)."""
    n_tr, n_te = len(data.x_train), len(data.x_test)
    if protocol == "train_db":
        return "test", np.arange(n_te), "train", np.arange(n_tr), False
    if protocol == "test_vs_test":
        return "test", np.arange(n_te), "test", np.arange(n_te), True
    if protocol in ("zs_unseen", "zs_mixed"):
        if train_classes is None or data.y_train is None:
            raise ValueError(f"protocol {protocol!r} needs labelled data and config.train_classes (the seen classes)")
        seen = np.asarray(train_classes)
        q = np.flatnonzero(~np.isin(data.y_test.numpy(), seen))
        db = np.flatnonzero(~np.isin(data.y_train.numpy(), seen)) if protocol == "zs_unseen" else np.arange(n_tr)
        if len(q) == 0 or len(db) == 0:
            raise ValueError(f"protocol {protocol!r}: no unseen-class images (train_classes covers every class)")
        return "test", q, "train", db, False
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {list(PROTOCOLS)}")


def evaluate(h_query: np.ndarray, h_db: np.ndarray, data: ExperimentData, q_rows: np.ndarray, q_split: str,
             db_rows: np.ndarray, db_split: str, exclude_self: bool = False, continuous_rank: str = "euclidean",
             k_map: int = 1000, k_mahp: int = 250, class_similarity: Any = None) -> dict:
    """Retrieval metrics of one protocol: ``map@1000``, ``map@all``, ``mahp@250`` on ``sign(h)`` (Hamming
    ranking, ties by database index), ``cont_*`` the same metrics ranking by ``continuous_rank`` distance on
    ``h`` itself, ``drop_*`` = continuous - binary (the information lost by rounding, ``docs/paper.md``
    §5.3), and code statistics of the query outputs (``near_zero`` = share of |h| < 0.1, ``quant_error`` =
    mean (h - sign h)^2, ``bit_balance``, ``code_entropy``, ``bit_corr`` = mean |off-diagonal Pearson
    correlation| of the bits). mAHP uses ``class_similarity`` (C x C) when
    given, else the data's own (the training targets). Caption data (no labels): mAP is NaN and mAHP uses the
    per-pair sentence similarity (1 + cos) / 2 of the target embeddings. ``k`` is capped at the database size."""
    from .. import metrics
    from ..codes import code_statistics

    out: dict[str, float] = {}
    labels = data.y_train is not None
    if labels:
        ql = (data.y_test if q_split == "test" else data.y_train).numpy()[q_rows]
        dbl = (data.y_test if db_split == "test" else data.y_train).numpy()[db_rows]
        S = data.class_similarity if class_similarity is None else class_similarity
        hier = dict(class_similarity=np.asarray(S, dtype=np.float64))
    else:
        from ..targets import cosine_to_similarity

        qe = (data.test_embeddings if q_split == "test" else data.train_embeddings)[q_rows]
        de = (data.test_embeddings if db_split == "test" else data.train_embeddings)[db_rows]
        pair = cosine_to_similarity((qe @ de.T).clamp(-1.0, 1.0)).double().numpy()
        ql = dbl = None
        hier = dict(pair_similarity=pair)
    k_map_eff = min(k_map, len(db_rows) - int(exclude_self))
    k_hp_eff = min(k_mahp, len(db_rows) - int(exclude_self))
    for prefix, rank in (("", "hamming"), ("cont_", continuous_rank)):
        # one ranking pass per ranking gives every metric of it (semhash_lib.metrics.retrieval_scores)
        scores = metrics.retrieval_scores(h_query, h_db, ql, dbl, k_map=k_map_eff if labels else None,
                                          k_mahp=k_hp_eff, map_all=labels and prefix == "",
                                          exclude_self=exclude_self, rank=rank, **hier)
        out[f"{prefix}map@{k_map}"] = scores.get(f"map@{k_map_eff}", float("nan"))
        if prefix == "":
            out["map@all"] = scores.get("map@all", float("nan"))
        out[f"{prefix}mahp@{k_mahp}"] = scores[f"mahp@{k_hp_eff}"]
    out[f"drop_map@{k_map}"] = out[f"cont_map@{k_map}"] - out[f"map@{k_map}"]
    out[f"drop_mahp@{k_mahp}"] = out[f"cont_mahp@{k_mahp}"] - out[f"mahp@{k_mahp}"]
    stats = code_statistics(h_query)
    out.update(near_zero=float(stats["near_zero"][0.1]), quant_error=float(stats["quantization_mse"]),
               bit_balance=float(stats["bit_balance"]), code_entropy=float(stats["code_entropy"]),
               bit_corr=float(np.abs(stats["bit_correlation"][~np.eye(h_query.shape[1], dtype=bool)]).mean())
               if h_query.shape[1] > 1 else 0.0)
    return out
