"""DSH: Deep Supervised Hashing (Liu, Wang, Shan & Chen, CVPR 2016), baseline.

Published pair loss (their Eq. 5), for relaxed codes b_1, b_2 in R^K and y = 0 (similar) / 1 (dissimilar):

    L(b1, b2, y) = ½(1 − y)‖b1 − b2‖² + ½ y max(m − ‖b1 − b2‖², 0) + α(‖|b1| − 1‖₁ + ‖|b2| − 1‖₁)

with margin m = 2K and α = 0.01; training pairs are all pairs of a mini-batch. The network output is
linear (no tanh): use the ``"none"`` activation.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import validate_batch
from .pairwise import DEFAULT_SIMILARITY_THRESHOLD, off_diagonal_mean, pair_similarity

__all__ = ["DSHLoss"]


class DSHLoss(nn.Module):
    r"""``forward(h, logits, labels, target_distance) -> (total, {"pair", "reg"})``.

    With s_ij = 1 for similar pairs (``1 - y`` above) and D_ij = ‖h_i − h_j‖²:

    .. math::
        \mathcal L = \frac{1}{B(B-1)}\sum_{i\ne j}\Big[\tfrac12 s_{ij}D_{ij}
        + \tfrac12(1-s_{ij})\max(m - D_{ij}, 0)\Big] + 2\alpha\,\frac1B\sum_i\big\||h_i| - 1\big\|_1

    The mean over all ordered pairs equals the mean over unordered pairs; each pair's regulariser covers
    both its codes, which averages to 2α times the per-sample L1 term. ``margin`` defaults to 2K.
    s_ij from labels (same class) or, without labels, ``target_distance <= similarity_threshold``.
    """

    def __init__(self, bits: int, margin: float | None = None, alpha: float = 0.01,
                 similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD):
        super().__init__()
        if bits <= 0:
            raise ValueError(f"bits must be positive, got {bits}")
        self.bits = int(bits)
        self.margin = float(2 * bits if margin is None else margin)
        self.alpha = float(alpha)
        self.similarity_threshold = float(similarity_threshold)

    def forward(self, h, logits, labels, target_distance):
        validate_batch(h, min_batch=2, bits=self.bits, labels=labels,
                       target_distance=target_distance if labels is None else None)
        s = pair_similarity(labels, target_distance, h.shape[0], self.similarity_threshold).to(h.dtype)
        sq = torch.cdist(h, h, compute_mode="donot_use_mm_for_euclid_dist").pow(2)
        pair = off_diagonal_mean(0.5 * s * sq + 0.5 * (1 - s) * (self.margin - sq).clamp_min(0))
        reg = (h.abs() - 1).abs().sum(dim=1).mean()
        total = pair + 2 * self.alpha * reg
        return total, {"pair": pair.detach(), "reg": reg.detach()}
