"""ImageNet-style image folders (``<root>/<wnid>/*.JPEG``) and the ILSVRC-2012 class index.

Used for the paper's ImageNet experiments (``docs/paper.md`` §6) on any subset of classes a
user has on disk; the labels' WordNet ids feed the WordNet similarity targets.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Sequence

from torch.utils.data import Dataset

from ..paths import DataFormatError, find_dataset_dir
from .images import is_image_file, load_image

__all__ = ["imagenet_class_index", "ImageFolderDataset"]

CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"


def imagenet_class_index(path: str | os.PathLike | None = None) -> dict[str, tuple[int, str]]:
    """ILSVRC-2012 classes: ``{wnid: (index 0..999, name)}`` from ``imagenet_class_index.json``.

    The file maps ``"index"`` to ``[wnid, name]`` (the Keras / torchvision convention). ``path``: the
    file, or a folder holding it; else searched as ``hierarchies/imagenet/imagenet_class_index.json``
    under the data roots of :mod:`semhash_lib.paths`.
    """
    if path is not None and Path(path).is_file():
        file = Path(path)
    else:
        folder = find_dataset_dir(["hierarchies/imagenet", "imagenet"], ["imagenet_class_index.json"], path,
                                  f"Download {CLASS_INDEX_URL} into ./data/imagenet or pass its path.")
        file = folder / "imagenet_class_index.json"
    try:
        raw = json.loads(file.read_text())
        index = {str(w): (int(i), str(n)) for i, (w, n) in raw.items()}
    except (json.JSONDecodeError, ValueError, TypeError, AttributeError) as e:
        raise DataFormatError(f"{file}: expected a JSON object {{\"index\": [wnid, name]}} "
                              f"({e.__class__.__name__}: {e}).") from e
    if len(index) != len(raw) or sorted(i for i, _ in index.values()) != list(range(len(raw))):
        raise DataFormatError(f"{file}: indices must be 0..{len(raw) - 1} with one distinct wnid each.")
    return index


class ImageFolderDataset(Dataset):
    """Images in ``<root>/<class>/<file>``; item ``i`` is ``(image, label)``.

    ``classes``: the class folders to use (default: every sub-folder holding images); they are
    sorted, and ``label`` indexes ``.classes`` (the wnids for ImageNet). Files with an image
    extension (:data:`~semhash_lib.data.images.IMAGE_EXTENSIONS`, any case; sub-folders too) are taken, sorted by
    path. An image is an RGB ``uint8`` ``(3, H, W)`` tensor, passed through ``transform`` when given.
    Attributes: ``.classes``, ``.samples`` (list of ``(path, label)``), ``.targets``, ``.class_names``
    (ILSVRC names for wnids found by :func:`imagenet_class_index`, else the folder name).
    """

    def __init__(self, root: str | os.PathLike, classes: Sequence[str] | None = None,
                 transform: Callable | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"image folder {self.root} does not exist; expected <root>/<class>/<images>.")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable, got {type(transform).__name__}.")
        present = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        if classes is None:
            chosen = present
        else:
            if isinstance(classes, str):
                raise TypeError("classes must be a list of folder names, not a single string.")
            missing = sorted(set(classes) - set(present))
            if missing:
                raise ValueError(f"class folder(s) {missing[:5]} not found under {self.root} "
                                 f"({len(missing)} missing; {len(present)} present).")
            chosen = sorted(set(classes))
        self.samples: list[tuple[Path, int]] = []
        self.classes: list[str] = []
        for c in chosen:
            files = sorted(p for p in (self.root / c).rglob("*") if p.is_file() and is_image_file(p))
            if not files:
                if classes is not None:
                    raise ValueError(f"class folder {self.root / c} holds no image files.")
                continue  # not a class folder (e.g. an empty or annotations folder)
            self.samples += [(p, len(self.classes)) for p in files]
            self.classes.append(c)
        if not self.samples:
            raise ValueError(f"no images found under {self.root}/<class>/ (extensions: jpg, jpeg, png, ...).")
        self.targets = [label for _, label in self.samples]
        self.transform = transform
        self._class_names: list[str] | None = None

    @property
    def class_names(self) -> list[str]:
        """Readable names: the ILSVRC-2012 name for a known wnid, otherwise the folder name."""
        if self._class_names is None:
            try:
                index = imagenet_class_index()
            except FileNotFoundError:
                index = {}
            self._class_names = [index[c][1] if c in index else c for c in self.classes]
        return self._class_names

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        path, label = self.samples[i]
        image = load_image(path)
        return (self.transform(image) if self.transform is not None else image), label
