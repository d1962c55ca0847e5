"""Retrieval metrics for hash codes (paper §5): mAP@k, precision@k curves, hierarchical precision (hP@k,
AHP@k, mAHP@k) and code statistics.

- :mod:`semhash_lib.metrics.precision` — class relevance: ``mean_average_precision``, ``precision_curve``.
- :mod:`semhash_lib.metrics.hierarchical` — graded similarity: ``mean_average_hierarchical_precision``,
  ``hierarchical_precision_curve``.
- :mod:`semhash_lib.metrics.scores` — ``retrieval_scores``: mAP@k, mAP@all and mAHP@k from one ranking pass.
- :mod:`semhash_lib.codes` — ``code_statistics``, ``histogram`` (re-exported here).

All metrics rank the database with :mod:`semhash_lib.retrieval` (exact Hamming ranking, ties by database
index unless ``ties="average"``), chunked over queries so memory stays bounded.
"""

from ..codes import code_statistics, histogram
from .hierarchical import (INTEGRATIONS, average_hierarchical_precision, hierarchical_precision_at_k,
                           hierarchical_precision_curve, mean_average_hierarchical_precision)
from .precision import average_precision, mean_average_precision, precision_at_k, precision_curve
from .scores import retrieval_scores

__all__ = [
    "mean_average_precision", "average_precision", "precision_at_k", "precision_curve",
    "mean_average_hierarchical_precision", "average_hierarchical_precision", "hierarchical_precision_curve",
    "hierarchical_precision_at_k", "INTEGRATIONS", "code_statistics", "histogram", "retrieval_scores",
]
