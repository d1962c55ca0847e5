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

**img2dataset's layout** (``output_format="files"``, what ``semhash data conceptual-captions`` writes, see
:mod:`semhash_lib.data.download`): shard folders ``00000/``, ``00001/``, ... holding ``<key>.jpg`` with the
caption in ``<key>.txt`` and the row's metadata (``url``, ``caption``, ``key``, ``status``) in ``<key>.json``;
``<key>`` is ``10**ceil(log10(number_sample_per_shard)) * shard + position in shard``, which equals the
TSV row when the shard size is a power of ten (img2dataset's default 10,000; the download command insists on
one). Such a folder is read **without the TSV** by :func:`read_img2dataset_folder` /
:meth:`ConceptualCaptions.from_img2dataset` (captions from the ``.txt`` files, URLs from the ``.json``), or
with the TSV as ``image_dir`` above.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np
from torch.utils.data import Dataset

from ..paths import DataFormatError, DataNotFoundError, find_dataset_dir
from .images import IMAGE_EXTENSIONS, load_image

__all__ = ["read_conceptual_captions_tsv", "iter_conceptual_captions_tsv", "url_key", "find_local_images",
           "read_img2dataset_folder", "find_conceptual_captions_download", "ConceptualCaptions", "sample_captions"]

VALIDATION_TSV = "Validation_GCC-1.1.0-Validation.tsv"
HOW_TO_GET = ("Download the TSV files from https://ai.google.com/research/ConceptualCaptions/download "
              "into ./data/conceptual-captions or $SEMHASH_DATA/conceptual-captions, or pass the TSV path.")
DOWNLOAD_HOW_TO = ("Download the images of both TSVs with img2dataset: semhash data conceptual-captions --tsv "
                   "Train_GCC-training.tsv --out data/conceptual-captions/train --max 100000, and the same with "
                   "Validation_GCC-1.1.0-Validation.tsv --out data/conceptual-captions/val.")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")


def iter_conceptual_captions_tsv(path: str | os.PathLike):
    """Yield ``(caption, url)`` per row of a ``caption<TAB>url`` TSV without header, reading line by line (the
    3.3M-row training TSV is not loaded at once); rules and errors as :func:`read_conceptual_captions_tsv`."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="\n") as f:
            n = 0
            for n, raw in enumerate(f, start=1):   # only \n ends a row (\r\n too), not \r or U+2028
                line = raw.rstrip("\n").rstrip("\r")
                parts = line.split("\t")
                if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
                    raise DataFormatError(f"{path}, line {n}: expected 'caption<TAB>url' (one tab, both non-empty), "
                                          f"got {line[:80]!r}.")
                yield parts[0].strip(), parts[1].strip()
    except UnicodeDecodeError as e:
        raise DataFormatError(f"{path}: not UTF-8 text ({e}).") from e
    if n == 0:
        raise DataFormatError(f"{path}: the file holds no rows.")


def read_conceptual_captions_tsv(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """``(captions, urls)`` of a ``caption<TAB>url`` TSV without header (UTF-8, ``\\n`` or ``\\r\\n``).

    A row without exactly one tab, or with an empty caption or URL, raises
    :class:`~semhash_lib.paths.DataFormatError` naming the file and the 1-based line number. A final
    newline is allowed; blank lines elsewhere are malformed rows.
    """
    captions, urls = [], []
    for caption, url in iter_conceptual_captions_tsv(path):
        captions.append(caption)
        urls.append(url)
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

    @classmethod
    def from_img2dataset(cls, folder: str | os.PathLike, transform: Callable | None = None) -> "ConceptualCaptions":
        """The images of an img2dataset folder with their own captions (:func:`read_img2dataset_folder`), no TSV
        needed: ``.indices`` are the keys, ``.num_rows`` the rows img2dataset was given (its ``*_stats.json``),
        ``.num_missing`` those that did not download, ``.tsv_path`` is ``None``."""
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}.")
        keys, paths, captions, urls = read_img2dataset_folder(folder)
        self = cls.__new__(cls)
        self.tsv_path, self.image_dir, self.transform = None, Path(folder), transform
        self.indices, self.paths, self.captions, self.urls = keys, paths, captions, urls
        self.num_rows = _img2dataset_rows(Path(folder), len(paths))
        self.num_missing = self.num_rows - len(paths)
        return self

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, i: int):
        if self.paths is None:
            return self.captions[i]
        image = load_image(self.paths[i])
        return (self.transform(image) if self.transform is not None else image), self.captions[i]


def read_img2dataset_folder(folder: str | os.PathLike) -> tuple[np.ndarray, list[Path], list[str], list[str]]:
    """``(keys, paths, captions, urls)`` of an img2dataset ``output_format="files"`` folder (module docstring),
    sorted by key: ``keys`` int64 (the TSV rows when the shard size was a power of ten), each image's path,
    its caption (the ``.txt`` side file, else the ``.json``'s ``caption``) and URL (the ``.json``'s ``url``,
    ``""`` without one). Image files whose name is not a decimal key are ignored.

    A missing folder, or one without any ``<key>.<image extension>``, is a one-line
    :class:`~semhash_lib.paths.DataNotFoundError` saying how to download; an image without a caption or an
    unreadable ``.json`` a :class:`~semhash_lib.paths.DataFormatError` naming the file."""
    folder = Path(folder)
    how = (f"download the images with `semhash data conceptual-captions --tsv FILE --out {folder}` "
           "(img2dataset, output_format files)")
    if not folder.is_dir():
        raise DataNotFoundError(f"Conceptual Captions image folder {folder} does not exist; {how}.")
    found: dict[int, Path] = {}
    for dirpath, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("_"))     # img2dataset's _tmp
        for name in files:
            stem, ext = os.path.splitext(name)
            if ext.lower() not in IMAGE_EXTENSIONS or not (stem.isascii() and stem.isdigit()):
                continue
            key, path = int(stem), Path(dirpath) / name
            if key in found:
                raise DataFormatError(f"two image files for key {key}: {found[key]} and {path}; keep one.")
            found[key] = path
    if not found:
        raise DataNotFoundError(f"{folder} holds no img2dataset images (<shard>/<key>.jpg with <key>.txt); {how}.")
    keys = sorted(found)
    paths, captions, urls = [], [], []
    for key in keys:
        path = found[key]
        meta: dict = {}
        side = path.with_suffix(".json")
        if side.is_file():
            try:
                meta = json.loads(side.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise DataFormatError(f"{side}: not a JSON object ({e}); re-download or delete it.") from e
        txt = path.with_suffix(".txt")
        caption = txt.read_text(encoding="utf-8").strip() if txt.is_file() else str(meta.get("caption") or "").strip()
        if not caption:
            raise DataFormatError(f"{path}: no caption ({txt.name} missing or empty); download with a caption "
                                  "column (semhash data conceptual-captions does).")
        paths.append(path)
        captions.append(caption)
        urls.append(str(meta.get("url") or ""))
    return np.asarray(keys, dtype=np.int64), paths, captions, urls


def find_conceptual_captions_download(root: str | os.PathLike | None = None) -> Path:
    """The folder holding the two downloads ``train/`` and ``val/`` (img2dataset folders, one per TSV):
    ``root`` itself or ``root/conceptual-captions`` (an explicit ``root`` is the only place looked at), else
    ``conceptual-captions`` under the data roots of :mod:`semhash_lib.paths` (the captions-only TSV folder of the
    development data has no ``train/``/``val/`` and does not count)."""
    return find_dataset_dir(["conceptual-captions"], ["train", "val"], root, DOWNLOAD_HOW_TO)


def _img2dataset_rows(folder: Path, n_images: int) -> int:
    """Rows img2dataset was given (sum of ``count`` in its ``<shard>_stats.json``), else ``n_images``."""
    total = 0
    for stats in folder.glob("*_stats.json"):
        try:
            total += int(json.loads(stats.read_text(encoding="utf-8")).get("count", 0))
        except (ValueError, TypeError, AttributeError, UnicodeDecodeError):
            return n_images
    return max(total, n_images)


def sample_captions(n: int, seed: int = 0, tsv_path: str | os.PathLike | None = None) -> tuple[list[str], int]:
    """``(captions, total)``: ``min(n, total)`` captions of the Conceptual Captions TSV (captions only, no
    images; ``tsv_path`` as in :class:`ConceptualCaptions`) drawn without replacement with
    ``numpy.random.default_rng(seed)``, in TSV order, and the number of captions in the TSV."""
    cc = ConceptualCaptions(tsv_path)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(cc.captions), size=min(n, len(cc.captions)), replace=False))
    return [cc.captions[i] for i in pick], len(cc.captions)
