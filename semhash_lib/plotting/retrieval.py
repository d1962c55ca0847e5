"""Query images and their Hamming nearest neighbours as an image grid (for teaching).

:func:`plot_retrieval_grid` draws any grid; :func:`plot_class_retrieval` (labelled data: frame colour = the
class similarity s of ``docs/paper.md`` §4.3) and :func:`plot_caption_retrieval` (captioned data: frame
colour = the caption similarity) build it from an ``ExperimentData`` and the ranked database indices;
:func:`thumbnail` shrinks an image for such a grid.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["plot_retrieval_grid", "thumbnail", "plot_class_retrieval", "plot_caption_retrieval"]


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


def thumbnail(img, size: int = 96) -> np.ndarray:
    """A uint8 image (C, H, W) (torch or numpy) resized to (C, size, size) by bilinear interpolation
    (``torch.nn.functional.interpolate``), rounded and clamped to 0..255; returns a uint8 numpy array."""
    import torch
    import torch.nn.functional as F

    img = torch.as_tensor(np.asarray(img) if not isinstance(img, torch.Tensor) else img)
    if img.ndim != 3:
        raise ValueError(f"thumbnail: expected one image (C, H, W), got shape {tuple(img.shape)}")
    small = F.interpolate(img[None].float(), size=(size, size), mode="bilinear")
    return small.round().clamp(0, 255).byte()[0].numpy()


def plot_class_retrieval(data, queries: Sequence[int], dist: np.ndarray, idx: np.ndarray, cell: float = 1.25):
    """Test images ``queries`` of a labelled ``ExperimentData`` and their retrieved training images ``idx``
    (Q, k) at Hamming distances ``dist`` (Q, k): titles are the class names (and the distance), the frame colour
    is the class similarity s(query class, retrieved class) of ``data.class_similarity``, which is what mAHP
    rewards (:func:`plot_retrieval_grid`). Returns the Figure."""
    S = data.class_similarity.numpy()
    yq, ydb = data.y_test.numpy()[queries], data.y_train.numpy()
    names = data.class_names
    sim = S[yq[:, None], ydb[idx]]
    return plot_retrieval_grid(data.images_test[queries], data.images_train[idx],
                               [f"query: {names[c]}" for c in yq],
                               [[f"{names[ydb[j]]} ({d})" for j, d in zip(row, drow)] for row, drow in zip(idx, dist)],
                               sim, cell=cell)


def plot_caption_retrieval(data, queries: Sequence[int], idx: np.ndarray, mapping: str = "linear", size: int = 96,
                           query_chars: int = 40, result_chars: int = 28, cell: float = 1.8):
    """Test images ``queries`` of a captioned ``ExperimentData`` (``meta["captions_test"]`` /
    ``["captions_train"]``, ``test_embeddings`` / ``train_embeddings``) and their retrieved training images
    ``idx`` (Q, k), as :func:`thumbnail` of ``size`` px titled with the start of their first caption. The frame
    colour is the caption similarity s = the cosine of the two items' caption embeddings mapped to [0, 1]
    (:func:`semhash_lib.targets.cosine_to_similarity`, ``mapping="linear"``: s = (1 + cos) / 2, the relevance
    of the caption mAHP; ``docs/paper.md`` §4.3). Returns the Figure."""
    from ..targets import cosine_to_similarity

    queries = list(queries)
    cos = data.test_embeddings[queries] @ data.train_embeddings.T
    sim = np.take_along_axis(np.asarray(cosine_to_similarity(cos, mapping)), np.asarray(idx), axis=1)
    qi = np.stack([thumbnail(data.images_test[i], size) for i in queries])
    ri = np.stack([[thumbnail(data.images_train[j], size) for j in row] for row in idx])
    caps_q = [data.meta["captions_test"][i][0][:query_chars] for i in queries]
    caps_r = [[data.meta["captions_train"][j][0][:result_chars] for j in row] for row in idx]
    return plot_retrieval_grid(qi, ri, caps_q, caps_r, sim, cell=cell)
