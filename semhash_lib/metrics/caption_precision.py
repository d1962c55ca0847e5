"""Caption-level precision for image–caption retrieval without classes (Conceptual Captions).

mAHP with caption similarity (:mod:`.hierarchical`, ``pair_similarity``) grades every retrieved image by how
similar its caption is to the query's. The caption-level precision counts instead how many of the top k are
*relevant*, relevance meaning that the two captions say nearly the same thing. For a query q with caption
embedding e_q (L2-normalised) and its Hamming ranking r_1, r_2, ... of the database (ties by database index),

    P_cap@k(q) = (1/k) · |{ i <= k : cos(e_q, e_{r_i}) >= tau }|,       mean P_cap@k = mean over the queries,

with the default tau = 0.5 on all-MiniLM-L6-v2 embeddings (unrelated captions score about 0-0.2, captions of
the same scene or topic about 0.5 and more). The paper's relevance rule for captions is unknown
(``docs/paper.md`` §5.1: a graded caption-similarity mAHP is the natural generalisation, a thresholded
precision the plain-precision counterpart); tau and k are parameters, reported with the number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..retrieval import map_ranked_chunks
from ._common import n_codes

__all__ = ["caption_precision", "CAPTION_THRESHOLD"]

CAPTION_THRESHOLD = 0.5


def caption_precision(query_codes: Any, db_codes: Any, query_embeddings: Any, db_embeddings: Any, k: int = 100,
                      threshold: float = CAPTION_THRESHOLD, exclude_self: bool = False, rank: str = "hamming"
                      ) -> float:
    """Mean caption-level precision P_cap@k (module docstring) of ``query_codes`` against ``db_codes``.

    Codes as for the other metrics (±1 / real / packed; ``rank="euclidean"`` ranks real outputs instead);
    embeddings (Q, D) and (N, D) float, L2-normalised (as :func:`semhash_lib.targets.embed_texts` returns them),
    so that their dot product is the cosine. ``k`` is capped at the database size (minus one with
    ``exclude_self``, where query i is database item i and left out of its ranking)."""
    qe = np.asarray(query_embeddings.numpy() if hasattr(query_embeddings, "numpy") else query_embeddings,
                    dtype=np.float32)
    de = np.asarray(db_embeddings.numpy() if hasattr(db_embeddings, "numpy") else db_embeddings, dtype=np.float32)
    if qe.ndim != 2 or de.ndim != 2 or qe.shape[1] != de.shape[1]:
        raise ValueError(f"embeddings must be (Q, D) and (N, D) with the same D, got {qe.shape} and {de.shape}")
    if (n_codes(query_codes, "query_codes"), n_codes(db_codes, "db_codes")) != (len(qe), len(de)):
        raise ValueError(f"{len(qe)} query / {len(de)} database embeddings for {n_codes(query_codes, 'query_codes')} "
                         f"query / {n_codes(db_codes, 'db_codes')} database codes; give one embedding per code")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise ValueError(f"k must be a positive int, got {k!r}")
    if not -1.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold is a cosine in [-1, 1], got {threshold!r}")
    kk = int(min(k, len(de) - int(exclude_self)))

    def hits(s: int, e: int, dist, idx, rows) -> np.ndarray:
        cos = np.einsum("qd,qkd->qk", qe[s:e], de[idx])
        return (cos >= threshold).mean(axis=1)

    parts = map_ranked_chunks(query_codes, db_codes, kk, hits, exclude_self=exclude_self, rank=rank)
    return float(np.concatenate(parts).mean())
