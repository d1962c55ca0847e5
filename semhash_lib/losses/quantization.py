"""The usual quantization penalty || |h| - 1 ||^2, the ablation that replaces the paper's KL term.

Used by many deep-hashing methods (e.g. CSQ's authors' code, DSH with an L1 variant); in this project it
is the ``semhash_quant`` ablation: the paper argues the empirical KL term binarises *and*
spreads the codes, whereas this penalty only binarises.
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import validate_batch

__all__ = ["quantization_penalty", "QuantizationPenalty"]


def quantization_penalty(h: torch.Tensor) -> torch.Tensor:
    r""":math:`\frac{1}{BK}\sum_{i,k}(|h_{ik}| - 1)^2`: the mean squared distance of each output to ±1."""
    validate_batch(h)
    return _quantization(h)


def _quantization(h: torch.Tensor) -> torch.Tensor:
    """:func:`quantization_penalty` without the input check."""
    return (h.abs() - 1).pow(2).mean()


class QuantizationPenalty(nn.Module):
    """:func:`quantization_penalty` with the loss contract ``forward(h, logits, labels, target_distance)``.

    Returns ``(weight * penalty, {"quant": penalty})``; ``logits``, ``labels``, ``target_distance`` are ignored.
    """

    def __init__(self, weight: float = 1.0):
        super().__init__()
        self.weight = float(weight)

    def forward(self, h, logits=None, labels=None, target_distance=None):
        value = quantization_penalty(h)
        return self.weight * value, {"quant": value.detach()}
