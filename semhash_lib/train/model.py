"""The network a config trains: raw-image input handling + backbone (or a head on frozen features, or the
trainable top of EfficientNet-Lite0 on cached stage activations) + :class:`semhash_lib.models.HashingNetwork`
with the method's activation and classifier choice."""

from __future__ import annotations

from torch import nn

from .augment import ImageInput
from .config import TrainConfig

__all__ = ["build_model", "num_train_classes", "is_backbone_parameter"]


def _input_stats(config: TrainConfig, data) -> tuple[tuple, tuple, int | None]:
    """Normalisation (mean, std) and the channel count the backbone expects, for raw-image input."""
    from .. import models

    stats = models.BACKBONE_INPUT_STATS.get(config.backbone)
    if stats is not None:  # pretrained backbones: the statistics their weights expect
        return stats[0], stats[1], len(stats[0])
    return data.image_stats[0], data.image_stats[1], None


def build_model(config: TrainConfig, data) -> nn.Module:
    """The :class:`semhash_lib.models.HashingNetwork` for ``config`` on ``data`` (an ``ExperimentData``).

    ``input="images"``: ``ImageInput`` (normalisation, optional resize) followed by ``config.backbone``;
    ``input="features"``: the ``"features"`` backbone on ``data.feature_dim``-d inputs; with
    ``feature_stage=k``: the ImageNet-pretrained top of EfficientNet-Lite0 after stage ``k``
    (:class:`semhash_lib.models.EfficientNetLite0Top`, trainable) on the cached stage-``k`` activations,
    then the optional hidden layer (``head_hidden``). The method
    registry chooses the activation and whether a classifier head (``num_classes`` outputs) is used, unless
    ``config.activation`` / ``config.classifier`` override it.
    """
    from .. import methods, models

    spec = methods.get_method(config.method)
    use_classifier = spec.use_classifier if config.classifier is None else config.classifier
    num_classes = num_train_classes(config, data) if use_classifier else None
    if config.input == "features" and config.feature_stage is not None:
        _, top = models.split_efficientnet_lite0(config.feature_stage)
        backbone = _TopAndHidden(top, config.head_hidden)
    elif config.input == "features":
        backbone, dim = models.build_backbone("features", feature_dim=data.feature_dim, **config.backbone_kwargs)
        if config.head_hidden is not None:
            backbone = _HiddenLayer(backbone, dim, config.head_hidden)
    else:
        backbone, dim = models.build_backbone(config.backbone, **config.backbone_kwargs)
        mean, std, channels = _input_stats(config, data)
        backbone = _WithInput(ImageInput(mean, std, channels, config.resolution), backbone)
    return models.HashingNetwork(backbone, config.bits, num_classes=num_classes, activation=config.activation or spec.activation)


class _WithInput(nn.Sequential):
    """``ImageInput`` then a backbone; keeps the backbone's ``feature_dim`` attribute when it has one."""

    def __init__(self, prep: ImageInput, backbone: nn.Module):
        super().__init__(prep, backbone)
        if hasattr(backbone, "feature_dim"):
            self.feature_dim = backbone.feature_dim


class _HiddenLayer(nn.Sequential):
    """features -> ``Linear(dim, hidden)`` -> ReLU: a one-hidden-layer hashing head on frozen features."""

    def __init__(self, features: nn.Module, dim: int, hidden: int):
        super().__init__(features, nn.Linear(dim, hidden), nn.ReLU())
        self.feature_dim = hidden


class _TopAndHidden(nn.Module):
    """Stage activations -> ``top`` (the pretrained EfficientNet-Lite0 top, 1280-d) -> optional
    ``Linear(1280, hidden)`` -> ReLU. The pretrained parameters are those under ``top.``
    (:func:`is_backbone_parameter`)."""

    def __init__(self, top: nn.Module, hidden: int | None):
        super().__init__()
        self.top = top
        self.hidden = (nn.Sequential(nn.Linear(top.feature_dim, hidden), nn.ReLU()) if hidden is not None
                       else nn.Identity())
        self.feature_dim = hidden if hidden is not None else top.feature_dim

    def forward(self, x):
        return self.hidden(self.top(x))


def is_backbone_parameter(config: TrainConfig, name: str) -> bool:
    """Whether the parameter ``name`` (of :func:`build_model`'s network) belongs to the (pretrained) backbone,
    whose lr is ``lr * backbone_lr_scale``: every ``backbone.`` parameter for image input, the
    EfficientNet-Lite0 top's (``backbone.top.``) with ``feature_stage``, none on frozen features (the hidden
    layer and the hashing head are never backbone parameters)."""
    if config.input == "images":
        return name.startswith("backbone.")
    return config.feature_stage is not None and name.startswith("backbone.top.")


def num_train_classes(config: TrainConfig, data) -> int:
    """Number of classes the classifier sees: ``len(train_classes)`` (zero-shot) or all of the data's."""
    return len(config.train_classes) if config.train_classes is not None else data.num_classes
