"""Conceptual Captions (Sharma et al. 2018): a ``caption<TAB>url`` TSV plus images the user downloaded.

The image–caption data of the paper's sentence-similarity experiments (``docs/paper.md`` §6).
The TSV has no header; ``../shared/data/conceptual-captions`` holds the 15,833-row validation split.

**Image naming rule.** The image of row ``i`` (0-based line number of the TSV) is a file anywhere
under ``image_dir`` (sub-folders included) whose name without extension is either

- ``i`` in decimal, optionally zero-padded: ``12.jpg``, ``000000012.jpg`` (img2dataset's keys, also in
  its shard folders ``00000/``), or ``12`` without extension; or
- the SHA-1 hex digest of the row's URL: ``hashlib.sha1(url.encode()).hexdigest() + ".jpg"``.

Only image extensions (:data:`~semhash_lib.data.images.IMAGE_EXTENSIONS`) or no extension count, so
img2dataset's ``.json`` / ``.txt`` side files are ignored. Rows without a local image are skipped
and counted (``.num_missing``); two files for one row are an error.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np
from torch.utils.data import Dataset

from ..paths import DataFormatError, find_dataset_dir
from .images import IMAGE_EXTENSIONS, load_image

__all__ = ["read_conceptual_captions_tsv", "url_key", "find_local_images", "ConceptualCaptions", "sample_captions"]

VALIDATION_TSV = "Validation_GCC-1.1.0-Validation.tsv"
HOW_TO_GET = ("Download the TSV files from https://ai.google.com/research/ConceptualCaptions/download "
              "into ./data/conceptual-captions or $SEMHASH_DATA/conceptual-captions, or pass the TSV path.")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


def read_conceptual_captions_tsv(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """``(captions, urls)`` of a ``caption<TAB>url`` TSV without header (UTF-8, ``\\n`` or ``\\r\\n``).

    A row without exactly one tab, or with an empty caption or URL, raises
    :class:`~semhash_lib.paths.DataFormatError` naming the file and the 1-based line number. A final
    newline is allowed; blank lines elsewhere are malformed rows.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataFormatError(f"{path}: not UTF-8 text ({e}).") from e
    lines = text.split("\n")  # not splitlines(): captions may hold U+2028 and friends
    if lines and lines[-1] == "":
        lines.pop()
    captions, urls = [], []
    for n, line in enumerate(lines, start=1):
        parts = line.rstrip("\r").split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise DataFormatError(f"{path}, line {n}: expected 'caption<TAB>url' (one tab, both non-empty), "
                                  f"got {line[:80]!r}.")
        captions.append(parts[0].strip())
        urls.append(parts[1].strip())
    if not captions:
        raise DataFormatError(f"{path}: the file holds no rows.")
    return captions, urls


def url_key(url: str) -> str:
    """The SHA-1 file-name key of a URL: ``hashlib.sha1(url.encode("utf-8")).hexdigest()``."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


def find_local_images(image_dir: str | os.PathLike, urls: list[str]) -> list[Path | None]:
    """For each row ``i`` the path of its image under ``image_dir`` (naming rule above), else ``None``.

    One directory walk; rows are matched by index or by :func:`url_key`.
    """
    image_dir = Path(image_dir)
    if not image_dir.is_dir():
        raise FileNotFoundError(f"image folder {image_dir} does not exist; download the images there "
                                "(see the naming rule in semhash_lib.data.conceptual_captions).")
    by_key: dict[object, Path] = {}
    for dirpath, _, files in os.walk(image_dir):
        for name in files:
            stem, ext = os.path.splitext(name)
            if ext and ext.lower() not in IMAGE_EXTENSIONS:
                continue
            key: object
            if stem.isascii() and stem.isdigit():
                key = int(stem)
            elif _SHA1.match(stem.lower()):
                key = stem.lower()
            else:
                continue
            path = Path(dirpath) / name
            if key in by_key:
                raise DataFormatError(f"two image files for one row: {by_key[key]} and {path}; keep one.")
            by_key[key] = path
    hashed = any(isinstance(k, str) for k in by_key)  # hash the URLs only when SHA-1 names exist
    out: list[Path | None] = []
    for i, url in enumerate(urls):
        a = by_key.get(i)
        b = by_key.get(url_key(url)) if hashed else None
        if a is not None and b is not None and a != b:
            raise DataFormatError(f"two image files for row {i}: {a} and {b}; keep one.")
        out.append(a if a is not None else b)
    return out


class ConceptualCaptions(Dataset):
    """Conceptual Captions rows; item ``i`` is ``(image, caption)``, or the caption alone without images.

    ``tsv_path``: the TSV (``None``: the validation TSV ``conceptual-captions/`` under the data roots
    of :mod:`semhash_lib.paths`). ``image_dir``: folder of downloaded images (naming rule in the module
    docstring); rows without a local image are skipped and counted in ``.num_missing``. With
    ``image_dir=None`` the dataset is captions-only: every row, items are caption strings.
    An image is an RGB ``uint8`` ``(3, H, W)`` tensor passed through ``transform`` when given.
    Attributes: ``.captions``, ``.urls``, ``.indices`` (TSV row of each item, int64), ``.paths``
    (``None`` when captions-only), ``.num_rows``, ``.num_missing``.
    """

    def __init__(self, tsv_path: str | os.PathLike | None = None, image_dir: str | os.PathLike | None = None,
                 transform: Callable | None = None):
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}.")
        if tsv_path is None or Path(tsv_path).is_dir():
            folder = find_dataset_dir(["conceptual-captions"], [VALIDATION_TSV], tsv_path, HOW_TO_GET)
            tsv_path = folder / VALIDATION_TSV
        self.tsv_path = Path(tsv_path)
        if not self.tsv_path.is_file():
            raise FileNotFoundError(f"Conceptual Captions TSV {self.tsv_path} does not exist. {HOW_TO_GET}")
        captions, urls = read_conceptual_captions_tsv(self.tsv_path)
        self.num_rows, self.transform = len(captions), transform
        self.image_dir = None if image_dir is None else Path(image_dir)
        if self.image_dir is None:
            self.indices = np.arange(len(captions), dtype=np.int64)
            self.captions, self.urls, self.paths, self.num_missing = captions, urls, None, 0
            return
        found = find_local_images(self.image_dir, urls)
        self.indices = np.array([i for i, p in enumerate(found) if p is not None], dtype=np.int64)
        self.captions = [captions[i] for i in self.indices]
        self.urls = [urls[i] for i in self.indices]
        self.paths = [found[i] for i in self.indices]
        self.num_missing = self.num_rows - len(self.indices)

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, i: int):
        if self.paths is None:
            return self.captions[i]
        image = load_image(self.paths[i])
        return (self.transform(image) if self.transform is not None else image), self.captions[i]


def sample_captions(n: int, seed: int = 0, tsv_path: str | os.PathLike | None = None) -> tuple[list[str], int]:
    """``(captions, total)``: ``min(n, total)`` captions of the Conceptual Captions TSV (captions only, no
    images; ``tsv_path`` as in :class:`ConceptualCaptions`) drawn without replacement with
    ``numpy.random.default_rng(seed)``, in TSV order, and the number of captions in the TSV."""
    cc = ConceptualCaptions(tsv_path)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(cc.captions), size=min(n, len(cc.captions)), replace=False))
    return [cc.captions[i] for i in pick], len(cc.captions)
