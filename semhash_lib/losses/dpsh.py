"""DPSH: Deep Pairwise-Supervised Hashing (Li, Wang & Kang, IJCAI 2016), baseline.

Published objective (their Eq. 5), with network outputs u_i in R^K and codes b_i = sign(u_i):

    L = −Σ_{s_ij ∈ S} (s_ij Θ_ij − log(1 + e^{Θ_ij})) + η Σ_i ‖b_i − u_i‖²,   Θ_ij = ½ u_iᵀ u_j

i.e. the negative log-likelihood of the pairwise labels under p(s_ij = 1) = σ(Θ_ij), plus a quantization
term. Linear outputs (``"none"`` activation).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import validate_batch
from .pairwise import DEFAULT_SIMILARITY_THRESHOLD, off_diagonal_mean, pair_similarity

__all__ = ["DPSHLoss"]


class DPSHLoss(nn.Module):
    r"""``forward(h, logits, labels, target_distance) -> (total, {"likelihood", "quant"})``.

    .. math::
        \mathcal L = \frac{1}{B(B-1)}\sum_{i\ne j}\big[\log(1 + e^{\Theta_{ij}}) - s_{ij}\Theta_{ij}\big]
        + \eta\,\frac1B\sum_i\|\mathrm{sign}(h_i) - h_i\|^2

    computed stably as softplus(Θ) − sΘ. Normalisation (reconstruction): the paper sums over all pairs
    and all samples; here each sum is averaged, so η = 0.1 here corresponds to the paper's η ≈ 10 at a
    batch of about 100. s_ij from labels or ``target_distance <= similarity_threshold``.
    """

    def __init__(self, eta: float = 0.1, similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD):
        super().__init__()
        self.eta = float(eta)
        self.similarity_threshold = float(similarity_threshold)

    def forward(self, h, logits, labels, target_distance):
        validate_batch(h, min_batch=2, labels=labels,
                       target_distance=target_distance if labels is None else None)
        s = pair_similarity(labels, target_distance, h.shape[0], self.similarity_threshold).to(h.dtype)
        theta = 0.5 * (h @ h.T)
        likelihood = off_diagonal_mean(F.softplus(theta) - s * theta)
        b = torch.where(h >= 0, 1.0, -1.0).to(h.dtype)
        quant = (b - h).pow(2).sum(dim=1).mean()
        total = likelihood + self.eta * quant
        return total, {"likelihood": likelihood.detach(), "quant": quant.detach()}
