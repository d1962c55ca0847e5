"""Figures of the semantic targets: similarity heatmaps in tree order, the class tree, value histograms."""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["tree_order", "plot_similarity_heatmap", "plot_class_tree", "plot_similarity_scatter",
           "plot_similarity_histograms"]


def _linkage(S: np.ndarray):
    from scipy.cluster.hierarchy import linkage
    from scipy.spatial.distance import squareform

    D = 1.0 - np.asarray(S, dtype=np.float64)
    D = (D + D.T) / 2.0
    np.fill_diagonal(D, 0.0)
    # LCA-height distances are ultrametric, so average linkage reproduces the class tree exactly.
    return linkage(squareform(D, checks=False), method="average")


def tree_order(S: np.ndarray) -> np.ndarray:
    """Class order of the dendrogram of the distance 1 − S (groups related classes together)."""
    from scipy.cluster.hierarchy import leaves_list

    return leaves_list(_linkage(S))


def plot_similarity_heatmap(S: np.ndarray, names: Sequence[str], order: np.ndarray | None = None, ax=None,
                            title: str | None = None, label_every: int = 1, cmap: str = "viridis"):
    """Heatmap of a class similarity matrix, rows/columns in ``order`` (default: its own tree order)."""
    import matplotlib.pyplot as plt

    order = tree_order(S) if order is None else np.asarray(order)
    n = len(order)
    if ax is None:
        size = min(14, 3 + 0.11 * n)
        fig, ax = plt.subplots(figsize=(size, size * 0.9))
    else:
        fig = ax.figure
    im = ax.imshow(np.asarray(S)[np.ix_(order, order)], cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ticks = np.arange(0, n, label_every)
    fontsize = 9 if len(ticks) <= 30 else 5
    ax.set_xticks(ticks)
    ax.set_xticklabels([names[order[i]] for i in ticks], rotation=90, fontsize=fontsize)
    ax.set_yticks(ticks)
    ax.set_yticklabels([names[order[i]] for i in ticks], fontsize=fontsize)
    fig.colorbar(im, ax=ax, shrink=0.7, label="similarity s")
    if title:
        ax.set_title(title)
    return fig


def plot_class_tree(S: np.ndarray, names: Sequence[str], ax=None, title: str | None = None):
    """The class hierarchy drawn as a dendrogram of 1 − S (exact for an LCA-height similarity)."""
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram

    if ax is None:
        fig, ax = plt.subplots(figsize=(5, max(4, 0.16 * len(names))))
    else:
        fig = ax.figure
    dendrogram(_linkage(S), labels=list(names), orientation="left", ax=ax, color_threshold=0.5,
               leaf_font_size=9 if len(names) <= 20 else 6)
    ax.set_xlabel("distance 1 − s = height(lca) / height(root)")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_similarity_scatter(a: np.ndarray, b: np.ndarray, xlabel: str, ylabel: str, ax=None, title: str | None = None,
                            max_bubbles: int = 400):
    """Scatter of two similarity matrices' pairs (upper triangle, each pair once) with their Spearman ρ.

    Tree similarities take few distinct values: when there are at most ``max_bubbles`` distinct (a, b)
    points, each is drawn once with its area proportional to the number of pairs there."""
    import matplotlib.pyplot as plt
    from scipy.stats import spearmanr

    iu = np.triu_indices(len(a), k=1)
    x, y = np.asarray(a, dtype=np.float64)[iu], np.asarray(b, dtype=np.float64)[iu]
    rho = spearmanr(x, y).correlation
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4))
    else:
        fig = ax.figure
    points, counts = np.unique(np.round(np.stack([x, y], 1), 6), axis=0, return_counts=True)
    if len(points) <= max_bubbles:
        ax.scatter(points[:, 0], points[:, 1], s=4 + 600 * counts / counts.max(), alpha=0.5, linewidths=0)
        ax.text(0.02, 0.98, "area ∝ number of pairs", transform=ax.transAxes, va="top", fontsize=8)
    else:
        ax.scatter(x, y, s=3, alpha=0.2, linewidths=0, rasterized=True)   # keeps the SVG small
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"Spearman ρ = {rho:.3f}  ({len(x)} pairs)")
    ax.grid(alpha=0.3)
    return fig


def plot_similarity_histograms(matrices: dict, ax=None, bins: int = 40, title: str | None = None,
                               xlabel: str = "similarity s (pairs i ≠ j)"):
    """Overlaid step histograms (fraction of pairs) of the off-diagonal values of named similarity matrices."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.4))
    else:
        fig = ax.figure
    edges = np.linspace(0, 1, bins + 1)
    for label, S in matrices.items():
        S = np.asarray(S)
        vals = S[np.triu_indices(len(S), k=1)]
        ax.hist(vals, bins=edges, weights=np.full(len(vals), 1 / len(vals)), histtype="step", linewidth=1.6,
                label=f"{label} (median {np.median(vals):.2f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of pairs")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig
