"""EfficientNet-Lite0 cut after one of its stages: a frozen bottom (run once, its activations cached) and a
trainable top (the remaining pretrained blocks, the head convolution and global pooling).

Stages are numbered as in Tan & Le 2019 (*EfficientNet*, ICML, Table 1), whose layout EfficientNet-Lite0
keeps (ReLU6 instead of swish, no squeeze-and-excitation, stem and head not scaled):

=====  ==========================  ========  =======  ======================  ===============
stage  operator                    channels  layers   blocks (``_blocks[i]``)  output at 128 px
=====  ==========================  ========  =======  ======================  ===============
1      Conv 3x3, stride 2          32        1        (stem)                   32 x 64 x 64
2      MBConv1, k3x3               16        1        0                        16 x 64 x 64
3      MBConv6, k3x3, stride 2     24        2        1-2                      24 x 32 x 32
4      MBConv6, k5x5, stride 2     40        2        3-4                      40 x 16 x 16
5      MBConv6, k3x3, stride 2     80        3        5-7                      80 x 8 x 8
6      MBConv6, k5x5               112       3        8-10                     112 x 8 x 8
7      MBConv6, k5x5, stride 2     192       4        11-14                    192 x 4 x 4
8      MBConv6, k3x3               320       1        15                       320 x 4 x 4
9      Conv 1x1 & pooling & FC     1280      1        (head)                   1280
=====  ==========================  ========  =======  ======================  ===============

``split_efficientnet_lite0(stage)`` returns ``(bottom, top)`` made of the modules of one pretrained
network: ``top(bottom(x))`` equals :class:`~semhash_lib.models.EfficientNetLite0Features` ``(x)`` (the
frozen-feature pipeline, ``semhash_lib.features``) in eval mode. This is the fine-tuning regime of
``docs/reconstruction.md`` ("Fine-tuning the backbone's top"): the paper trains its CNN end to end
(``docs/paper.md`` §4.1); on a CPU only the top stages are trained, from cached bottom activations.

In training mode the top behaves as the pretrained network was trained, with one exception: its
BatchNorm layers keep their pretrained running statistics (they stay in eval mode; their affine weights
are trained). So the top starts as exactly the frozen-feature function, normalises identically in training
and evaluation, and does not depend on how many steps a run takes to re-estimate the statistics
(EfficientNet's BatchNorm momentum is 0.01 per step). Stochastic depth ("drop connect") keeps the
pretrained network's rate for each block: ``0.2 * i / 16`` for block ``i``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["STAGES", "FINETUNE_STAGES", "STAGE_BLOCKS", "split_efficientnet_lite0", "EfficientNetLite0Bottom",
           "EfficientNetLite0Top", "stage_output_shape"]

#: block indices (into the package's ``EfficientNet._blocks``) of each MBConv stage 2-8 (Tan & Le 2019, Table 1)
STAGE_BLOCKS: dict[int, range] = {2: range(0, 1), 3: range(1, 3), 4: range(3, 5), 5: range(5, 8), 6: range(8, 11),
                                  7: range(11, 15), 8: range(15, 16)}
#: output channels of stages 1-8
STAGE_CHANNELS: dict[int, int] = {1: 32, 2: 16, 3: 24, 4: 40, 5: 80, 6: 112, 7: 192, 8: 320}
#: the stages after which EfficientNet-Lite0 can be cut (1 = after the stem ... 8 = only the head trains)
STAGES = tuple(range(1, 9))
#: the cut points a training configuration may use (``TrainConfig.feature_stage``): the cached activations
#: of earlier cuts are too large for a whole CIFAR-100 split in memory (stage 4 at 128 px: 20 KB per image,
#: 1.2 GB for 60,000 images in fp16; stage 1: 15 GB) and their tops too slow to train on a CPU
FINETUNE_STAGES = (5, 6, 7, 8)


def _check_stage(stage, allowed=STAGES) -> int:
    if isinstance(stage, bool) or not isinstance(stage, int) or stage not in allowed:
        raise ValueError(f"EfficientNet-Lite0 stage must be one of {list(allowed)} (Tan & Le 2019 Table 1: "
                         f"1 = stem ... 8 = the last MBConv stage), got {stage!r}")
    return stage


def _last_block(stage: int) -> int:
    """Index of the first block *after* ``stage`` (0 after the stem)."""
    return 0 if stage == 1 else STAGE_BLOCKS[stage].stop


class EfficientNetLite0Bottom(nn.Module):
    """Stem and stages 2..``stage``: normalised images (B, 3, H, W) -> activations (B, C, H', W'), frozen.

    Parameters have ``requires_grad=False`` and the module stays in eval mode (BatchNorm running statistics,
    no drop connect) even inside a parent put in training mode.
    """

    def __init__(self, model: nn.Module, stage: int):
        super().__init__()
        self.stage = _check_stage(stage)
        n = _last_block(stage)
        self.conv_stem, self.bn0, self.act = model._conv_stem, model._bn0, model._swish
        self.blocks = nn.ModuleList(model._blocks[:n])
        self.drop_connect_rate = float(model._global_params.drop_connect_rate or 0.0)
        self.num_blocks = len(model._blocks)
        for p in self.parameters():
            p.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True):
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"EfficientNetLite0Bottom expects (B, 3, H, W) normalised images, got {tuple(x.shape)}")
        x = self.act(self.bn0(self.conv_stem(x)))
        for block in self.blocks:  # eval mode: drop connect is inactive
            x = block(x)
        return x


class EfficientNetLite0Top(nn.Module):
    """Stages ``stage + 1``..8, the head convolution (stage 9) and global average pooling:
    activations of stage ``stage`` (B, C, H, W), any float dtype -> float32 features (B, 1280).

    Every parameter is trainable; the BatchNorm layers stay in eval mode (module docstring). Drop connect
    uses each block's pretrained rate ``drop_connect_rate * i / num_blocks`` (global block index ``i``), active
    in training mode only, as in the package's ``EfficientNet.extract_features``.
    """

    feature_dim = 1280

    def __init__(self, model: nn.Module, stage: int):
        super().__init__()
        self.stage = _check_stage(stage)
        self.first_block = _last_block(stage)
        self.in_channels = STAGE_CHANNELS[stage]
        self.blocks = nn.ModuleList(model._blocks[self.first_block:])
        self.conv_head, self.bn1, self.act = model._conv_head, model._bn1, model._swish
        self.drop_connect_rate = float(model._global_params.drop_connect_rate or 0.0)
        self.num_blocks = len(model._blocks)
        self.train(False)

    def train(self, mode: bool = True):
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.train(False)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"EfficientNetLite0Top after stage {self.stage} expects (B, {self.in_channels}, H, W) "
                             f"activations, got shape {tuple(x.shape)}; build the cache with the same feature_stage")
        x = x.float()
        for j, block in enumerate(self.blocks):
            rate = self.drop_connect_rate * float(self.first_block + j) / self.num_blocks
            x = block(x, drop_connect_rate=rate or None)
        x = self.act(self.bn1(self.conv_head(x)))
        return x.mean(dim=(2, 3))


def _pretrained_model(pretrained: bool = True) -> nn.Module:
    from .backbones import efficientnet_lite0_network

    model = efficientnet_lite0_network(pretrained)
    if len(model._blocks) != STAGE_BLOCKS[8].stop:  # the stage table above must describe this network
        raise RuntimeError(f"efficientnet-lite0 has {len(model._blocks)} blocks, the stage table expects "
                           f"{STAGE_BLOCKS[8].stop}; the efficientnet-lite-pytorch package changed")
    return model


def split_efficientnet_lite0(stage: int, pretrained: bool = True) -> tuple[EfficientNetLite0Bottom,
                                                                            EfficientNetLite0Top]:
    """``(bottom, top)`` of one (ImageNet-pretrained) EfficientNet-Lite0 cut after ``stage`` (1..8): the frozen
    bottom maps normalised images to stage-``stage`` activations, the trainable top maps those to the
    1280-d pooled features. Each call loads a fresh network (the two parts share no parameters with other
    calls)."""
    stage = _check_stage(stage)
    model = _pretrained_model(pretrained)
    return EfficientNetLite0Bottom(model, stage), EfficientNetLite0Top(model, stage)


def stage_output_shape(stage: int, resolution: int) -> tuple[int, int, int]:
    """``(C, H, W)`` of the stage-``stage`` activations of a ``resolution`` x ``resolution`` input (a dry run of
    the stem's and blocks' strides and padding on a zero image, random weights)."""
    bottom, _ = split_efficientnet_lite0(stage, pretrained=False)
    with torch.inference_mode():
        out = bottom(torch.zeros(1, 3, int(resolution), int(resolution)))
    return tuple(int(s) for s in out.shape[1:])
