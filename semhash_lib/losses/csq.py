"""CSQ: Central Similarity Quantization (Yuan, Wang, Zhang, Tay, Jie, Liu & Feng, CVPR 2020), baseline.

Each class c gets a fixed hash centre c_c in {-1, +1}^K, far apart in Hamming distance (their Algorithm 1):
if K is a power of 2 and C <= 2K, the centres are the first C rows of [H_K; -H_K] (H_K the Sylvester
Hadamard matrix, rows pairwise K/2 apart); otherwise each centre bit is drawn i.i.d. Bernoulli(1/2)
(expected pairwise distance K/2). Loss (their Eq. 4-7), with h = tanh outputs in (-1, 1):

    L = L_C + λ L_Q,
    L_C = (1/K) Σ_k −[c'_k log h'_k + (1 − c'_k) log(1 − h'_k)],  h' = (h + 1)/2, c' = (c + 1)/2,
    L_Q = Σ_k log cosh(|h_k| − 1)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy.linalg import hadamard
from torch import nn

from ._checks import validate_batch

__all__ = ["CSQLoss", "hash_centers"]


def _is_power_of_two(k: int) -> bool:
    return k >= 1 and k & (k - 1) == 0


def hash_centers(num_classes: int, bits: int, seed: int = 0, tries: int = 20) -> torch.Tensor:
    """CSQ hash centres, float (num_classes, bits) in {-1, +1} (Yuan et al. 2020, Algorithm 1).

    Hadamard rows of [H_K; -H_K] when ``bits`` is a power of 2 and ``num_classes <= 2 * bits``;
    otherwise i.i.d. fair random bits from ``numpy.random.default_rng(seed)``, drawn ``tries`` times
    keeping the set with the largest minimum pairwise Hamming distance (the authors' released code
    resamples until the minimum distance exceeds K/4; keeping the best of a fixed number of draws is the
    deterministic form of that check, **reconstruction**).
    """
    if num_classes < 1 or bits < 1:
        raise ValueError(f"need num_classes >= 1 and bits >= 1, got {num_classes}, {bits}")
    if _is_power_of_two(bits) and num_classes <= 2 * bits:
        h = hadamard(bits)
        return torch.from_numpy(np.concatenate([h, -h])[:num_classes].astype(np.float32))
    rng = np.random.default_rng(seed)
    best, best_min = None, -1
    for _ in range(max(1, tries)):
        c = rng.integers(0, 2, size=(num_classes, bits)) * 2 - 1
        if num_classes == 1:
            return torch.from_numpy(c.astype(np.float32))
        dist = (bits - c @ c.T) // 2
        min_dist = dist[~np.eye(num_classes, dtype=bool)].min()
        if min_dist > best_min:
            best, best_min = c, min_dist
    return torch.from_numpy(best.astype(np.float32))


class CSQLoss(nn.Module):
    r"""``forward(h, logits, labels, target_distance) -> (total, {"center", "quant"})``; needs labels.

    .. math::
        \mathcal L = \frac{1}{BK}\sum_{i,k}\mathrm{BCE}\Big(\tfrac{h_{ik}+1}{2}, \tfrac{c_{y_i k}+1}{2}\Big)
        + \lambda\,\frac{1}{BK}\sum_{i,k}\log\cosh(|h_{ik}| - 1)

    (sums of the paper averaged over samples and bits). ``quantization="log_cosh"`` is the paper's L_Q;
    ``"square"`` uses (|h| − 1)^2 as the authors' released code does. ``lambda_q`` = 1e-4 (their code).
    The centres are a buffer (saved with the loss state). ``h`` is clamped to [-1, 1] inside the BCE
    (whose log terms are clamped at -100 by PyTorch), so exact ±1 outputs stay finite.
    """

    def __init__(self, bits: int, num_classes: int, lambda_q: float = 1e-4, quantization: str = "log_cosh",
                 seed: int = 0):
        super().__init__()
        if bits <= 0:
            raise ValueError(f"bits must be positive, got {bits}")
        if num_classes is None or num_classes < 1:
            raise ValueError(f"CSQ needs the number of classes (num_classes >= 1), got {num_classes!r}")
        if quantization not in ("log_cosh", "square"):
            raise ValueError(f"quantization must be 'log_cosh' or 'square', got {quantization!r}")
        self.bits, self.num_classes = int(bits), int(num_classes)
        self.lambda_q, self.quantization = float(lambda_q), quantization
        self.register_buffer("centers", hash_centers(self.num_classes, self.bits, seed=seed))

    def forward(self, h, logits, labels, target_distance):
        if labels is None:
            raise ValueError("CSQ needs class labels (each class has a hash centre); use a pairwise method for "
                             "caption data")
        validate_batch(h, bits=self.bits, labels=labels, num_classes=self.num_classes)
        target = self.centers.to(h.dtype)[labels]
        center = F.binary_cross_entropy((h.clamp(-1, 1) + 1) / 2, (target + 1) / 2)
        dev = h.abs() - 1
        # log cosh(x) = |x| + log1p(exp(-2|x|)) - log 2, stable for large |x|
        quant = (dev.pow(2) if self.quantization == "square"
                 else dev.abs() + torch.log1p(torch.exp(-2 * dev.abs())) - math.log(2.0)).mean()
        total = center + self.lambda_q * quant
        return total, {"center": center.detach(), "quant": quant.detach()}
