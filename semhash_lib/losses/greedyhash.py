"""GreedyHash (Su, Zhang, Han & Tian, NeurIPS 2018), baseline.

Supervised objective (their Eq. 8-9): the hash layer outputs b = sign(h) in the forward pass and passes
gradients straight through (dL/dh = dL/db); a linear classifier on b is trained with cross-entropy, and
a penalty keeps h near ±1:

    L = CE(W b, y) + α ‖ |h| − 1 ‖_p^p,   p = 3

The straight-through sign lives in the model (``HashingNetwork(activation="sign_ste")``: the classifier
sees sign(h), ``h`` is returned pre-sign); this loss receives the classifier logits and ``h``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from ._checks import validate_batch

__all__ = ["GreedyHashLoss"]


class GreedyHashLoss(nn.Module):
    r"""``forward(h, logits, labels, target_distance) -> (total, {"ce", "penalty"})``; needs labels and logits.

    .. math::
        \mathcal L = \mathrm{CE}(\text{logits}, y) + \alpha\,\frac{1}{BK}\sum_{i,k}\big||h_{ik}| - 1\big|^{p}

    (the penalty's sum averaged over samples and bits). ``alpha`` = 0.1 (the authors' CIFAR setting;
    1 for ImageNet), ``p`` = 3. ``target_distance`` is ignored.
    """

    def __init__(self, alpha: float = 0.1, p: float = 3.0):
        super().__init__()
        self.alpha, self.p = float(alpha), float(p)

    def forward(self, h, logits, labels, target_distance):
        if logits is None or labels is None:
            raise ValueError("GreedyHash needs classifier logits and class labels (build the model with "
                             "num_classes and activation='sign_ste')")
        validate_batch(h, logits=logits, labels=labels)
        ce = F.cross_entropy(logits, labels)
        penalty = (h.abs() - 1).abs().pow(self.p).mean()
        total = ce + self.alpha * penalty
        return total, {"ce": ce.detach(), "penalty": penalty.detach()}
