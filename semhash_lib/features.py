"""Frozen-backbone image features, computed once per dataset split and cached (the quick CPU profiles).

Training a CNN end to end on CIFAR-100 takes GPU hours; on 2 CPU cores the practical route is the
"linear-probe" one: run a frozen ImageNet-pretrained EfficientNet-Lite0 once over every image, keep its
1280-d globally pooled features, and train the hashing heads on those (profiles ``quick`` and ``medium``).
The paper's own backbone is unknown (``docs/paper.md`` §6); this is a documented substitute
(``docs/reconstruction.md``).

Pipeline per batch: ``uint8 (B, C, H, W)`` -> float, grey repeated to RGB -> bilinear resize to
``resolution`` -> normalised as the pretrained weights expect (for EfficientNet-Lite, TensorFlow's
``(x - 127) / 128``) -> frozen backbone in eval mode, channels-last memory layout -> (B, 1280). Features are cached as
``data/cache/features/<dataset>-<split>-<backbone>-<resolution>-<key>.npz`` where ``key`` hashes
everything that determines them (the image bytes, backbone, weights file, resolution, normalisation);
the file is written atomically and a corrupt one is rebuilt.

Speed and quality on the 2-core development CPU (``torch.set_num_threads(2)``; 5,000 CIFAR-100 training
images, 2,000 test images; accuracy of nearest-class-mean (cosine) and of an L2 logistic regression
(C = 0.1) on the features; the machine was shared with other jobs, so the timings are pessimistic and
varied up to ~7x under heavy contention):

============  =============  ======================  ==================
resolution    s/1000 images  nearest-class-mean acc  logistic reg. acc
============  =============  ======================  ==================
64            0.9            0.359                   0.404
96            2.4            0.492                   0.551
128           3.0            0.535                   0.581
160           8.6 (4.4)      0.577                   0.622
============  =============  ======================  ==================

(160: 8.6 s in the table run, 4.4 s in a quieter one.) The ``quick`` and ``medium`` profiles use 128 px:
5.9 s per 1,000 images on the idle 2-core machine in NCHW layout, 4.4 s in the channels-last layout used now
(the whole of CIFAR-100 in about 4.5 minutes; ``docs/speed.md``). Larger inputs
and EfficientNet-Lite2 (``efficientnet_lite2``, optional wheel) were compared for the medium profile in
``benchmarks/README.md`` ("Frozen features for the medium profile"): more probe accuracy, no more than
+0.01 validation mAHP@250 of a hashing head, for 3-5x the extraction time.

**Stage activations** (``stage=k``, the fine-tuning regime of ``docs/reconstruction.md``): instead of the
pooled features, the activations after EfficientNet-Lite0's stage ``k`` (Tan & Le 2019 numbering,
:mod:`semhash_lib.models.efficientnet_split`) are computed by the frozen bottom of the network and cached
as float16 ``(N, C, H', W')`` under ``<name>-<backbone>-<resolution>px-stage<k>-<key>.npz``, the key also
hashing ``k``; a trainable top (the remaining stages) is then trained on them. Without ``stage`` the
pipeline, its cache names and keys are exactly those above.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .devices import resolve_device, use_cpu_threads
from .io import atomic_save_npz, cache_dir, cache_key, load_npz

__all__ = ["extract_features", "features_from_images", "feature_cache_path", "auto_batch_size", "DEFAULT_RESOLUTION",
           "FEATURE_VERSION", "STAGE_BACKBONES", "weights_id"]

DEFAULT_RESOLUTION = 128  # the quick profile's choice (module docstring: speed/quality table)
FEATURE_VERSION = 1       # bump when the pipeline changes so old caches are not reused
STAGE_BACKBONES = ("efficientnet_lite0",)  # the backbones whose stage activations can be cached (stage=)


def _backbone_stats(backbone: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(mean, std) in [0, 1] units that the pretrained ``backbone`` expects."""
    from . import models

    stats = models.BACKBONE_INPUT_STATS.get(backbone)
    if stats is None:
        raise ValueError(f"no input normalisation is known for backbone {backbone!r}; "
                         "semhash_lib.models.BACKBONE_INPUT_STATS must list it")
    return tuple(map(float, stats[0])), tuple(map(float, stats[1]))


def weights_id(backbone: str) -> str:
    """A cheap identity of ``backbone``'s pretrained weights (file name and size) for cache keys."""
    if backbone.startswith("efficientnet_lite"):
        from .resources import efficientnet_lite_weights

        p = efficientnet_lite_weights(int(backbone[-1]))
        return f"{p.name}:{p.stat().st_size}"
    return backbone


CHECKPOINT_SECONDS = 60.0   # how often an extraction writes what it has computed (resumable), seconds


def _batches(images, resolution: int, batch_size: int):
    """Yield float (b, 3, resolution, resolution) batches in [0, 1]; a list of (C, H, W) images of mixed
    sizes is resized one by one (it is not the hot path: such lists are small caption fixtures)."""
    n = len(images)
    for i in range(0, n, batch_size):
        chunk = images[i:i + batch_size]
        if isinstance(chunk, (list, tuple)):
            xs = [F.interpolate(torch.as_tensor(im)[None].float(), size=(resolution, resolution),
                                mode="bilinear", align_corners=False) for im in chunk]
            x = torch.cat(xs)
        else:
            x = torch.as_tensor(chunk).float()
            x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        yield x / 255.0


def features_from_images(images: np.ndarray | torch.Tensor | Sequence[torch.Tensor],
                         backbone: str = "efficientnet_lite0", resolution: int = DEFAULT_RESOLUTION,
                         batch_size: int | None = None, device: str | torch.device | None = None,
                         progress: bool = True, cache_name: str | None = None,
                         cached_only: bool = False, stage: int | None = None,
                         checkpoint_seconds: float = CHECKPOINT_SECONDS) -> np.ndarray | None:
    """Frozen ``backbone`` features of ``images``: float32 (N, feature_dim) (1280 for EfficientNet-Lite0).

    ``images``: uint8 (N, C, H, W) array/tensor (C = 1 or 3), or a list of uint8 (C, H, W) tensors of any
    sizes. Each is resized (bilinear) to ``resolution`` x ``resolution``, normalised as the pretrained
    weights expect (``models.BACKBONE_INPUT_STATS``) and passed through
    ``models.build_backbone(backbone, freeze=True)`` in eval mode, without gradients.
    ``batch_size=None`` picks :func:`auto_batch_size` (small batches on CPU: measured fastest there).
    With ``cache_name``, the result is cached under ``data/cache/features`` keyed by the image bytes and
    every setting (a corrupt cache file is rebuilt); ``cached_only=True`` returns ``None`` instead of
    computing when the cache has no entry. A cached extraction is resumable: every ``checkpoint_seconds`` the
    features computed so far are written (atomically) to ``<cache file>.partial.npz``, and an interrupted
    extraction of the same images and settings continues from there (eval mode, and the batches start at the same
    images as before, so resuming gives the same array); the progress bar shows the rate and the time left.

    ``stage=k`` (``efficientnet_lite0`` only): the activations after stage ``k`` instead, float16
    (N, C, H', W') from :class:`semhash_lib.models.EfficientNetLite0Bottom` (frozen, eval mode), cached under
    a name and key that include ``k`` (module docstring); ``stage=None`` is the pooled-feature pipeline.
    """
    from .models import build_backbone

    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 16:
        raise ValueError(f"resolution must be an int >= 16, got {resolution!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size <= 0):
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    is_list = isinstance(images, (list, tuple))
    if not is_list:
        images = torch.as_tensor(images)
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"images must be (N, C, H, W) with C in (1, 3), got {tuple(images.shape)}")
        if images.dtype != torch.uint8:
            raise TypeError(f"images must be uint8 (0..255), got {images.dtype}")
    if stage is not None:
        _check_stage_backbone(backbone, stage)
    mean, std = _backbone_stats(backbone)
    path = None
    if cache_name is not None:
        content = (torch.cat([torch.as_tensor(im).flatten() for im in images]).numpy() if is_list
                   else images.numpy())
        shapes = [tuple(im.shape) for im in images] if is_list else list(images.shape)
        parts = ("features", FEATURE_VERSION, backbone, weights_id(backbone), resolution, mean, std, shapes, content)
        key = cache_key(*parts) if stage is None else cache_key(*parts, "stage", stage)
        path = feature_cache_path(cache_name, backbone, resolution, key, stage=stage)
        cached = load_npz(path, ("features",))
        if cached is not None:
            return cached["features"]
    if cached_only:
        return None

    device = resolve_device(device)
    batch_size = batch_size or auto_batch_size(resolution, device)
    use_cpu_threads(device)
    if stage is None:
        net, dim = build_backbone(backbone, freeze=True)
        out = np.empty((len(images), dim), dtype=np.float32)
        what = "features"
    else:
        from .models import split_efficientnet_lite0

        net, _ = split_efficientnet_lite0(stage)
        out = None  # (N, C, H', W') float16, allocated at the first batch (its shape)
        what = f"stage-{stage} activations"
    # channels-last (NHWC) tensors: oneDNN's convolutions, the depthwise ones above all, run ~1.5x faster on
    # them on CPU (benchmarks/README.md, "The quick profile"); the features equal the NCHW ones to float rounding
    net = net.to(device, memory_format=torch.channels_last).eval()
    m = torch.tensor(mean, device=device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=device).view(1, -1, 1, 1)
    pos = 0
    partial = None if path is None else path.with_name(path.name.removesuffix(".npz") + ".partial.npz")
    if partial is not None:
        done = load_npz(partial, ("features",))
        if done is not None and len(done["features"]) <= len(images):
            pos = len(done["features"])
            out = np.empty((len(images), *done["features"].shape[1:]), dtype=done["features"].dtype)
            out[:pos] = done["features"]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(images), initial=pos, desc=f"{backbone} {what} @{resolution}px", unit="img",
                   leave=False)
    t0, start, saved = time.perf_counter(), pos, time.perf_counter()
    with torch.inference_mode():
        for x in _batches(images[pos:], resolution, batch_size):
            x = ((x.to(device) - m) / s).contiguous(memory_format=torch.channels_last)
            f = net(x).to(torch.float32 if stage is None else torch.float16)
            if stage is not None and not bool(torch.isfinite(f).all()):
                raise FloatingPointError(f"stage-{stage} activations overflow float16 (max 65504); cut at "
                                         "another stage or check the input images")
            if out is None:
                out = np.empty((len(images), *f.shape[1:]), dtype=np.float16)
            out[pos:pos + len(f)] = f.reshape(len(f), *out.shape[1:]).cpu().numpy()
            pos += len(f)
            if bar is not None:
                bar.set_postfix({"img/s": f"{(pos - start) / (time.perf_counter() - t0):.0f}"}, refresh=False)
                bar.update(len(f))
            if partial is not None and pos < len(images) and time.perf_counter() - saved >= checkpoint_seconds:
                atomic_save_npz(partial, features=out[:pos])
                saved = time.perf_counter()
    if bar is not None:
        bar.close()
    if out is None:  # no images
        from .models import stage_output_shape

        out = np.empty((0, *stage_output_shape(stage, resolution)), dtype=np.float16)
    if path is not None:
        atomic_save_npz(path, features=out)
        partial.unlink(missing_ok=True)
    return out


def _check_stage_backbone(backbone: str, stage) -> None:
    """``stage`` must be a cut point of a backbone that has stages (a clear error otherwise)."""
    from .models import STAGES

    if backbone not in STAGE_BACKBONES:
        raise ValueError(f"stage activations exist for the backbone(s) {list(STAGE_BACKBONES)} only, got "
                         f"backbone {backbone!r}; use stage=None for its pooled features")
    if isinstance(stage, bool) or not isinstance(stage, int) or stage not in STAGES:
        raise ValueError(f"stage must be one of {list(STAGES)} (EfficientNet-Lite0 stages, Tan & Le 2019 "
                         f"Table 1) or None, got {stage!r}")


def auto_batch_size(resolution: int, device: torch.device) -> int:
    """Images per forward pass: on CPU about 2**17 pixels (8 images at 128 px, 32 at 64 px) — EfficientNet's
    depthwise convolutions are memory-bound there and small batches that stay in cache ran 2-4x faster
    than 250-image batches on the 2-core development machine; on GPU 256."""
    if device.type != "cpu":
        return 256
    return max(1, round(2 ** 17 / resolution ** 2))


def feature_cache_path(name: str, backbone: str, resolution: int, key: str, stage: int | None = None) -> Path:
    """``<cache>/features/<name>-<backbone>-<resolution>px-<key>.npz``; with ``stage``:
    ``<cache>/features/<name>-<backbone>-<resolution>px-stage<stage>-<key>.npz``."""
    cut = "" if stage is None else f"stage{stage}-"
    return cache_dir("features") / f"{name}-{backbone}-{resolution}px-{cut}{key}.npz"


def extract_features(dataset_name: str, split: str, backbone: str = "efficientnet_lite0",
                     resolution: int = DEFAULT_RESOLUTION, root: str | os.PathLike | None = None,
                     batch_size: int | None = None, device: str | torch.device | None = None,
                     progress: bool = True, cached_only: bool = False, stage: int | None = None) -> np.ndarray | None:
    """Cached frozen-backbone features of a whole dataset split: float32 (N, 1280), in the order of
    ``semhash_lib.data.load_arrays(dataset_name, split)`` (so its labels apply unchanged).

    ``dataset_name``: ``"cifar100"`` or ``"fashion-mnist"``; ``split``: ``"train"`` or ``"test"``;
    ``resolution``: the square input size the images are resized to (bilinear). The first call computes
    and caches (``data/cache/features``, or ``$SEMHASH_CACHE/features``); later calls load the cache.
    ``cached_only=True``: ``None`` unless the cache already holds them (never computes). ``stage=k``: the
    float16 stage-``k`` activations (N, C, H', W') instead (:func:`features_from_images`).
    """
    from .data import canonical_name, load_arrays

    name = canonical_name(dataset_name)
    images, _, _ = load_arrays(name, split, root=root)
    return features_from_images(images, backbone=backbone, resolution=resolution, batch_size=batch_size,
                                device=device, progress=progress, cache_name=f"{name}-{split}",
                                cached_only=cached_only, stage=stage)
