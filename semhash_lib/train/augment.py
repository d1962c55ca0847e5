"""Batched image preprocessing inside the model (``ImageInput``) and batched augmentation (``augment_batch``).

Both work on whole batches on the training device (the GPU keeps the whole CIFAR tensor and augments
there); no per-sample Python loop, no DataLoader workers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ImageInput", "augment_batch"]


class ImageInput(nn.Module):
    """Turns raw images into the backbone's input, inside the model (so :func:`encode` takes raw pixels).

    ``x`` uint8 or float in [0, 255], (B, C, H, W) -> ``(x / 255 - mean) / std`` per channel, grey
    images repeated to ``channels`` channels, then resized (bilinear) to ``resolution`` when given.
    """

    def __init__(self, mean, std, channels: int | None = None, resolution: int | None = None):
        super().__init__()
        mean, std = torch.as_tensor(mean, dtype=torch.float32), torch.as_tensor(std, dtype=torch.float32)
        if mean.shape != std.shape or mean.ndim != 1:
            raise ValueError(f"mean and std must be 1-d of equal length, got {tuple(mean.shape)}, {tuple(std.shape)}")
        self.register_buffer("mean", mean.view(1, -1, 1, 1))
        self.register_buffer("std", std.view(1, -1, 1, 1))
        self.channels, self.resolution = channels, resolution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise ValueError(f"images must be (B, C, H, W), got shape {tuple(x.shape)}")
        x = x.float() / 255.0
        if self.channels is not None and x.shape[1] != self.channels:
            if x.shape[1] != 1:
                raise ValueError(f"expected {self.channels} or 1 image channels, got {x.shape[1]}")
            x = x.expand(-1, self.channels, -1, -1)
        if x.shape[1] != self.mean.shape[1] and self.mean.shape[1] != 1:
            raise ValueError(f"images have {x.shape[1]} channels, normalisation has {self.mean.shape[1]}")
        x = (x - self.mean) / self.std
        if self.resolution is not None and x.shape[-1] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False)
        return x


def augment_batch(x: torch.Tensor, generator: torch.Generator, pad: int = 4, flip: bool = True) -> torch.Tensor:
    """Random crop with ``pad`` pixels of zero padding + random horizontal flip, on a whole batch at once.

    The standard CIFAR augmentation (He et al. 2016): ``out[b] = pad(x[b])[:, oy_b:oy_b+H, ox_b:ox_b+W]``
    with offsets ``oy, ox ~ U{0..2*pad}``, flipped left-right with probability 1/2. The random draws come
    from ``generator`` (a CPU generator, so the draws are identical on every device); indexing runs on
    ``x``'s device, no per-sample Python loop.
    """
    b, c, h, w = x.shape
    dev = x.device
    offsets = torch.randint(0, 2 * pad + 1, (2, b), generator=generator).to(dev)
    flips = (torch.rand(b, generator=generator) < 0.5).to(dev) if flip else None
    if pad > 0:
        padded = F.pad(x, (pad, pad, pad, pad))
        rows = (offsets[0][:, None] + torch.arange(h, device=dev))[:, None, :, None]   # (B,1,H,1)
        cols = (offsets[1][:, None] + torch.arange(w, device=dev))[:, None, None, :]   # (B,1,1,W)
        bi = torch.arange(b, device=dev)[:, None, None, None]
        ci = torch.arange(c, device=dev)[None, :, None, None]
        x = padded[bi, ci, rows, cols]
    if flips is not None:
        x = torch.where(flips[:, None, None, None], x.flip(-1), x)
    return x
