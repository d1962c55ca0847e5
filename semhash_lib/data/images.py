"""Decoding image files into the one image convention every semhash dataset uses.

Convention (all datasets in :mod:`semhash_lib.data`): an image is a ``torch.uint8`` tensor shaped
``(C, H, W)`` with values 0..255 — RGB (``C=3``) for files and CIFAR-100, grey (``C=1``) for
Fashion-MNIST. A dataset's ``transform`` receives that tensor (``torchvision.transforms.v2`` works on
such tensors directly); without a transform the tensor itself is returned.

Large image collections (ImageNet folders, downloaded Conceptual Captions) are not held in memory: they are
decoded in batches straight to the network's input size by :func:`load_image_resized` — the usual ImageNet
evaluation transform, shorter side resized to ``round(size / crop)`` and the central ``size`` x ``size``
square cut out (``crop`` = 0.875: 256 -> 224) — with :func:`decode_images` / :func:`iter_image_batches`, and
:class:`ImageFiles` is a lazy list of the full-size images (for figures).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..paths import DataFormatError

__all__ = ["IMAGE_EXTENSIONS", "CENTER_CROP", "is_image_file", "load_image", "load_image_resized", "ImageFiles",
           "decode_images", "iter_image_batches"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")
CENTER_CROP = 0.875  # share of the resized shorter side kept by the centre crop (256 -> 224, the ImageNet convention)


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
        raise _open_error(path, e) from e
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))


def _open_error(path: Path, e: Exception) -> DataFormatError:
    """The error for an image file that cannot be decoded (both loaders raise it)."""
    return DataFormatError(f"{path}: not a readable image ({e.__class__.__name__}: {e}); re-download or delete the file.")


def load_image_resized(path: str | os.PathLike, size: int, crop: float = CENTER_CROP) -> torch.Tensor:
    """Decode an image file to an RGB ``uint8`` tensor ``(3, size, size)``: the shorter side resized to
    ``round(size / crop)`` (bilinear, antialiased), then the central ``size`` x ``size`` square
    (``crop=1``: the whole shorter side). JPEGs are decoded at the smallest DCT scale that is still at least
    that large (PIL's ``draft``), which makes large photos several times cheaper to read. Errors as
    :func:`load_image`."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    if not 0 < crop <= 1:
        raise ValueError(f"crop must be in (0, 1], got {crop!r}")
    path = Path(path)
    short = max(size, round(size / crop))
    try:
        with Image.open(path) as im:
            im.draft("RGB", (short, short))
            im = im.convert("RGB")
            w, h = im.size
            scale = short / min(w, h)
            nw, nh = max(short, round(w * scale)), max(short, round(h * scale))
            im = im.resize((nw, nh), Image.BILINEAR)
            left, top = (nw - size) // 2, (nh - size) // 2
            rgb = np.asarray(im.crop((left, top, left + size, top + size)))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise _open_error(path, e) from e
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))


class ImageFiles(Dataset):
    """A lazy, indexable list of image files: item ``i`` is ``load_image(paths[i])`` (full size), or
    ``load_image_resized(paths[i], size, crop)`` when ``size`` is given. ``len()`` and ``.paths`` as expected;
    used where a dataset is too large to decode at once (figures index it like a list of images)."""

    def __init__(self, paths, size: int | None = None, crop: float = CENTER_CROP):
        self.paths = [Path(p) for p in paths]
        self.size, self.crop = size, crop

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return ImageFiles(self.paths[i], self.size, self.crop)
        if isinstance(i, (np.ndarray, list)):
            return ImageFiles([self.paths[j] for j in np.asarray(i).tolist()], self.size, self.crop)
        path = self.paths[int(i)]
        return load_image(path) if self.size is None else load_image_resized(path, self.size, self.crop)


def iter_image_batches(paths, size: int, batch_size: int = 64, workers: int | None = None,
                       crop: float = CENTER_CROP):
    """Yield ``uint8 (b, 3, size, size)`` batches of :func:`load_image_resized` over ``paths``, in order,
    decoded by ``workers`` processes (default: :func:`semhash_lib.devices.cpu_threads`, at most 8; 0 decodes
    in this process)."""
    from torch.utils.data import DataLoader

    from ..devices import cpu_threads

    workers = min(cpu_threads(), 8) if workers is None else int(workers)
    if len(paths) <= batch_size:
        workers = 0                      # not worth starting processes for one batch
    loader = DataLoader(ImageFiles(paths, size, crop), batch_size=batch_size, shuffle=False, num_workers=workers)
    yield from loader


def decode_images(paths, size: int, batch_size: int = 64, workers: int | None = None, crop: float = CENTER_CROP,
                  progress: bool = False, desc: str = "decoding images") -> torch.Tensor:
    """All of ``paths`` as one ``uint8 (N, 3, size, size)`` tensor (:func:`iter_image_batches`), with a tqdm
    bar when ``progress``. Needs ``N * 3 * size**2`` bytes of memory."""
    out = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(paths), desc=desc, unit="img", leave=False)
    pos = 0
    for batch in iter_image_batches(paths, size, batch_size, workers, crop):
        out[pos:pos + len(batch)] = batch
        pos += len(batch)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    return out
