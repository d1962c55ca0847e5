"""Agreement between two class (or item) similarity matrices, e.g. the WordNet tree vs Barz & Denzler's tree,
or WordNet vs sentence similarity (notebooks 01 and 02).

Tree similarities take few distinct values (one per LCA height), so the measures here are tie-aware.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rank_agreement", "neighbour_sets", "neighbour_overlap", "describe_neighbours"]


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
