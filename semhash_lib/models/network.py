"""The hashing network: backbone -> linear bottleneck of K bits -> activation -> h -> optional classifier.

Paper (Arponen & Bishop 2020, ``docs/paper.md`` §4.1): "A CNN is trained with a bottleneck output
layer"; the code is obtained by rounding the outputs. Reconstruction: ``h = act(W_h f(x) + b_h)`` in
R^K, a classification head ``z = W_c h + b_c`` on top, and the code ``b = sign(h)`` with 0 -> +1.
The bottleneck activation is unknown and a parameter (``activation=``).
"""

from __future__ import annotations

import operator

import torch
from torch import nn

__all__ = ["HashingNetwork", "sign_codes", "sign_ste", "ACTIVATIONS"]

ACTIVATIONS = ("tanh", "none", "scaled_tanh", "sign_ste")


def sign_codes(h: torch.Tensor) -> torch.Tensor:
    """Binary codes ``b = sign(h)`` in {-1, +1}, with the convention sign(0) = +1 (never 0).

    Same dtype and device as ``h``. Used for every method's codes (paper: "rounding output features").
    """
    return torch.where(h >= 0, torch.ones_like(h), -torch.ones_like(h))


def sign_ste(h: torch.Tensor) -> torch.Tensor:
    """Sign with a straight-through gradient: forward ``sign_codes(h)``, backward identity (dL/dh = dL/db).

    GreedyHash (Su et al., NeurIPS 2018, Eq. 6-7): the hash layer "strictly uses the sign function in
    forward propagation ... while in back propagation the gradients are transmitted intactly".
    Written as ``h + (sign(h) - h).detach()``.
    """
    return h + (sign_codes(h) - h).detach()


def _positive_int(value, what: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (bools and non-integers rejected) or a ValueError naming ``what``."""
    try:
        if isinstance(value, bool):
            raise TypeError
        out = operator.index(value)
    except TypeError:
        raise ValueError(f"{what} must be an int >= {minimum}, got {value!r}") from None
    if out < minimum:
        raise ValueError(f"{what} must be an int >= {minimum}, got {value!r}")
    return out


class HashingNetwork(nn.Module):
    """``forward(x) -> (h, logits)``: the pre-sign code ``h`` (B, bits) and class logits (B, C) or None.

    - ``backbone``: an ``nn.Module`` mapping x to (B, D) features; D is read from its ``feature_dim``
      attribute (as :func:`semhash_lib.models.build_backbone` sets) or from a lazy first call when absent.
    - bottleneck ``Linear(D, bits)`` followed by ``activation``, both in float32 under autocast:

      * ``"tanh"``: h = tanh(z) (default; reconstruction, docs/paper.md §4.1);
      * ``"none"``: h = z (DPSH, DSH use an unbounded linear output);
      * ``"scaled_tanh"``: h = tanh(beta * z) with the settable attribute ``beta`` (HashNet, Cao et al.
        ICCV 2017, continuation: the loss's ``on_epoch_start`` raises ``beta``);
      * ``"sign_ste"``: h = z, and the classifier sees ``sign_ste(z)`` (sign forward, identity backward;
        GreedyHash, Su et al. 2018). ``h`` stays the pre-sign value so that GreedyHash's ``| |h| - 1 |^3``
        penalty and the code statistics see it; the codes are ``sign_codes(h)`` as for every method.
    - ``num_classes``: adds ``classifier = Linear(bits, num_classes)`` on h (on sign(h) for "sign_ste").

    ``codes(x)`` returns ``sign_codes(h)``.
    """

    def __init__(self, backbone: nn.Module, bits: int, num_classes: int | None = None, activation: str = "tanh",
                 feature_dim: int | None = None):
        super().__init__()
        bits = _positive_int(bits, "bits (the code length K)", minimum=1)
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if num_classes is not None:
            num_classes = _positive_int(num_classes, "num_classes", minimum=2)
        if not isinstance(backbone, nn.Module):
            raise TypeError(f"backbone must be an nn.Module, got {type(backbone).__name__}")
        dim = feature_dim if feature_dim is not None else getattr(backbone, "feature_dim", None)
        self.backbone = backbone
        self.bits, self.num_classes, self.activation = bits, num_classes, activation
        self.bottleneck = nn.Linear(int(dim), bits) if dim is not None else nn.LazyLinear(bits)
        self.classifier = nn.Linear(bits, num_classes) if num_classes is not None else None
        # HashNet's tanh(beta * z) scale; a buffer so that it is saved and restored with the model.
        self.register_buffer("_beta", torch.tensor(1.0))

    @property
    def beta(self) -> float:
        """The scale of ``"scaled_tanh"`` (tanh(beta * z)); unused by the other activations."""
        return float(self._beta)

    @beta.setter
    def beta(self, value: float) -> None:
        value = float(value)
        if not value > 0:
            raise ValueError(f"beta must be > 0, got {value}")
        self._beta.fill_(value)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        features = self.backbone(x)
        # The bottleneck and its activation run in float32 even under autocast: in bf16, tanh(z) is exactly
        # +-1 for |z| >~ 3.5, and every term that measures the distance of h to the corners loses its gradient.
        if features.dtype in (torch.float16, torch.bfloat16):
            features = features.float()
        with torch.autocast(features.device.type, enabled=False):
            z = self.bottleneck(features)
        if self.activation == "tanh":
            h = torch.tanh(z)
        elif self.activation == "scaled_tanh":
            h = torch.tanh(self._beta.to(z.dtype) * z)
        else:  # "none", "sign_ste"
            h = z
        if self.classifier is None:
            return h, None
        return h, self.classifier(sign_ste(h) if self.activation == "sign_ste" else h)

    @torch.no_grad()
    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """``sign_codes(h)`` for inputs ``x`` (in the module's current train/eval mode)."""
        return sign_codes(self.forward(x)[0])
