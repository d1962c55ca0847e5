"""Figures of the semantic targets (``docs/paper.md`` §4.3): similarity heatmaps in tree order, the class tree,
scatter plots and histograms of similarity values, and the multi-panel figures of notebooks 01 and 02."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

__all__ = ["tree_order", "plot_similarity_heatmap", "plot_class_tree", "plot_similarity_scatter",
           "plot_similarity_histograms", "plot_similarity_heatmaps", "plot_similarity_scatters",
           "plot_hierarchy_comparison", "plot_caption_similarity"]


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


def _label_every(names: Sequence[str]) -> int:
    """Every how many classes a heatmap axis is labelled in the multi-panel figures (about 25 labels)."""
    return max(1, len(names) // 25)


def plot_similarity_heatmaps(matrices: Mapping[str, np.ndarray], names: Sequence[str], order: np.ndarray | None = None,
                             panel_size: tuple[float, float] = (7.0, 6.5)):
    """One :func:`plot_similarity_heatmap` panel per entry ``title -> C x C similarity``, side by side, all in
    the same class ``order`` (default: the tree order of the first matrix), so their blocks can be compared.
    Returns the Figure."""
    import matplotlib.pyplot as plt

    if not matrices:
        raise ValueError("plot_similarity_heatmaps: no matrices given")
    first = next(iter(matrices.values()))
    order = tree_order(first) if order is None else order
    fig, axes = plt.subplots(1, len(matrices), figsize=(panel_size[0] * len(matrices), panel_size[1]), squeeze=False)
    for ax, (title, S) in zip(axes[0], matrices.items()):
        plot_similarity_heatmap(S, names, order, ax=ax, title=title, label_every=_label_every(names))
    fig.tight_layout()
    return fig


def plot_similarity_scatters(pairs: Sequence[tuple[np.ndarray, np.ndarray, str, str]],
                             panel_size: tuple[float, float] = (5.0, 4.2)):
    """One :func:`plot_similarity_scatter` panel (with its Spearman ρ) per ``(a, b, xlabel, ylabel)``, side by
    side. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not pairs:
        raise ValueError("plot_similarity_scatters: no pairs given")
    fig, axes = plt.subplots(1, len(pairs), figsize=(panel_size[0] * len(pairs), panel_size[1]), squeeze=False)
    for ax, (a, b, xlabel, ylabel) in zip(axes[0], pairs):
        plot_similarity_scatter(a, b, xlabel, ylabel, ax=ax)
    fig.tight_layout()
    return fig


def plot_hierarchy_comparison(S_a: np.ndarray, S_b: np.ndarray, names: Sequence[str], order: np.ndarray | None = None,
                              titles: tuple[str, str] = ("WordNet tree (ours)", "Barz & Denzler tree (same order)"),
                              labels: tuple[str, str] = ("s on the WordNet tree", "s on Barz & Denzler's tree")):
    """Two class similarities side by side in the same ``order`` (default: the tree order of ``S_a``), and the
    scatter of their class pairs with its Spearman ρ (:func:`plot_similarity_scatter`). Returns the Figure."""
    import matplotlib.pyplot as plt

    order = tree_order(S_a) if order is None else order
    fig, axes = plt.subplots(1, 3, figsize=(19, 6), gridspec_kw=dict(width_ratios=[1, 1, 0.75]))
    plot_similarity_heatmap(S_a, names, order, ax=axes[0], title=titles[0], label_every=_label_every(names))
    plot_similarity_heatmap(S_b, names, order, ax=axes[1], title=titles[1], label_every=_label_every(names))
    plot_similarity_scatter(S_a, S_b, labels[0], labels[1], ax=axes[2])
    fig.tight_layout()
    return fig


def plot_caption_similarity(S_items: np.ndarray, S_by_mapping: Mapping[str, np.ndarray], mapping: str = "linear",
                            items_label: str = "coco-mini", captions_label: str = "Conceptual Captions",
                            short_label: str = "CC"):
    """Caption targets in three panels: the N x N similarity of the captioned images ``S_items`` (rows and
    columns in the order of its own dendrogram, :func:`tree_order`); the value histograms of ``S_items`` and
    of the caption similarity ``S_by_mapping[mapping]``; and the histograms of ``S_by_mapping`` under each
    cosine → [0, 1] mapping (``docs/paper.md`` §4.3: linear, angular, clip). Returns the Figure."""
    import matplotlib.pyplot as plt

    S_items = np.asarray(S_items)
    fig, axes = plt.subplots(1, 3, figsize=(19, 5.2), gridspec_kw=dict(width_ratios=[1.1, 1, 1]))
    order = tree_order(S_items)
    im = axes[0].imshow(S_items[np.ix_(order, order)], vmin=0, vmax=1, cmap="viridis")
    fig.colorbar(im, ax=axes[0], shrink=0.8, label="similarity s")
    axes[0].set_title(f"{items_label}: {len(S_items)} images (captions, {mapping}), clustered")
    axes[0].set_xlabel("image")
    axes[0].set_ylabel("image")
    plot_similarity_histograms({items_label: S_items, captions_label: S_by_mapping[mapping]}, ax=axes[1],
                               title=f"caption similarity ({mapping} mapping)")
    plot_similarity_histograms({f"{short_label}, {m}": S for m, S in S_by_mapping.items()}, ax=axes[2],
                               title=f"{captions_label}: the three mappings")
    fig.tight_layout()
    return fig
