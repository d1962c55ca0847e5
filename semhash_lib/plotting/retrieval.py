"""Query images and their Hamming nearest neighbours as an image grid (for teaching)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["plot_retrieval_grid"]


def _to_hwc(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[0] in (1, 3):
        img = img.transpose(1, 2, 0)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    return img


def plot_retrieval_grid(query_images: np.ndarray, retrieved_images: np.ndarray, query_titles: Sequence[str],
                        retrieved_titles: Sequence[Sequence[str]], similarity: np.ndarray | None = None,
                        row_labels: Sequence[str] | None = None, cell: float = 1.25):
    """Rows: a query (left) and its top-k retrieved images.

    ``retrieved_images``: (Q, k, C, H, W) or (Q, k, H, W[, C]) uint8; ``similarity``: (Q, k) in [0, 1],
    the semantic similarity of each result to its query, drawn as the frame colour (green = same
    class, through yellow, to red = unrelated). Returns the Figure.
    """
    import matplotlib.pyplot as plt

    q, k = retrieved_images.shape[:2]
    fig, axes = plt.subplots(q, k + 1, figsize=(cell * (k + 1), cell * q * 1.15), squeeze=False)
    cmap = plt.get_cmap("RdYlGn")
    for i in range(q):
        ax = axes[i, 0]
        ax.imshow(_to_hwc(query_images[i]), cmap="gray")
        ax.set_title(query_titles[i], fontsize=7, fontweight="bold")
        if row_labels:
            ax.set_ylabel(row_labels[i], fontsize=7)
        for j in range(k):
            ax = axes[i, j + 1]
            ax.imshow(_to_hwc(retrieved_images[i, j]), cmap="gray")
            ax.set_title(retrieved_titles[i][j], fontsize=6)
            if similarity is not None:
                for spine in ax.spines.values():
                    spine.set_edgecolor(cmap(float(similarity[i, j])))
                    spine.set_linewidth(3)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig
