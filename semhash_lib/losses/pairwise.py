"""Pairwise helpers shared by the losses: off-diagonal means and label -> pair similarity.

The pairwise baselines (DSH, DPSH, HashNet) need a binary similarity s_ij per pair of a batch. With
class labels it is the published rule s_ij = 1[y_i = y_j]. Caption data has no labels, only the target
distance matrix T (``semhash_lib.targets.pairwise_targets``, T in [0, 1], 0 = identical meaning); then
s_ij = 1[T_ij <= threshold] (**reconstruction**: the baselines' papers only define label similarity).
The default threshold 0.25 means cosine >= 0.5 under the default sentence mapping T = (1 - cos) / 2.
"""

from __future__ import annotations

import torch


__all__ = ["off_diagonal_mask", "off_diagonal_mean", "same_class", "pair_similarity", "DEFAULT_SIMILARITY_THRESHOLD"]

DEFAULT_SIMILARITY_THRESHOLD = 0.25


def off_diagonal_mask(batch: int, device=None) -> torch.Tensor:
    """Boolean (B, B) mask, True for i != j."""
    return ~torch.eye(batch, dtype=torch.bool, device=device)


def off_diagonal_mean(m: torch.Tensor) -> torch.Tensor:
    """Mean of a (B, B) matrix over the B(B - 1) entries with i != j (B >= 2)."""
    b = m.shape[-1]
    return (m.sum(dim=(-2, -1)) - m.diagonal(dim1=-2, dim2=-1).sum(-1)) / (b * (b - 1))


def same_class(labels: torch.Tensor) -> torch.Tensor:
    """Float (B, B) matrix s_ij = 1 if labels[i] == labels[j] else 0."""
    return (labels[:, None] == labels[None, :]).float()


def pair_similarity(labels: torch.Tensor | None, target_distance: torch.Tensor | None, batch: int,
                    threshold: float = DEFAULT_SIMILARITY_THRESHOLD) -> torch.Tensor:
    """Binary pair similarity (B, B) float: from ``labels`` when given, else ``target_distance <= threshold``.

    Raises ``ValueError`` when both are None or their shapes do not match the batch (values are checked
    by the calling loss, :func:`semhash_lib.losses._checks.validate_batch`).
    """
    if labels is not None:
        if labels.shape != (batch,):
            raise ValueError(f"labels must have shape ({batch},) to match the batch, got {tuple(labels.shape)}")
        return same_class(labels)
    if target_distance is None:
        raise ValueError("a pairwise loss needs class labels or a target_distance matrix; both are None")
    if target_distance.shape != (batch, batch):
        raise ValueError(f"target_distance must be ({batch}, {batch}) to match the batch of codes, got "
                         f"{tuple(target_distance.shape)}")
    return (target_distance <= threshold).float()
