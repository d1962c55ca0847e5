"""Registry of training methods: name -> (bottleneck activation, classifier head?, labels needed?, loss).

A notebook or the trainer asks for a method by name (``get_method("semhash")``) and builds
``HashingNetwork(backbone, bits, num_classes if spec.use_classifier else None, activation=spec.activation)``
and ``spec.make_loss(bits=bits, num_classes=num_classes, **overrides)``.

The paper's method and its ablations (Arponen & Bishop 2020, ``docs/paper.md`` §4; weights are
**reconstruction defaults**, see :data:`SEMHASH_DEFAULTS`):

- ``semhash``: CE + similarity + empirical KL (the paper's total loss, §4.2);
- ``semhash_sampled_kl``: as ``semhash`` with the KL term's target side estimated from m = n sampled corners
  (the first reconstruction's default; does not binarise at >= 16 bits, see ``docs/reconstruction.md``);
- ``semhash_grouped_kl``: as ``semhash`` with the KL term estimated over random groups of 3 bits;
- ``semhash_no_kl``: CE + similarity (what the KL term adds);
- ``semhash_quant``: CE + similarity + ‖|h| − 1‖² (KL replaced by the usual quantization penalty);
- ``semhash_no_ce``: similarity + KL (no labels needed: caption data, zero-shot);
- ``classification``: CE only, codes = sign of the tanh bottleneck.

Baselines, each with its paper's loss and activation: ``dsh``, ``dpsh``, ``hashnet``, ``csq``, ``greedyhash``.

Every method declares its **search space** (``MethodSpec.search_space``) for ``semhash tune``: parameter
name -> :class:`LogUniform` / :class:`Uniform` / :class:`Choice`. Names are TrainConfig fields (``lr``,
``weight_decay``) or ``loss.<key>`` / ``loss.<sim_kwargs|kl_kwargs>.<key>`` for the method's loss options;
:func:`apply_params` turns a sampled point into TrainConfig changes. Ranges:

- all methods: ``lr`` log-uniform [1e-4, 1e-2], ``weight_decay`` log-uniform [1e-6, 1e-2];
- the semhash family **shares one base** (``MethodSpec.base``): ``semhash_no_kl``, the arm without a term
  (CE weight fixed at 1 as the scale), tunes ``lr``, ``weight_decay``, ``loss.sim`` log [0.1, 10], the
  similarity form ``loss.sim_kwargs.form`` in {relative, softmax}, exponent ``p`` in {1, 2}, temperatures
  ``tau_target``, ``tau_code`` log [0.02, 1] (softmax form only); ``semhash``, ``semhash_sampled_kl``,
  ``semhash_grouped_kl``, ``semhash_quant`` and ``semhash_no_ce`` take those parameters and tune only their
  own term, with the same number of trials: ``loss.kl`` log [0.001, 3] and ``loss.kl_kwargs.k`` in {1, 6};
  ``semhash`` and ``semhash_no_ce`` also the KL variant ``loss.kl_kwargs.nu`` in {nearest_corner, mixture}; ``semhash_quant``
  ``loss.quant`` log [0.001, 3]. So the family's rows of a table differ only in their binarisation term
  (and ``semhash_no_ce`` in having no CE);
- DSH: margin log [K/4, 4K] (default 2K), alpha log [1e-3, 0.3]; DPSH: eta log [1e-3, 1];
  HashNet: alpha log [1/K, 30/K] (default 10/K); CSQ: lambda_q log [1e-5, 1]; GreedyHash: alpha log
  [0.01, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from torch import nn

from .losses import CSQLoss, DPSHLoss, DSHLoss, GreedyHashLoss, HashNetLoss, SemanticHashingLoss

__all__ = ["MethodSpec", "METHODS", "get_method", "SEMHASH_DEFAULTS", "SHARED_BASE", "UnknownMethodError",
           "LogUniform", "Uniform", "Choice", "apply_params", "merge_loss_options"]

# Reconstruction defaults of the paper's loss weights (the paper's values are unknown), from a quick
# experiment only: a linear hashing head (32 bits) on synthetic clustered 64-d features, 20 classes in 5
# superclasses, targets 0 / 0.5 / 1, Adam 1e-3, 60 epochs, 2 seeds. kl = 0.1 lowered bit imbalance and
# bit correlation against no KL at a small mAP cost (0.966 vs 0.982); kl = 0.3 cost too much (mAP 0.90).
# The quantization ablation uses the same weight. `semhash tune` tunes them on a validation split of real data.
SEMHASH_DEFAULTS = {"ce": 1.0, "sim": 1.0, "kl": 0.1, "quant": 0.0}


@dataclass(frozen=True)
class _Range:
    """A float range [low, high] x K^bits_power (K the code length; 0: a plain range)."""

    low: float
    high: float
    bits_power: int = 0
    log = False

    def bounds(self, bits: int) -> tuple[float, float]:
        return self.low * float(bits) ** self.bits_power, self.high * float(bits) ** self.bits_power


class LogUniform(_Range):
    """A float drawn log-uniformly from :meth:`bounds`."""

    log = True


class Uniform(_Range):
    """A float drawn uniformly from :meth:`bounds`."""


@dataclass(frozen=True)
class Choice:
    """One of ``values``."""

    values: tuple


def merge_loss_options(*dicts: dict) -> dict:
    """Merge loss keyword dicts left to right; the nested ``sim_kwargs``/``kl_kwargs`` are merged key by key
    (so ``{"kl_kwargs": {"k": 3}}`` on top of ``{"kl_kwargs": {"nu": "sampled"}}`` keeps both)."""
    out: dict = {}
    for d in dicts:
        for key, value in (d or {}).items():
            if key.endswith("_kwargs") and isinstance(value, dict):
                out[key] = {**out.get(key, {}), **value}
            else:
                out[key] = value
    return out


def apply_params(params: dict[str, Any]) -> dict[str, Any]:
    """TrainConfig changes for a point of a search space: ``{"lr": 1e-3, "loss.kl": 0.2,
    "loss.kl_kwargs.k": 3}`` -> ``{"lr": 1e-3, "loss": {"kl": 0.2, "kl_kwargs": {"k": 3}}}``."""
    changes: dict[str, Any] = {}
    loss: dict[str, Any] = {}
    for name, value in params.items():
        parts = name.split(".")
        if parts[0] != "loss":
            if len(parts) != 1:
                raise ValueError(f"search-space name {name!r}: only 'loss.' names may be dotted")
            changes[name] = value
        elif len(parts) == 2:
            loss[parts[1]] = value
        elif len(parts) == 3 and parts[1] in ("sim_kwargs", "kl_kwargs"):
            loss.setdefault(parts[1], {})[parts[2]] = value
        else:
            raise ValueError(f"search-space name {name!r}: expected loss.<key> or loss.<sim_kwargs|kl_kwargs>.<key>")
    if loss:
        changes["loss"] = loss
    return changes


COMMON_SPACE = {"lr": LogUniform(1e-4, 1e-2), "weight_decay": LogUniform(1e-6, 1e-2)}
SIM_SPACE = {"loss.sim": LogUniform(0.1, 10.0), "loss.sim_kwargs.form": Choice(("relative", "softmax")),
             "loss.sim_kwargs.p": Choice((1, 2)), "loss.sim_kwargs.tau_target": LogUniform(0.02, 1.0),
             "loss.sim_kwargs.tau_code": LogUniform(0.02, 1.0)}
# k of the KL terms' rho_k: 1 (the paper's estimator) or 6, the k that reaches past a code's class-mates in
# 90 % of batches of 256 drawn from 100 balanced classes (semhash_lib.ablation.k_past_own_class)
KL_SPACE = {"loss.kl": LogUniform(0.001, 3.0), "loss.kl_kwargs.k": Choice((1, 6))}
#: the semhash family shares one base (similarity loss, lr, weight decay) tuned on the arm without a term
SHARED_BASE = "semhash_no_kl"


@dataclass(frozen=True)
class MethodSpec:
    """A training method: model options and a loss factory.

    - ``activation``: the :class:`semhash_lib.models.HashingNetwork` bottleneck activation;
    - ``use_classifier``: whether the network gets a classifier head (``num_classes`` outputs);
    - ``needs_labels``: whether training requires class labels (False: works from ``target_distance``);
    - ``make_loss(bits=, num_classes=, **overrides) -> nn.Module`` with the loss contract of
      ``docs/design.md``; ``overrides`` are the loss constructor's keyword arguments;
    - ``search_space``: what ``semhash tune`` searches (see the module docstring for the ranges);
    - ``base``: a method whose tuned parameters this one shares (``semhash tune`` tunes ``base`` first and
      then only this method's own ``search_space`` on top of them; ``None``: tuned on its own).
    """

    name: str
    description: str
    activation: str
    use_classifier: bool
    needs_labels: bool
    make_loss: Callable[..., nn.Module]
    search_space: dict = field(default_factory=lambda: dict(COMMON_SPACE))
    base: str | None = None


def _semhash_factory(**fixed) -> Callable[..., nn.Module]:
    """``make_loss`` for the SemanticHashingLoss family: defaults, then ``fixed`` weights, then overrides."""

    def make_loss(bits: int, num_classes: int | None = None, **overrides) -> nn.Module:
        _check_bits(bits)
        kwargs = merge_loss_options(SEMHASH_DEFAULTS, fixed, overrides)
        return SemanticHashingLoss(**kwargs)

    make_loss.loss_class = SemanticHashingLoss
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


_dsh.loss_class = DSHLoss


def _dpsh(bits, num_classes=None, **kw):
    _check_bits(bits)
    return DPSHLoss(**kw)


_dpsh.loss_class = DPSHLoss


def _hashnet(bits, num_classes=None, **kw):
    _check_bits(bits)
    return HashNetLoss(bits, **kw)


_hashnet.loss_class = HashNetLoss


def _csq(bits, num_classes=None, **kw):
    _check_bits(bits)
    return CSQLoss(bits, _needs_classes("csq", num_classes), **kw)


_csq.loss_class = CSQLoss


def _greedyhash(bits, num_classes=None, **kw):
    _check_bits(bits)
    _needs_classes("greedyhash", num_classes)
    return GreedyHashLoss(**kw)


_greedyhash.loss_class = GreedyHashLoss


METHODS: dict[str, MethodSpec] = {spec.name: spec for spec in [
    MethodSpec("semhash", "CE + relative-distance similarity + empirical KL to binary corners (the paper)",
               "tanh", True, True, _semhash_factory(),
               {**KL_SPACE, "loss.kl_kwargs.nu": Choice(("nearest_corner", "mixture"))}, base=SHARED_BASE),
    MethodSpec("semhash_sampled_kl",
               "CE + similarity + KL whose target side is m = n sampled corners (the first reconstruction's "
               "default; see binary_kl_loss(nu=...))",
               "tanh", True, True, _semhash_factory(kl_kwargs={"nu": "sampled"}), dict(KL_SPACE), base=SHARED_BASE),
    MethodSpec("semhash_grouped_kl",
               "CE + similarity + KL estimated over random groups of 3 bits (see binary_kl_loss(nu='grouped'))",
               "tanh", True, True, _semhash_factory(kl_kwargs={"nu": "grouped"}),
               {"loss.kl": KL_SPACE["loss.kl"]}, base=SHARED_BASE),
    MethodSpec("semhash_no_kl", "CE + similarity, no KL term (ablation; its tuned parameters are the family's base)",
               "tanh", True, True, _semhash_factory(kl=0.0), {**COMMON_SPACE, **SIM_SPACE}),
    MethodSpec("semhash_quant", "CE + similarity + quantization penalty ||h|-1||^2 instead of KL (ablation)",
               "tanh", True, True, _semhash_factory(kl=0.0, quant=SEMHASH_DEFAULTS["kl"]),
               {"loss.quant": LogUniform(0.001, 3.0)}, base=SHARED_BASE),
    MethodSpec("semhash_no_ce", "similarity + empirical KL, no labels (caption data, zero-shot)",
               "tanh", False, False, _semhash_factory(ce=0.0),
               {**KL_SPACE, "loss.kl_kwargs.nu": Choice(("nearest_corner", "mixture"))}, base=SHARED_BASE),
    MethodSpec("classification", "CE only; codes = sign of the tanh bottleneck (ablation)",
               "tanh", True, True, _semhash_factory(sim=0.0, kl=0.0, quant=0.0)),
    MethodSpec("dsh", "DSH (Liu et al. CVPR 2016): contrastive pair loss with margin 2K + L1 to ±1",
               "none", False, False, _dsh,
               {**COMMON_SPACE, "loss.margin": LogUniform(0.25, 4.0, bits_power=1),
                "loss.alpha": LogUniform(1e-3, 0.3)}),
    MethodSpec("dpsh", "DPSH (Li et al. IJCAI 2016): pairwise likelihood + quantization",
               "none", False, False, _dpsh, {**COMMON_SPACE, "loss.eta": LogUniform(1e-3, 1.0)}),
    MethodSpec("hashnet", "HashNet (Cao et al. ICCV 2017): weighted pairwise likelihood, tanh(beta x) continuation",
               "scaled_tanh", False, False, _hashnet,
               {**COMMON_SPACE, "loss.alpha": LogUniform(1.0, 30.0, bits_power=-1)}),
    MethodSpec("csq", "CSQ (Yuan et al. CVPR 2020): BCE to Hadamard hash centres + quantization",
               "tanh", False, True, _csq, {**COMMON_SPACE, "loss.lambda_q": LogUniform(1e-5, 1.0)}),
    MethodSpec("greedyhash", "GreedyHash (Su et al. NeurIPS 2018): CE on sign codes (straight-through) + cubic penalty",
               "sign_ste", True, True, _greedyhash, {**COMMON_SPACE, "loss.alpha": LogUniform(0.01, 1.0)}),
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
