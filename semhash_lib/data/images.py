"""Decoding image files into the one image convention every semhash dataset uses.

Convention (all datasets in :mod:`semhash_lib.data`): an image is a ``torch.uint8`` tensor shaped
``(C, H, W)`` with values 0..255 — RGB (``C=3``) for files and CIFAR-100, grey (``C=1``) for
Fashion-MNIST. A dataset's ``transform`` receives that tensor (``torchvision.transforms.v2`` works on
such tensors directly); without a transform the tensor itself is returned.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..paths import DataFormatError

__all__ = ["IMAGE_EXTENSIONS", "is_image_file", "load_image"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


def is_image_file(path: str | os.PathLike) -> bool:
    """True when the file name ends with one of :data:`IMAGE_EXTENSIONS` (case-insensitive)."""
    return str(path).lower().endswith(IMAGE_EXTENSIONS)


def load_image(path: str | os.PathLike) -> torch.Tensor:
    """Decode an image file to an RGB ``uint8`` tensor ``(3, H, W)`` (grey and palette images converted).

    Raises :class:`~semhash_lib.paths.DataFormatError` naming the file when it cannot be decoded
    (truncated download, HTML error page saved as ``.jpg``, ...).
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DataFormatError(f"{path}: not a readable image ({e.__class__.__name__}: {e}); "
                              "re-download or delete the file.") from e
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
