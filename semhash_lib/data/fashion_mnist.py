"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 70,000 grey 28×28 images of 10 clothing classes.

Read from the four IDX files (plain or ``.gz``) in a folder named ``fashion-mnist`` (Debian's
``dataset-fashion-mnist`` installs ``/usr/share/datasets/fashion-mnist``), ``fashion_mnist``, or
torchvision's ``FashionMNIST/raw``; online, downloaded with torchvision as a last resort.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..paths import DataFormatError, find_or_download
from .idx import read_idx

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_RECORDS", "find_fashion_mnist", "load_fashion_mnist"]

# Official label order (https://github.com/zalandoresearch/fashion-mnist#labels).
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                         "Sneaker", "Bag", "Ankle boot"]
FASHION_MNIST_RECORDS = {"train": 60_000, "test": 10_000}
_PREFIX = {"train": "train", "test": "t10k"}
FOLDER_NAMES = ("fashion-mnist", "fashion_mnist", "FashionMNIST/raw")
HOW_TO_GET = ("Install Debian's `dataset-fashion-mnist` package (files in /usr/share/datasets/fashion-mnist), "
              "or put the four *-idx?-ubyte[.gz] files from https://github.com/zalandoresearch/fashion-mnist "
              "into ./data/fashion-mnist or $SEMHASH_DATA/fashion-mnist, or pass their folder as `root`.")


def _files(split: str) -> tuple[str, str]:
    p = _PREFIX[split]
    return f"{p}-images-idx3-ubyte", f"{p}-labels-idx1-ubyte"


def _download(target: Path) -> None:
    from torchvision.datasets import FashionMNIST

    FashionMNIST(root=str(target), train=True, download=True)  # fetches and unpacks both splits


def _pick(folder: Path, name: str) -> Path:
    return folder / name if (folder / name).exists() else folder / f"{name}.gz"


def find_fashion_mnist(root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The folder holding the four Fashion-MNIST IDX files (plain or ``.gz``).

    An explicit ``root`` (that folder, or one containing ``fashion-mnist``, ``fashion_mnist`` or
    ``FashionMNIST/raw``) is the only place looked at. With ``root=None``: the search order of
    :mod:`semhash_lib.paths`; then, if ``download``, torchvision's download into
    ``<project>/data/FashionMNIST/raw``. Raises :class:`DataNotFoundError` naming every place looked at.
    """
    required = [f"{n}|{n}.gz" for s in ("train", "test") for n in _files(s)]
    return find_or_download(list(FOLDER_NAMES), required, root, HOW_TO_GET, download, _download, "Fashion-MNIST",
                            ["FashionMNIST/raw"])


def load_fashion_mnist(split: str, root: str | os.PathLike | None = None, download: bool = True
                       ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(images uint8 (N,1,28,28), labels int64 (N,), class_names (10))`` of ``"train"``/``"test"``.

    Checks the IDX magic numbers, the sizes (60,000 / 10,000 images of 28×28), that images and
    labels agree in number, and that labels lie in 0..9.
    """
    if split not in FASHION_MNIST_RECORDS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    folder = find_fashion_mnist(root, download=download)
    img_path, lab_path = (_pick(folder, n) for n in _files(split))
    images = read_idx(img_path, ndim=3)
    labels = read_idx(lab_path, ndim=1)
    n = FASHION_MNIST_RECORDS[split]
    if images.shape != (n, 28, 28):
        raise DataFormatError(f"{img_path}: expected {n} images of 28x28, found shape {images.shape}.")
    if labels.shape != (n,):
        raise DataFormatError(f"{lab_path}: expected {n} labels, found {labels.shape[0]}.")
    if labels.max() >= len(FASHION_MNIST_CLASSES):
        raise DataFormatError(f"{lab_path}: labels must lie in 0..9, found max {int(labels.max())}.")
    return images[:, None].copy(), labels.astype(np.int64), list(FASHION_MNIST_CLASSES)
