"""Hashing networks and their backbones (contracts in ``docs/design.md``).

- :class:`HashingNetwork` — backbone -> linear bottleneck of ``bits`` -> activation -> h (-> classifier).
- :func:`sign_codes` — the binary code ``sign(h)`` with 0 -> +1; :func:`sign_ste` — sign with a
  straight-through gradient.
- :func:`build_backbone` — ``cifar_resnet18``, ``cifar_resnet50``, ``efficientnet_lite0``, ``features``,
  ``small_cnn``; :data:`BACKBONE_INPUT_STATS` — the input normalisation pretrained backbones expect.
"""

from .backbones import (BACKBONE_INPUT_STATS, BACKBONES, EfficientNetLite0Features, FeatureIdentity, SmallCNN,
                        build_backbone, cifar_resnet)
from .network import ACTIVATIONS, HashingNetwork, sign_codes, sign_ste

__all__ = ["HashingNetwork", "sign_codes", "sign_ste", "ACTIVATIONS", "build_backbone", "BACKBONES",
           "BACKBONE_INPUT_STATS", "EfficientNetLite0Features", "FeatureIdentity", "SmallCNN", "cifar_resnet"]
