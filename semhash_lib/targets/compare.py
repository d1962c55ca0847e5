"""Agreement between two class (or item) similarity matrices, e.g. the WordNet tree vs Barz & Denzler's tree,
or WordNet vs sentence similarity (notebooks 01 and 02), and the tables those notebooks show.

Tree similarities take few distinct values (one per LCA height), so the measures here are tie-aware.
The similarities themselves are reconstructions (``docs/paper.md`` §4.3).

- :func:`rank_agreement`, :func:`neighbour_sets`, :func:`neighbour_overlap`, :func:`describe_neighbours`;
- :func:`agreement_table` (pairs of named matrices), :func:`compare_hierarchies` (the class trees against
  Barz & Denzler's), :func:`similarity_value_summary` (distribution of the pair values);
- :func:`neighbour_table`, :func:`neighbour_disagreements`, :func:`nearest_texts` (nearest items as text).
"""

from __future__ import annotations

from itertools import combinations
from typing import Mapping, Sequence

import numpy as np

__all__ = ["rank_agreement", "neighbour_sets", "neighbour_overlap", "describe_neighbours", "agreement_table",
           "compare_hierarchies", "similarity_value_summary", "neighbour_table", "neighbour_disagreements",
           "nearest_texts"]


def _check_pair(Sa, Sb) -> tuple[np.ndarray, np.ndarray]:
    Sa, Sb = np.asarray(Sa, dtype=np.float64), np.asarray(Sb, dtype=np.float64)
    if Sa.ndim != 2 or Sa.shape[0] != Sa.shape[1] or Sa.shape != Sb.shape:
        raise ValueError(f"need two square matrices of the same shape, got {Sa.shape} and {Sb.shape}")
    if len(Sa) < 3:
        raise ValueError(f"need at least 3 items to compare similarities, got {len(Sa)}")
    return Sa, Sb


def rank_agreement(Sa, Sb) -> dict[str, float]:
    """Rank agreement of the off-diagonal upper-triangle entries (each unordered pair once):
    Spearman's ρ and Kendall's τ-b (both tie-corrected, scipy), and the Pearson correlation."""
    from scipy.stats import kendalltau, pearsonr, spearmanr

    Sa, Sb = _check_pair(Sa, Sb)
    iu = np.triu_indices(len(Sa), k=1)
    a, b = Sa[iu], Sb[iu]
    return {"spearman": float(spearmanr(a, b).correlation), "kendall_tau_b": float(kendalltau(a, b).correlation),
            "pearson": float(pearsonr(a, b)[0]), "pairs": int(len(a))}


def neighbour_sets(S, k: int = 5) -> np.ndarray:
    """Boolean (N, N) matrix: ``M[i, j]`` is True when j ≠ i and ``S[i, j]`` ≥ the k-th largest of row i
    without the diagonal (the tie-inclusive k nearest neighbours; may hold more than k when values tie)."""
    S = np.asarray(S, dtype=np.float64)
    N = len(S)
    if not 1 <= k < N:
        raise ValueError(f"k must lie in [1, {N - 1}] for {N} items, got {k}")
    off = S.copy()
    np.fill_diagonal(off, -np.inf)
    kth = -np.partition(-off, k - 1, axis=1)[:, k - 1]
    return off >= kth[:, None]


def neighbour_overlap(Sa, Sb, k: int = 5) -> np.ndarray:
    """Per item i, the Jaccard index |A_i ∩ B_i| / |A_i ∪ B_i| of its tie-inclusive k-nearest-neighbour
    sets under the two similarities (1 = same neighbours, 0 = none shared)."""
    Sa, Sb = _check_pair(Sa, Sb)
    A, B = neighbour_sets(Sa, k), neighbour_sets(Sb, k)
    return (A & B).sum(1) / (A | B).sum(1)


def describe_neighbours(S, names, index: int, n: int = 3) -> str:
    """The ``n`` most similar items to item ``index`` as ``"name s, name s, ..."``, and how many more items tie
    with the n-th value (``"(+k tied)"``): tree similarities tie a lot, and a tie's order means nothing."""
    S = np.asarray(S, dtype=np.float64)
    if not 0 <= index < len(S):
        raise ValueError(f"index must lie in [0, {len(S) - 1}], got {index}")
    row = S[index].copy()
    row[index] = -np.inf
    top = np.argsort(-row, kind="stable")[:n]
    text = ", ".join(f"{names[j]} {row[j]:.2f}" for j in top)
    extra = int((row == row[top[-1]]).sum()) - int((row[top] == row[top[-1]]).sum())
    return text + (f" (+{extra} tied)" if extra else "")


def agreement_table(matrices: Mapping[str, np.ndarray], pairs: Sequence[tuple[str, str]] | None = None, k: int = 5):
    """One row ``"<a> vs <b>"`` per pair of named similarity matrices (default: every pair, in the order of
    ``matrices``) with :func:`rank_agreement` (``spearman``, ``kendall_tau_b``, ``pearson``, ``pairs``) and
    ``mean <k>-NN Jaccard``, the mean of :func:`neighbour_overlap`. Returns a ``pandas.DataFrame``."""
    import pandas as pd

    rows = {}
    for a, b in (pairs if pairs is not None else combinations(matrices, 2)):
        r = rank_agreement(matrices[a], matrices[b])
        r[f"mean {k}-NN Jaccard"] = neighbour_overlap(matrices[a], matrices[b], k).mean()
        rows[f"{a} vs {b}"] = r
    return pd.DataFrame(rows).T.astype({"pairs": int})


def compare_hierarchies(dataset: str = "cifar100", k: int = 5, reference: str = "barz",
                        measure: str = "lca_height"):
    """Every class tree of :data:`~semhash_lib.targets.HIERARCHIES` (``wordnet``, ``wordnet_collapsed``,
    ``barz``) of ``dataset``: its number of nodes and height, and for each tree other than ``reference`` the
    agreement of its ``measure`` similarity with the reference tree's (:func:`rank_agreement` without
    ``pairs``, and the mean tie-inclusive ``k``-NN Jaccard overlap). Returns a ``pandas.DataFrame`` indexed by
    ``tree``, columns ``nodes``, ``height``, ``vs <reference>: spearman`` / ``kendall_tau_b`` / ``pearson`` /
    ``mean <k>-NN Jaccard`` (empty for the reference's own row)."""
    import pandas as pd

    from .wordnet_similarity import HIERARCHIES, class_hierarchy, wordnet_similarity

    trees = {h: class_hierarchy(dataset, h) for h in HIERARCHIES}
    sims = {h: wordnet_similarity(dataset, measure=measure, hierarchy=h)[1] for h in HIERARCHIES}
    rows = []
    for h, t in trees.items():
        row = {"tree": h, "nodes": len(t.parent) + 1, "height": t.height()}
        if h != reference:
            row.update({f"vs {reference}: {key}": v for key, v in rank_agreement(sims[h], sims[reference]).items()
                        if key != "pairs"})
            row[f"vs {reference}: mean {k}-NN Jaccard"] = neighbour_overlap(sims[h], sims[reference], k).mean()
        rows.append(row)
    return pd.DataFrame(rows).set_index("tree")


def similarity_value_summary(matrices: Mapping[str, np.ndarray]):
    """The distribution of the off-diagonal values (upper triangle, each pair once) of each named matrix:
    ``pandas.Series.describe`` (count, mean, std, min, quartiles, max) and the number of ``distinct values``,
    one row per matrix. Returns a ``pandas.DataFrame``."""
    import pandas as pd

    def pairs(M):
        M = np.asarray(M)
        return M[np.triu_indices(len(M), k=1)]

    summary = pd.DataFrame({name: pd.Series(pairs(M)).describe() for name, M in matrices.items()}).T
    summary["distinct values"] = [len(np.unique(pairs(M))) for M in matrices.values()]
    return summary


def neighbour_table(names: Sequence[str], items: Sequence[int], columns: Mapping[str, np.ndarray], n: int = 3):
    """For each item index in ``items``: its name (column ``class``) and, per ``column name -> similarity``,
    its :func:`describe_neighbours` (the ``n`` most similar items and their ties). Returns a
    ``pandas.DataFrame``."""
    import pandas as pd

    return pd.DataFrame({"class": [names[i] for i in items],
                         **{col: [describe_neighbours(S, names, i, n) for i in items] for col, S in columns.items()}})


def neighbour_disagreements(Sa, Sb, names: Sequence[str], k: int = 5, n_items: int = 12,
                            labels: tuple[str, str] = ("WordNet tree", "Barz tree")):
    """The ``n_items`` items whose nearest neighbours differ most between two similarities: lowest
    :func:`neighbour_overlap` first (ties by index), with columns ``class``, ``<k>-NN Jaccard`` (rounded to 2
    decimals) and ``nearest on <label>`` for each (:func:`describe_neighbours`). Returns a ``pandas.DataFrame``."""
    overlap = neighbour_overlap(Sa, Sb, k)
    worst = np.argsort(overlap, kind="stable")[:n_items]
    table = neighbour_table(names, worst, {f"nearest on {labels[0]}": Sa, f"nearest on {labels[1]}": Sb})
    table.insert(1, f"{k}-NN Jaccard", overlap[worst].round(2))
    return table


def nearest_texts(S, texts: Sequence[str], n_queries: int = 3, k: int = 3):
    """The ``k`` nearest texts of each of the first ``n_queries`` texts under the similarity ``S`` (the query
    itself left out, ties by index): rows ``query`` (on its first row only), ``neighbour`` and ``s`` (3
    decimals). Returns a ``pandas.DataFrame``."""
    import pandas as pd

    S = np.asarray(S)
    rows = []
    for i in range(min(n_queries, len(texts))):
        row = S[i].copy()
        row[i] = -np.inf
        for rank, j in enumerate(np.argsort(-row, kind="stable")[:k]):
            rows.append({"query": texts[i] if rank == 0 else "", "neighbour": texts[j], "s": round(float(S[i, j]), 3)})
    return pd.DataFrame(rows)
