"""Registry of training methods: name -> (bottleneck activation, classifier head?, labels needed?, loss).

A notebook or the trainer asks for a method by name (``get_method("semhash")``) and builds
``HashingNetwork(backbone, bits, num_classes if spec.use_classifier else None, activation=spec.activation)``
and ``spec.make_loss(bits=bits, num_classes=num_classes, **overrides)``.

The paper's method and its ablations (Arponen & Bishop 2020, ``../shared/paper.md`` §4; weights are
**reconstruction defaults**, see :data:`SEMHASH_DEFAULTS`):

- ``semhash``: CE + similarity + empirical KL (the paper's total loss, §4.2);
- ``semhash_nearest_corner``: as ``semhash`` with the KL term's nu = distance to sign(h) (the m -> inf limit);
- ``semhash_no_kl``: CE + similarity (what the KL term adds);
- ``semhash_quant``: CE + similarity + ‖|h| − 1‖² (KL replaced by the usual quantization penalty);
- ``semhash_no_ce``: similarity + KL (no labels needed: caption data, zero-shot);
- ``classification``: CE only, codes = sign of the tanh bottleneck.

Baselines, each with its paper's loss and activation: ``dsh``, ``dpsh``, ``hashnet``, ``csq``, ``greedyhash``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from .losses import CSQLoss, DPSHLoss, DSHLoss, GreedyHashLoss, HashNetLoss, SemanticHashingLoss

__all__ = ["MethodSpec", "METHODS", "get_method", "SEMHASH_DEFAULTS", "UnknownMethodError"]

# Reconstruction defaults of the paper's loss weights (the paper's values are unknown), from a quick
# experiment only: a linear hashing head (32 bits) on synthetic clustered 64-d features, 20 classes in 5
# superclasses, targets 0 / 0.5 / 1, Adam 1e-3, 60 epochs, 2 seeds. kl = 0.1 lowered bit imbalance and
# bit correlation against no KL at a small mAP cost (0.966 vs 0.982); kl = 0.3 cost too much (mAP 0.90).
# The quantization ablation uses the same weight. The lead tunes these on real features.
SEMHASH_DEFAULTS = {"ce": 1.0, "sim": 1.0, "kl": 0.1, "quant": 0.0}


@dataclass(frozen=True)
class MethodSpec:
    """A training method: model options and a loss factory.

    - ``activation``: the :class:`semhash_lib.models.HashingNetwork` bottleneck activation;
    - ``use_classifier``: whether the network gets a classifier head (``num_classes`` outputs);
    - ``needs_labels``: whether training requires class labels (False: works from ``target_distance``);
    - ``make_loss(bits=, num_classes=, **overrides) -> nn.Module`` with the loss contract of
      ``docs/design.md``; ``overrides`` are the loss constructor's keyword arguments.
    """

    name: str
    description: str
    activation: str
    use_classifier: bool
    needs_labels: bool
    make_loss: Callable[..., nn.Module]


def _semhash_factory(**fixed) -> Callable[..., nn.Module]:
    """``make_loss`` for the SemanticHashingLoss family: defaults, then ``fixed`` weights, then overrides."""

    def make_loss(bits: int, num_classes: int | None = None, **overrides) -> nn.Module:
        _check_bits(bits)
        kwargs = {**SEMHASH_DEFAULTS, **fixed, **overrides}
        return SemanticHashingLoss(**kwargs)

    return make_loss


def _check_bits(bits) -> None:
    if isinstance(bits, bool) or not isinstance(bits, int) or bits <= 0:
        raise ValueError(f"bits must be a positive int, got {bits!r}")


def _needs_classes(name: str, num_classes) -> int:
    if num_classes is None or int(num_classes) < 2:
        raise ValueError(f"method {name!r} needs num_classes >= 2 (class labels), got {num_classes!r}")
    return int(num_classes)


def _dsh(bits, num_classes=None, **kw):
    _check_bits(bits)
    return DSHLoss(bits, **kw)


def _dpsh(bits, num_classes=None, **kw):
    _check_bits(bits)
    return DPSHLoss(**kw)


def _hashnet(bits, num_classes=None, **kw):
    _check_bits(bits)
    return HashNetLoss(bits, **kw)


def _csq(bits, num_classes=None, **kw):
    _check_bits(bits)
    return CSQLoss(bits, _needs_classes("csq", num_classes), **kw)


def _greedyhash(bits, num_classes=None, **kw):
    _check_bits(bits)
    _needs_classes("greedyhash", num_classes)
    return GreedyHashLoss(**kw)


METHODS: dict[str, MethodSpec] = {spec.name: spec for spec in [
    MethodSpec("semhash", "CE + relative-distance similarity + empirical KL to binary corners (the paper)",
               "tanh", True, True, _semhash_factory()),
    MethodSpec("semhash_nearest_corner",
               "CE + similarity + KL whose target-side distance is its m -> inf limit, the distance to the nearest "
               "corner sign(h) (reconstruction option; see binary_kl_loss(nu=...))",
               "tanh", True, True, _semhash_factory(kl_kwargs={"nu": "nearest_corner"})),
    MethodSpec("semhash_no_kl", "CE + similarity, no KL term (ablation)",
               "tanh", True, True, _semhash_factory(kl=0.0)),
    MethodSpec("semhash_quant", "CE + similarity + quantization penalty ||h|-1||^2 instead of KL (ablation)",
               "tanh", True, True, _semhash_factory(kl=0.0, quant=SEMHASH_DEFAULTS["kl"])),
    MethodSpec("semhash_no_ce", "similarity + empirical KL, no labels (caption data, zero-shot)",
               "tanh", False, False, _semhash_factory(ce=0.0)),
    MethodSpec("classification", "CE only; codes = sign of the tanh bottleneck (ablation)",
               "tanh", True, True, _semhash_factory(sim=0.0, kl=0.0, quant=0.0)),
    MethodSpec("dsh", "DSH (Liu et al. CVPR 2016): contrastive pair loss with margin 2K + L1 to ±1",
               "none", False, False, _dsh),
    MethodSpec("dpsh", "DPSH (Li et al. IJCAI 2016): pairwise likelihood + quantization",
               "none", False, False, _dpsh),
    MethodSpec("hashnet", "HashNet (Cao et al. ICCV 2017): weighted pairwise likelihood, tanh(beta x) continuation",
               "scaled_tanh", False, False, _hashnet),
    MethodSpec("csq", "CSQ (Yuan et al. CVPR 2020): BCE to Hadamard hash centres + quantization",
               "tanh", False, True, _csq),
    MethodSpec("greedyhash", "GreedyHash (Su et al. NeurIPS 2018): CE on sign codes (straight-through) + cubic penalty",
               "sign_ste", True, True, _greedyhash),
]}


class UnknownMethodError(ValueError, KeyError):
    """An unknown method name (both a ``ValueError`` and a ``KeyError``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def get_method(name: str) -> MethodSpec:
    """The :class:`MethodSpec` registered as ``name``; :class:`UnknownMethodError` listing the known names."""
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise UnknownMethodError(f"unknown method {name!r}; known methods: {', '.join(METHODS)}") from None
