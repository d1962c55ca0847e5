"""HashNet: Deep Learning to Hash by Continuation (Cao, Long, Wang & Yu, ICCV 2017), baseline.

Published weighted maximum likelihood (their Eq. 4-6), with codes h_i = tanh(β z_i):

    L = Σ_{s_ij ∈ S} w_ij (log(1 + exp(α⟨h_i, h_j⟩)) − α s_ij ⟨h_i, h_j⟩),
    w_ij = |S| / |S_1| for similar pairs, |S| / |S_0| for dissimilar pairs

(S_1, S_0: the similar / dissimilar pairs; α the adaptive-sigmoid scale, 10/K in the authors' code).
Continuation: training runs in stages with an increasing β, tanh(βz) -> sign(z) (Algorithm 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import validate_batch
from .pairwise import DEFAULT_SIMILARITY_THRESHOLD, off_diagonal_mask, pair_similarity

__all__ = ["HashNetLoss"]


class HashNetLoss(nn.Module):
    r"""``forward(h, logits, labels, target_distance) -> (total, {"likelihood"})`` and ``on_epoch_start``.

    Over the B(B − 1) ordered pairs i != j of the batch, with ℓ_ij = softplus(αh_iᵀh_j) − α s_ij h_iᵀh_j:

    .. math::
        \mathcal L = \frac{1}{|S|}\sum_{i\ne j} w_{ij}\,\ell_{ij}
        = \mathrm{mean}_{s_{ij}=1}\,\ell_{ij} + \mathrm{mean}_{s_{ij}=0}\,\ell_{ij}

    (a group with no pairs in the batch contributes 0). ``alpha`` defaults to 10/K.
    ``on_epoch_start(epoch, model)`` sets ``model.beta = beta0 * (1 + gamma * epoch) ** power`` for the
    ``"scaled_tanh"`` activation: the authors' per-iteration schedule (1 + 0.005 t)^0.5 expressed per
    epoch (**reconstruction**: ``gamma`` = 1 per epoch gives β ≈ 7 after 50 epochs, as their 10,000
    iterations do). s_ij from labels or ``target_distance <= similarity_threshold``.
    """

    def __init__(self, bits: int, alpha: float | None = None, beta0: float = 1.0, gamma: float = 1.0,
                 power: float = 0.5, similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD):
        super().__init__()
        if bits <= 0:
            raise ValueError(f"bits must be positive, got {bits}")
        self.bits = int(bits)
        self.alpha = float(10.0 / bits if alpha is None else alpha)
        self.beta0, self.gamma, self.power = float(beta0), float(gamma), float(power)
        self.similarity_threshold = float(similarity_threshold)

    def beta_at(self, epoch: int) -> float:
        """β for ``epoch`` (0-based): beta0 * (1 + gamma * epoch) ** power."""
        return self.beta0 * (1.0 + self.gamma * epoch) ** self.power

    def on_epoch_start(self, epoch: int, model: nn.Module) -> None:
        """Continuation step: set ``model.beta`` (a :class:`semhash_lib.models.HashingNetwork`)."""
        if not hasattr(model, "beta"):
            raise TypeError(f"HashNet's continuation needs a model with a settable `beta` (HashingNetwork with "
                            f"activation='scaled_tanh'), got {type(model).__name__}")
        model.beta = self.beta_at(epoch)

    def forward(self, h, logits, labels, target_distance):
        validate_batch(h, min_batch=2, bits=self.bits, labels=labels,
                       target_distance=target_distance if labels is None else None)
        b = h.shape[0]
        s = pair_similarity(labels, target_distance, b, self.similarity_threshold).to(h.dtype)
        ip = self.alpha * (h @ h.T)
        loss = F.softplus(ip) - s * ip
        off = off_diagonal_mask(b, h.device).to(h.dtype)
        sim, dis = s * off, (1 - s) * off
        likelihood = ((loss * sim).sum() / sim.sum().clamp_min(1)
                      + (loss * dis).sum() / dis.sum().clamp_min(1))
        return likelihood, {"likelihood": likelihood.detach()}
