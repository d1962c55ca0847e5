"""Hashing networks and their backbones (contracts in ``docs/design.md``).

- :class:`HashingNetwork` — backbone -> linear bottleneck of ``bits`` -> activation -> h (-> classifier).
- :func:`sign_codes` — the binary code ``sign(h)`` with 0 -> +1; :func:`sign_ste` — sign with a
  straight-through gradient.
- :func:`build_backbone` — ``cifar_resnet18``, ``cifar_resnet50``, ``efficientnet_lite0``, ``features``,
  ``small_cnn``; :data:`BACKBONE_INPUT_STATS` — the input normalisation pretrained backbones expect.
- :func:`split_efficientnet_lite0` — EfficientNet-Lite0 cut after a stage: a frozen bottom whose activations
  are cached and a trainable top (:class:`EfficientNetLite0Bottom`, :class:`EfficientNetLite0Top`).
"""

from .backbones import (BACKBONE_INPUT_STATS, BACKBONES, EfficientNetLite0Features, FeatureIdentity, SmallCNN,
                        build_backbone, cifar_resnet)
from .efficientnet_split import (FINETUNE_STAGES, STAGES, EfficientNetLite0Bottom, EfficientNetLite0Top,
                                 split_efficientnet_lite0, stage_output_shape)
from .network import ACTIVATIONS, HashingNetwork, sign_codes, sign_ste

__all__ = ["HashingNetwork", "sign_codes", "sign_ste", "ACTIVATIONS", "build_backbone", "BACKBONES",
           "BACKBONE_INPUT_STATS", "EfficientNetLite0Features", "FeatureIdentity", "SmallCNN", "cifar_resnet",
           "split_efficientnet_lite0", "EfficientNetLite0Bottom", "EfficientNetLite0Top", "stage_output_shape",
           "STAGES", "FINETUNE_STAGES"]
