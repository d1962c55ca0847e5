"""COCO captions (Chen et al. 2015): ``annotations/captions_<split>.json`` plus the ``<split>/`` images.

An image–caption benchmark of the kind the paper uses for its sentence-similarity targets
(``docs/paper.md`` §6; ``../shared/data/coco-mini`` is a real 159-image fixture). One item per
image, with all of its captions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from torch.utils.data import Dataset

from ..paths import DataFormatError, DataNotFoundError, find_dataset_dir
from .images import load_image

__all__ = ["find_coco", "load_coco_captions", "coco_captions", "CocoCaptions"]

HOW_TO_GET = ("Get COCO from https://cocodataset.org/#download (images <split>.zip and "
              "annotations_trainval<year>.zip), unpack both into one folder (annotations/ and <split>/) "
              "under ./data/coco or $SEMHASH_DATA/coco, or pass that folder as `root`.")


def find_coco(root: str | os.PathLike | None = None, split: str = "val2017") -> Path:
    """The folder holding ``annotations/captions_<split>.json``: ``root`` or its ``coco``/``coco-mini``
    (an explicit ``root`` is the only place looked at), or with ``root=None`` ``coco``/``coco-mini`` under
    the data roots of :mod:`semhash_lib.paths`."""
    if not isinstance(split, str) or not split or "/" in split or "\\" in split:
        raise ValueError(f"split must be a COCO split name such as 'val2017' or 'train2017', got {split!r}.")
    return find_dataset_dir(["coco", "coco-mini"], [f"annotations/captions_{split}.json"], root, HOW_TO_GET)


def _read(folder: Path, split: str) -> tuple[list[int], list[Path], list[list[str]]]:
    file = folder / "annotations" / f"captions_{split}.json"
    try:
        d = json.loads(file.read_text(encoding="utf-8"))
        images, annotations = d["images"], d["annotations"]
        ids = [int(im["id"]) for im in images]
        names = [str(im["file_name"]) for im in images]
        pairs = [(int(a["image_id"]), str(a["caption"]).strip()) for a in annotations]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise DataFormatError(f"{file}: not a COCO captions file; expected 'images' with id/file_name and "
                              f"'annotations' with image_id/caption ({e.__class__.__name__}: {e}).") from e
    position = {i: k for k, i in enumerate(ids)}
    if len(position) != len(ids):
        raise DataFormatError(f"{file}: duplicate image ids in 'images'.")
    captions: list[list[str]] = [[] for _ in ids]
    unknown = 0
    for image_id, caption in pairs:
        k = position.get(image_id)
        if k is None:
            unknown += 1
        else:
            captions[k].append(caption)
    if unknown:
        raise DataFormatError(f"{file}: {unknown} caption(s) refer to image ids missing from 'images'.")
    keep = [k for k, c in enumerate(captions) if c]  # every COCO image has >= 5; keep only captioned ones
    return ([ids[k] for k in keep], [folder / split / names[k] for k in keep], [captions[k] for k in keep])


def load_coco_captions(root: str | os.PathLike | None = None, split: str = "val2017"
                       ) -> tuple[list[Path], list[list[str]]]:
    """``(paths, captions)``: each captioned image's path and its captions (whitespace-stripped), in
    the annotation file's image order. Images are neither opened nor checked for existence."""
    _, paths, captions = _read(find_coco(root, split), split)
    return paths, captions


def coco_captions(splits: tuple[str, ...] = ("val2017", "train2017"), root: str | os.PathLike | None = None
                  ) -> list[list[str]]:
    """The captions of every captioned image of ``splits`` (each split's images in annotation-file order, the
    splits one after the other): one list of captions per image (:func:`load_coco_captions`)."""
    out: list[list[str]] = []
    for split in splits:
        out += load_coco_captions(root, split=split)[1]
    return out


class CocoCaptions(Dataset):
    """COCO images with their captions; item ``i`` is ``(image, captions of image i)``.

    ``root``: the folder with ``annotations/`` and ``<split>/`` (or ``None`` to search). An image is
    an RGB ``uint8`` ``(3, H, W)`` tensor passed through ``transform`` when given. Images listed in
    the annotations but absent on disk are skipped and counted in ``.num_missing``. Attributes:
    ``.image_ids``, ``.paths``, ``.captions`` (list of lists), ``.num_missing``.
    """

    def __init__(self, root: str | os.PathLike | None = None, split: str = "val2017",
                 transform: Callable | None = None):
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}.")
        folder = find_coco(root, split)
        if not (folder / split).is_dir():
            raise DataNotFoundError(f"{folder / split}: the image folder of split {split!r} is missing "
                                    f"(annotations found in {folder / 'annotations'}). {HOW_TO_GET}")
        ids, paths, captions = _read(folder, split)
        present = [k for k, p in enumerate(paths) if p.is_file()]
        self.root, self.split, self.transform = folder, split, transform
        self.image_ids = [ids[k] for k in present]
        self.paths = [paths[k] for k in present]
        self.captions = [captions[k] for k in present]
        self.num_missing = len(paths) - len(present)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        image = load_image(self.paths[i])
        return (self.transform(image) if self.transform is not None else image), self.captions[i]
