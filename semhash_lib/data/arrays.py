"""In-memory datasets: :func:`load_arrays` (the fast path), :class:`ArrayDataset`, :func:`dataset_stats`.

CIFAR-100 and Fashion-MNIST fit in memory and parse in well under a second, so they are read
straight from the files each time (no cache).
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from .cifar import load_cifar100
from .fashion_mnist import load_fashion_mnist

__all__ = ["DATASET_NAMES", "canonical_name", "load_arrays", "ArrayDataset", "dataset_stats"]

DATASET_NAMES = ("cifar100", "fashion-mnist")
_ALIASES = {"cifar100": "cifar100", "cifar-100": "cifar100", "cifar_100": "cifar100",
            "fashion-mnist": "fashion-mnist", "fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist"}

# Published per-channel statistics of the training images, pixel values scaled to [0, 1].
_STATS = {
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),  # torchvision's ImageNet convention
}


def canonical_name(name: str) -> str:
    """``"cifar100"`` or ``"fashion-mnist"`` for any accepted spelling (case and ``-``/``_`` insensitive)."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a str, got {type(name).__name__}.")
    key = name.strip().lower()
    if key not in _ALIASES and key != "imagenet":
        raise ValueError(f"unknown dataset {name!r}; expected one of {list(DATASET_NAMES)} "
                         "('fashion_mnist' is accepted too; 'imagenet' for dataset_stats only).")
    return _ALIASES.get(key, key)


def load_arrays(name: str, split: str, root: str | os.PathLike | None = None, coarse: bool = False,
                download: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Whole split in memory: ``(images uint8 (N,C,H,W), labels int64 (N,), class_names list[str])``.

    ``name``: ``"cifar100"`` (3×32×32; fine labels, the 20 superclasses with ``coarse=True``) or
    ``"fashion-mnist"`` / ``"fashion_mnist"`` (1×28×28). ``split``: ``"train"`` or ``"test"``.
    ``root``: the dataset's folder or a folder containing it, the only place looked at (an error naming it
    when the data are not there); ``None`` searches the data path of :mod:`semhash_lib.paths`, where
    ``download`` allows the online fallback. ``class_names[labels[i]]`` names image ``i``.
    """
    key = canonical_name(name)
    if key == "cifar100":
        return load_cifar100(split, root, coarse=coarse, download=download)
    if key == "fashion-mnist":
        if coarse:
            raise ValueError("coarse=True exists only for 'cifar100' (Fashion-MNIST has no superclasses).")
        return load_fashion_mnist(split, root, download=download)
    raise ValueError(f"load_arrays does not read {name!r}; expected one of {list(DATASET_NAMES)}.")


def dataset_stats(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Published per-channel ``(mean, std)`` of the training images in [0, 1], for normalisation.

    CIFAR-100: mean (0.5071, 0.4865, 0.4409), std (0.2673, 0.2564, 0.2762); Fashion-MNIST: 0.2860 /
    0.3530; ``"imagenet"``: (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225) for pretrained backbones.
    Normalise as ``(x / 255 - mean) / std`` per channel.
    """
    return _STATS[canonical_name(name)]


class ArrayDataset(Dataset):
    """A torch ``Dataset`` over in-memory images and labels; item ``i`` is ``(image, label)``.

    ``images``: uint8 (N, C, H, W) numpy array or tensor (shared, not copied); ``labels``: integer
    (N,). An item's image is a ``uint8`` ``(C, H, W)`` tensor passed through ``transform`` when given
    (e.g. ``torchvision.transforms.v2``); its label an int64 scalar tensor. ``class_names`` is kept
    as an attribute. Build one from a named dataset with :meth:`from_name`.
    """

    def __init__(self, images, labels, transform: Callable | None = None,
                 class_names: list[str] | None = None):
        images = torch.as_tensor(images)
        labels = torch.as_tensor(labels)
        if images.ndim != 4:
            raise ValueError(f"images must be shaped (N, C, H, W), got {tuple(images.shape)}.")
        if images.dtype != torch.uint8:
            raise TypeError(f"images must be uint8 (0..255), got {images.dtype}; convert before wrapping.")
        if labels.ndim != 1 or labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise TypeError(f"labels must be a 1-d integer array, got {labels.dtype} {tuple(labels.shape)}.")
        if len(labels) != len(images):
            raise ValueError(f"{len(images)} images but {len(labels)} labels.")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}.")
        self.images, self.labels = images, labels.long()
        self.transform, self.class_names = transform, class_names

    @classmethod
    def from_name(cls, name: str, split: str, root: str | os.PathLike | None = None, coarse: bool = False,
                  transform: Callable | None = None) -> "ArrayDataset":
        """``ArrayDataset(*load_arrays(name, split, root, coarse)[:2], transform, class_names)``."""
        images, labels, names = load_arrays(name, split, root=root, coarse=coarse)
        return cls(images, labels, transform=transform, class_names=names)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        image = self.images[i]
        return (self.transform(image) if self.transform is not None else image), self.labels[i]
