"""The paper's total loss: λ_CE·CE + λ_sim·similarity + λ_KL·empirical KL (+ λ_Q·quantization).

Paper (Arponen & Bishop 2020; ``docs/paper.md`` §4.2): "The total loss function includes classification
cross-entropy loss, similarity loss, and KL divergence loss terms." The weights are unknown:
**reconstruction**; the registry's defaults are in :mod:`semhash_lib.methods`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import validate_batch
from .empirical_kl import KL_TARGETS, NU_MODES, _binary_kl
from .quantization import _quantization
from .similarity import CODE_DISTANCES, SIMILARITY_FORMS, _similarity

__all__ = ["SemanticHashingLoss"]


def _check_choices(where: str, options: dict, choices: dict[str, tuple]) -> None:
    """A named option with a fixed set of values must hold one of them (checked when the loss is made)."""
    for key, allowed in choices.items():
        if key in options and options[key] not in allowed:
            raise ValueError(f"{where}[{key!r}] must be one of {list(allowed)}, got {options[key]!r}")


class SemanticHashingLoss(nn.Module):
    r"""``forward(h, logits, labels, target_distance) -> (total, terms)``.

    .. math::
        \mathcal L = \lambda_{CE}\,\mathrm{CE}(z, y) + \lambda_{sim}\,\mathcal L_{sim}(h, T)
                   + \lambda_{KL}\,\mathcal L_{KL}(h) + \lambda_{Q}\,\mathrm{mean}(|h| - 1)^2

    - CE: softmax cross-entropy of the classifier logits ``z`` on ``labels``; skipped (not in ``terms``)
      when ``logits`` or ``labels`` is None (caption data) or ``ce == 0``;
    - sim: :func:`semhash_lib.losses.similarity_loss` with ``sim_kwargs`` (needs ``target_distance``);
    - kl: :func:`semhash_lib.losses.binary_kl_loss` with ``kl_kwargs`` (targets drawn from the global
      torch RNG of ``h``'s device unless a ``generator`` is given in ``kl_kwargs``);
    - quant: :func:`semhash_lib.losses.quantization_penalty`.

    A term whose weight is 0 is not computed. ``terms`` holds each computed term's unweighted value
    (detached); ``total`` is the weighted sum (a tensor on ``h``'s device).
    """

    def __init__(self, ce: float = 1.0, sim: float = 1.0, kl: float = 0.1, quant: float = 0.0,
                 sim_kwargs: dict | None = None, kl_kwargs: dict | None = None):
        super().__init__()
        weights = {"ce": ce, "sim": sim, "kl": kl, "quant": quant}
        for name, w in weights.items():
            if not (isinstance(w, (int, float)) and w >= 0):
                raise ValueError(f"loss weight {name}={w!r} must be a number >= 0")
        self.weights = {k: float(v) for k, v in weights.items()}
        if not any(self.weights.values()):
            raise ValueError("all loss weights are 0; set at least one of ce, sim, kl, quant")
        self.sim_kwargs = dict(sim_kwargs or {})
        self.kl_kwargs = dict(kl_kwargs or {})
        _check_choices("sim_kwargs", self.sim_kwargs, {"form": SIMILARITY_FORMS, "code_distance": CODE_DISTANCES})
        _check_choices("kl_kwargs", self.kl_kwargs, {"nu": NU_MODES, "target": KL_TARGETS})
        k = self.kl_kwargs.get("k", 1)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"kl_kwargs['k'] must be a positive int, got {k!r}")

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v:g}" for k, v in self.weights.items())

    def forward(self, h: torch.Tensor, logits: torch.Tensor | None, labels: torch.Tensor | None,
                target_distance: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        w = self.weights
        use_ce = w["ce"] > 0 and logits is not None and labels is not None
        if w["sim"] > 0 and target_distance is None:
            raise ValueError("the similarity term needs target_distance (B, B); pass it, or set sim=0")
        min_batch = max(2 if w["sim"] > 0 else 1, int(self.kl_kwargs.get("k", 1)) + 1 if w["kl"] > 0 else 1)
        validate_batch(h, min_batch=min_batch, logits=logits if use_ce else None, labels=labels if use_ce else None,
                       target_distance=target_distance if w["sim"] > 0 else None)
        terms: dict[str, torch.Tensor] = {}
        total = h.new_zeros(())
        if use_ce:
            terms["ce"] = F.cross_entropy(logits, labels)
        if w["sim"] > 0:
            terms["sim"] = _similarity(h, target_distance, **self.sim_kwargs)
        if w["kl"] > 0:
            terms["kl"] = _binary_kl(h, **self.kl_kwargs)
        if w["quant"] > 0:
            terms["quant"] = _quantization(h)
        if not terms:
            raise ValueError("no loss term could be computed: CE needs logits and labels (this batch has "
                             f"{'no logits' if logits is None else 'no labels'}) and the other weights are 0")
        for name, value in terms.items():
            total = total + w[name] * value
        return total, {k: v.detach() for k, v in terms.items()}
