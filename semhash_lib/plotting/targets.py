"""Figures of the semantic targets: similarity heatmaps in tree order, the class tree, value histograms."""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["tree_order", "plot_similarity_heatmap", "plot_class_tree", "plot_similarity_scatter"]


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
    fontsize = 9 if n <= 20 else 5
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


def plot_similarity_scatter(a: np.ndarray, b: np.ndarray, xlabel: str, ylabel: str, ax=None, title: str | None = None):
    """Scatter of two similarity matrices' off-diagonal entries, with their Spearman rank correlation."""
    import matplotlib.pyplot as plt
    from scipy.stats import spearmanr

    off = ~np.eye(len(a), dtype=bool)
    x, y = np.asarray(a)[off], np.asarray(b)[off]
    rho = spearmanr(x, y).correlation
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4))
    else:
        fig = ax.figure
    ax.scatter(x + np.random.default_rng(0).normal(0, 0.004, len(x)), y, s=3, alpha=0.25)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"Spearman ρ = {rho:.3f}")
    ax.grid(alpha=0.3)
    return fig
