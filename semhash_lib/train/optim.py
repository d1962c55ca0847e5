"""Optimizer and learning-rate schedule of a run (reconstruction: the paper's settings are unknown)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import TrainConfig
from .model import is_backbone_parameter

__all__ = ["lr_factor", "make_optimizer"]


def lr_factor(step: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """Multiplier of the base lr at optimisation ``step`` (0-based), used by a ``LambdaLR`` (reconstruction).

    Linear warm-up ``(step + 1) / W`` over ``W = warmup_epochs * steps_per_epoch`` steps, then, with
    progress ``p = (step - W) / (total - W)``: ``"cosine"``: ``(1 + cos(pi p)) / 2``; ``"step"``:
    ``step_gamma ** floor(epoch / step_epochs)``; ``"constant"``: 1.
    """
    total = config.epochs * steps_per_epoch
    warm = int(round(config.warmup_epochs * steps_per_epoch))
    if step < warm:
        return (step + 1) / warm
    if config.schedule == "constant":
        return 1.0
    if config.schedule == "step":
        return config.step_gamma ** (step // (config.step_epochs * steps_per_epoch))
    p = (step - warm) / max(1, total - warm)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, p)))


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam / AdamW / SGD (momentum, optional Nesterov) with ``weight_decay``; the backbone's parameters
    (:func:`semhash_lib.train.model.is_backbone_parameter`: image input, or the trainable EfficientNet-Lite0
    top with ``feature_stage``) get ``lr * backbone_lr_scale`` (fine-tuning pretrained weights gently).

    The multi-tensor (``foreach``) implementation is used on every device: on CPU torch's default is the per-tensor
    loop, which computes the same floats (tested bit for bit) about a third slower (``benchmarks/README.md``)."""
    def in_backbone(name: str) -> bool:
        return is_backbone_parameter(config, name)

    backbone_params = [p for n, p in model.named_parameters() if p.requires_grad and in_backbone(n)]
    other = [p for n, p in model.named_parameters() if p.requires_grad and not in_backbone(n)]
    groups = [{"params": other, "lr": config.lr}]
    if backbone_params:
        groups.append({"params": backbone_params, "lr": config.lr * config.backbone_lr_scale})
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
                               weight_decay=config.weight_decay, foreach=True)
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return cls(groups, lr=config.lr, weight_decay=config.weight_decay, foreach=True)
