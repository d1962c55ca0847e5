"""``TrainConfig``: everything that determines a training run, readable from YAML and papermill parameters.

The paper's optimisation settings are unknown (``docs/paper.md`` §6): every choice (optimizer,
schedule, warm-up, augmentation, loss weights) is a field here, a *reconstruction* with a plain default
(``docs/reconstruction.md``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TrainConfig", "INPUTS", "OPTIMIZERS", "SCHEDULES", "DEVICES", "SIMILARITIES", "RESUME_FREE_FIELDS"]

INPUTS = ("images", "features")
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("cosine", "step", "constant")
DEVICES = ("auto", "cpu", "cuda")
SIMILARITIES = ("wordnet", "barz", "sentence", "identity")
HIERARCHY_MEASURES = ("lca_height", "wup", "path")
SENTENCE_TEXTS = ("gloss", "prompt")
# Fields added after results were published: left out of to_dict() while None, so the configurations that do
# not use them keep their run keys (experiment.config_key), default run folders and config.json unchanged.
OMITTED_WHEN_UNSET = ("feature_stage",)
# Config fields that may change between an interrupted run and its resumption (they do not change results).
RESUME_FREE_FIELDS = ("out_dir", "checkpoint_every", "device", "compile")


@dataclass
class TrainConfig:
    """Everything that determines a training run (readable from YAML and papermill parameters).

    Data: ``dataset`` (``"cifar100"``, ``"fashion-mnist"``, ``"coco-mini"``), ``input`` (``"images"``: the
    backbone sees pixels; ``"features"``: frozen ``feature_extractor`` features at ``feature_resolution``,
    the network is a hashing head), ``feature_stage`` (``None``: the pooled features; an EfficientNet-Lite0
    stage in :data:`semhash_lib.models.FINETUNE_STAGES`: the cached activations after that stage, and the
    network is the pretrained remaining stages + head convolution + pooling, trained with
    ``backbone_lr_scale``, under the hashing head: ``docs/reconstruction.md``, fine-tuning the backbone's
    top), ``resolution`` (resize images for the backbone; ``None`` keeps them),
    ``augment`` (random crop with 4-pixel zero padding + horizontal flip, images only),
    ``train_subset``/``test_subset`` (class-stratified subsets, for tests and quick runs),
    ``train_classes`` (class ids used for training: the zero-shot split; ``None`` = all).

    Targets: ``similarity`` (``"wordnet"``, ``"barz"``: Barz & Denzler's CIFAR-100 tree, ``"sentence"``:
    class-description sentence embeddings, ``"identity"``: 0/1 class identity) and ``similarity_measure``
    (``"lca_height"``, ``"wup"``, ``"path"`` for the hierarchies; ``"gloss"`` or ``"prompt"``, the class text,
    for ``"sentence"``). Caption data always uses its captions' sentence embeddings.

    Model and loss: ``backbone`` (a :func:`semhash_lib.models.build_backbone` name) with ``backbone_kwargs``,
    ``head_hidden`` (features input: width of a hidden ``Linear -> ReLU`` layer before the bottleneck;
    ``None``: the bottleneck sits directly on the features), ``bits``, ``method``
    (:data:`semhash_lib.methods.METHODS`), ``loss`` (keyword overrides for the method's ``make_loss``,
    e.g. ``{"kl": 0.0}``; checked against the method's loss options when the config is made),
    ``activation`` (override of the method's bottleneck activation, e.g. ``"none"`` for a linear
    bottleneck; ``None``: the method's), ``classifier`` (override of whether a classifier head is built),
    ``tuned`` (per method, the parameters found by ``semhash tune``: ``{method: {"lr": ..., "loss.kl": ...}}``;
    :meth:`effective` applies the entry of ``method`` under the explicit ``loss`` overrides; profiles fill
    it from ``results/tuned_<profile>.yaml``).

    Optimisation (reconstruction; the paper's settings are unknown): ``optimizer`` (``"adam"``, ``"adamw"``,
    ``"sgd"`` with ``momentum``/``nesterov``), ``lr``, ``weight_decay``, ``backbone_lr_scale`` (lr factor of
    the backbone's parameters, for fine-tuning pretrained weights), ``schedule`` (``"cosine"`` to 0,
    ``"step"``: times ``step_gamma`` every ``step_epochs``, ``"constant"``) after ``warmup_epochs`` of linear
    warm-up, ``grad_clip`` (max gradient norm), ``epochs``, ``batch_size``, ``seed``.

    Execution: ``device`` (``"auto"``: CUDA when present, ``"cpu"``, ``"cuda"``), ``amp`` (mixed precision
    on CUDA: bf16 where supported, else fp16 with a grad scaler), ``compile`` (``torch.compile`` the network's
    training forward pass; pays on a GPU for long runs, measure with ``benchmarks/bench_train.py --compile``),
    ``out_dir`` (checkpoint and history;
    ``None``: ``data/runs/<method>-<bits>b-s<seed>-<hash>``), ``checkpoint_every`` (epochs).
    """

    dataset: str = "cifar100"
    input: str = "images"
    feature_extractor: str = "efficientnet_lite0"
    feature_resolution: int = 128
    feature_stage: int | None = None
    resolution: int | None = None
    augment: bool = True
    train_subset: int | None = None
    test_subset: int | None = None
    train_classes: list[int] | None = None
    similarity: str = "wordnet"
    similarity_measure: str = "lca_height"
    backbone: str = "small_cnn"
    backbone_kwargs: dict = field(default_factory=dict)
    head_hidden: int | None = None
    bits: int = 32
    method: str = "semhash"
    loss: dict = field(default_factory=dict)
    activation: str | None = None
    classifier: bool | None = None
    tuned: dict = field(default_factory=dict)
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 0.0
    backbone_lr_scale: float = 1.0
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    step_epochs: int = 30
    step_gamma: float = 0.1
    grad_clip: float | None = None
    epochs: int = 10
    batch_size: int = 256
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    compile: bool = False
    out_dir: str | None = None
    checkpoint_every: int = 1

    def __post_init__(self) -> None:
        self._coerce()
        self._validate()

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        """The valid configuration keys, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, d: dict | None = None, **overrides: Any) -> "TrainConfig":
        """Build from a mapping (YAML / papermill parameters) plus keyword ``overrides``.

        Unknown keys raise ``ValueError`` listing the valid ones; values are type-checked (YAML's
        ``1e-3`` string is accepted as a float).
        """
        if d is not None and not isinstance(d, dict):
            raise TypeError(f"TrainConfig.from_dict expects a dict, got {type(d).__name__}")
        merged = {**(d or {}), **overrides}
        unknown = sorted(set(merged) - set(cls.field_names()))
        if unknown:
            raise ValueError(f"unknown TrainConfig key(s) {unknown}; valid keys: {cls.field_names()}")
        return cls(**merged)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, key: str | None = None, **overrides: Any) -> "TrainConfig":
        """Read a YAML mapping of config fields (or its sub-mapping ``key``, e.g. a profile's ``"train"``)."""
        import yaml

        with open(path, encoding="utf-8") as f:
            d = yaml.safe_load(f) or {}
        if key is not None:
            if key not in d:
                raise ValueError(f"{path}: no key {key!r} (has {sorted(d)})")
            d = d[key]
        return cls.from_dict(d, **overrides)

    def to_dict(self) -> dict:
        """A plain, JSON/YAML-serialisable dict; ``TrainConfig.from_dict(c.to_dict()) == c``. Fields of
        :data:`OMITTED_WHEN_UNSET` are left out while ``None``, so configurations that do not use them keep
        the run keys and folders they had before those fields existed."""
        d = dataclasses.asdict(self)
        for name in OMITTED_WHEN_UNSET:
            if d.get(name) is None:
                d.pop(name, None)
        return d

    def effective(self) -> "TrainConfig":
        """The configuration a run really uses: ``tuned[method]`` applied (its ``lr``/``weight_decay``/...
        fields, its loss options merged under the explicit ``loss``), ``tuned`` emptied. Idempotent."""
        if not self.tuned:
            return self
        from ..methods import apply_params, merge_loss_options

        changes = apply_params(self.tuned.get(self.method, {}))
        loss = merge_loss_options(changes.pop("loss", {}), self.loss)
        return self.replace(**changes, loss=loss, tuned={})

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes`` applied (validated like :meth:`from_dict`)."""
        return self.from_dict(self.to_dict(), **changes)

    # -- checks -------------------------------------------------------------------------------------
    def _coerce(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value, hint = getattr(self, f.name), hints[f.name]
            allowed = set(typing.get_args(hint)) or {hint}
            if value is None:
                if type(None) not in allowed:
                    raise TypeError(f"TrainConfig.{f.name} must not be None")
                continue
            if float in allowed and isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    raise TypeError(f"TrainConfig.{f.name} must be a number, got {value!r}") from None
            if float in allowed and isinstance(value, (int, np.integer)) and not isinstance(value, bool):
                value = float(value)
            if int in allowed and isinstance(value, np.integer):
                value = int(value)
            ok = any(isinstance(value, typing.get_origin(a) or a) for a in allowed if a is not type(None))
            if isinstance(value, bool) and bool not in allowed:
                ok = False
            if not ok:
                raise TypeError(f"TrainConfig.{f.name} must be {hint}, got {type(value).__name__} {value!r}")
            setattr(self, f.name, value)
        if self.train_classes is not None:
            self.train_classes = [int(c) for c in self.train_classes]

    def _validate(self) -> None:
        choices = {"input": INPUTS, "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "device": DEVICES,
                   "similarity": SIMILARITIES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"TrainConfig.{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        for name in ("bits", "epochs", "batch_size", "checkpoint_every", "feature_resolution", "step_epochs"):
            if getattr(self, name) <= 0:
                raise ValueError(f"TrainConfig.{name} must be positive, got {getattr(self, name)}")
        for name in ("train_subset", "test_subset", "resolution", "head_hidden"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ValueError(f"TrainConfig.{name} must be positive or None, got {v}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"TrainConfig.lr must be a positive finite number, got {self.lr}")
        if self.weight_decay < 0 or self.warmup_epochs < 0 or self.backbone_lr_scale < 0:
            raise ValueError("TrainConfig.weight_decay, warmup_epochs and backbone_lr_scale must be >= 0")
        measures = SENTENCE_TEXTS if self.similarity == "sentence" else HIERARCHY_MEASURES
        if self.similarity != "identity" and self.similarity_measure not in measures:
            raise ValueError(f"TrainConfig.similarity_measure must be one of {list(measures)} with "
                             f"similarity={self.similarity!r}, got {self.similarity_measure!r}")
        from ..methods import get_method
        from ..models import ACTIVATIONS

        get_method(self.method)            # UnknownMethodError listing the known methods
        if self.activation is not None and self.activation not in ACTIVATIONS:
            raise ValueError(f"TrainConfig.activation must be one of {list(ACTIVATIONS)} or None, "
                             f"got {self.activation!r}")
        self._validate_loss()
        if not all(isinstance(v, dict) for v in self.tuned.values()):
            raise ValueError("TrainConfig.tuned must map method names to parameter dicts")
        self._validate_feature_stage()
        if self.train_classes is not None and len(set(self.train_classes)) != len(self.train_classes):
            raise ValueError("TrainConfig.train_classes has duplicate class ids")
        if self.train_classes is not None and len(self.train_classes) < 2:
            raise ValueError("TrainConfig.train_classes needs at least 2 classes (or None for all)")

    def _validate_feature_stage(self) -> None:
        """``feature_stage``: ``None`` or a stage of :data:`semhash_lib.models.FINETUNE_STAGES`, with
        ``input="features"`` and ``feature_extractor="efficientnet_lite0"``."""
        if self.feature_stage is None:
            return
        from ..models import FINETUNE_STAGES

        if self.feature_stage not in FINETUNE_STAGES:
            raise ValueError(f"TrainConfig.feature_stage must be one of {list(FINETUNE_STAGES)} (EfficientNet-Lite0 "
                             f"stages, Tan & Le 2019 Table 1) or None, got {self.feature_stage!r}")
        if self.input != "features" or self.feature_extractor != "efficientnet_lite0":
            raise ValueError(f"TrainConfig.feature_stage={self.feature_stage} needs input='features' and "
                             f"feature_extractor='efficientnet_lite0', got input={self.input!r}, "
                             f"feature_extractor={self.feature_extractor!r}")

    def _validate_loss(self) -> None:
        """``loss`` must fit the method's options dataclass (:mod:`semhash_lib.loss_options`: every key one of
        the loss's options, every value of its type, ``sim_kwargs``/``kl_kwargs`` likewise); then the loss is
        built once, so a value outside its choices fails here too. Errors name the method and the key."""
        from ..loss_options import check_loss_options
        from ..methods import get_method

        check_loss_options(self.method, self.loss)
        try:                                 # values: the loss checks its own (weights, choices) when made
            get_method(self.method).make_loss(bits=self.bits, num_classes=max(2, len(self.train_classes or [])),
                                              **self.loss)
        except (TypeError, ValueError) as e:
            raise ValueError(f"TrainConfig.loss for method {self.method!r}: {e}") from None
