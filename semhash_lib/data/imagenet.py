"""ImageNet in its usual folder layout: ``<root>/train/<wnid>/*`` and ``<root>/val/<wnid>/*``, any subset of
the 1,000 ILSVRC-2012 classes (the paper's ImageNet experiment, ``docs/paper.md`` §6: its subset is unknown).

- :func:`find_imagenet` — the folder holding ``train/`` and ``val/`` (an explicit ``root``, or ``imagenet``,
  ``imagenet-100``, ``ILSVRC2012`` under the data roots of :mod:`semhash_lib.paths`);
- :func:`load_imagenet` — the two splits as :class:`~semhash_lib.data.ImageFolderDataset` over the same wnids;
  **classes = the wnid folders found in** ``train/`` (or the ones asked for: a list of wnids, or
  ``"imagenet100"`` for :data:`IMAGENET100_CMC`);
- :func:`read_imagenet_tree` — Barz & Denzler's WordNet tree over the 1,000 classes
  (``hierarchies/imagenet/wordnet.parent-child.mintree.txt``, ``parent child`` wnid pairs).

``val/`` must be sorted into wnid folders too (the official validation archive is flat: sort it with the
ground-truth labels, e.g. the widely used ``valprep.sh`` script). Every folder directly under ``train/`` and
``val/`` must be named by a wnid (``n`` and 8 digits); hidden folders (``.name``) are ignored.

**ImageNet-100.** :data:`IMAGENET100_CMC` is the 100-class list of Tian, Krishnan & Isola, "Contrastive
Multiview Coding" (2019), file ``imagenet100.txt`` of their code release (``HobbitLong/CMC``), the subset
most papers mean by "ImageNet-100". The hashing literature's ImageNet-100 (Cao et al., HashNet 2017) is a
*different* random 100 classes with its own image lists; it is not provided here: use any folder of wnids.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

from ..paths import DataFormatError, DataNotFoundError, find_dataset_dir
from .imagefolder import ImageFolderDataset
from .images import is_image_file

__all__ = ["IMAGENET_NAMES", "IMAGENET100_CMC", "WNID", "is_wnid", "find_imagenet", "imagenet_wnids",
           "load_imagenet", "read_imagenet_tree"]

IMAGENET_NAMES = ("imagenet", "imagenet-100", "ILSVRC2012")
WNID = re.compile(r"^n\d{8}$")
HOW_TO_GET = ("ImageNet cannot be downloaded automatically: get ILSVRC-2012 from https://image-net.org "
              "(registration), unpack train/ and val/ (val sorted into wnid folders) and pass the folder holding "
              "them (semhash reproduce ... -p imagenet_root DIR), or put it at ./data/imagenet.")
TREE_HOW_TO_GET = ("Get wordnet.parent-child.mintree.txt from https://github.com/cvjena/semantic-embeddings "
                   "(ILSVRC/) into ./data/hierarchies/imagenet.")

# Tian, Krishnan & Isola 2019 (CMC), imagenet100.txt: 100 ILSVRC-2012 wnids, in the file's order.
IMAGENET100_CMC = (
    "n02869837 n01749939 n02488291 n02107142 n13037406 n02091831 n04517823 n04589890 n03062245 n01773797 "
    "n01735189 n07831146 n07753275 n03085013 n04485082 n02105505 n01983481 n02788148 n03530642 n04435653 "
    "n02086910 n02859443 n13040303 n03594734 n02085620 n02099849 n01558993 n04493381 n02109047 n04111531 "
    "n02877765 n04429376 n02009229 n01978455 n02106550 n01820546 n01692333 n07714571 n02974003 n02114855 "
    "n03785016 n03764736 n03775546 n02087046 n07836838 n04099969 n04592741 n03891251 n02701002 n03379051 "
    "n02259212 n07715103 n03947888 n04026417 n02326432 n03637318 n01980166 n02113799 n02086240 n03903868 "
    "n02483362 n04127249 n02089973 n03017168 n02093428 n02804414 n02396427 n04418357 n02172182 n01729322 "
    "n02113978 n03787032 n02089867 n02119022 n03777754 n04238763 n02231487 n03032252 n02138441 n02104029 "
    "n03837869 n03494278 n04136333 n03794056 n03492542 n02018207 n04067472 n03930630 n03584829 n02123045 "
    "n04229816 n02100583 n03642806 n04336792 n03259280 n02116738 n02108089 n03424325 n01855672 n02090622"
).split()
CLASS_LISTS = {"imagenet100": IMAGENET100_CMC}


def is_wnid(name: str) -> bool:
    """True for a WordNet noun id as ImageNet names its classes: ``n`` and 8 digits (``n01440764``)."""
    return bool(WNID.match(str(name)))


def find_imagenet(root: str | os.PathLike | None = None) -> Path:
    """The folder holding ``train/`` and ``val/``: ``root`` itself or ``root/<name>`` for a name of
    :data:`IMAGENET_NAMES` (an explicit ``root`` is the only place looked at), else the first such folder
    under the data roots. A missing folder is a one-line :class:`~semhash_lib.paths.DataNotFoundError`."""
    if root is not None:
        root = Path(root)
        if not root.exists():
            raise DataNotFoundError(f"ImageNet folder {root} does not exist; pass the folder that holds "
                                    "train/<wnid>/ and val/<wnid>/ (-p imagenet_root DIR).")
        if not root.is_dir():
            raise DataNotFoundError(f"ImageNet folder {root} is not a folder; pass the folder that holds "
                                    "train/<wnid>/ and val/<wnid>/.")
        for d in (root, *(root / n for n in IMAGENET_NAMES)):
            if (d / "train").is_dir() and (d / "val").is_dir():
                return d
        missing = [s for s in ("train", "val") if not (root / s).is_dir()]
        raise DataNotFoundError(f"ImageNet folder {root} lacks {' and '.join(f'{s}/' for s in missing)}: expected "
                                f"{root}/train/<wnid>/* and {root}/val/<wnid>/* (val sorted into wnid folders).")
    return find_dataset_dir(list(IMAGENET_NAMES), ["train", "val"], None, HOW_TO_GET)


def imagenet_wnids(split_dir: str | os.PathLike) -> list[str]:
    """The sorted wnid folders of one split folder (``train/`` or ``val/``) that hold at least one image.

    One-line :class:`~semhash_lib.paths.DataFormatError` when a folder there is not named by a wnid, when there
    is no wnid folder (also naming images lying directly in the split folder: an unsorted ``val/``), or when
    no wnid folder holds images."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise DataNotFoundError(f"{split_dir} does not exist; expected {split_dir}/<wnid>/<images>.")
    folders = sorted(d.name for d in split_dir.iterdir() if d.is_dir() and not d.name.startswith("."))
    bad = [f for f in folders if not is_wnid(f)]
    if bad:
        raise DataFormatError(f"{split_dir}: folder(s) {bad[:5]} are not ImageNet wnids (n + 8 digits, e.g. "
                              f"n01440764); every class folder must be named by its wnid.")
    if not folders:
        flat = sum(1 for p in split_dir.iterdir() if p.is_file() and is_image_file(p))
        hint = (f" ({flat} images lie directly in it: sort them into {split_dir.name}/<wnid>/ folders, e.g. with "
                "the ILSVRC validation labels)") if flat else ""
        raise DataFormatError(f"{split_dir} has no wnid folders (expected {split_dir}/n01440764/...){hint}.")
    with_images = [f for f in folders if any(is_image_file(p) for p in (split_dir / f).rglob("*") if p.is_file())]
    if not with_images:
        raise DataFormatError(f"{split_dir}: none of its {len(folders)} wnid folders holds an image file.")
    return with_images


def _chosen_classes(classes, found: list[str], train_dir: Path) -> list[str]:
    if classes is None or classes == "all":
        return found
    if isinstance(classes, str):
        if classes not in CLASS_LISTS:
            raise ValueError(f"classes must be None/'all', {sorted(CLASS_LISTS)} or a list of wnids, got {classes!r}")
        classes = CLASS_LISTS[classes]
    classes = [str(c) for c in classes]
    bad = [c for c in classes if not is_wnid(c)]
    if bad:
        raise ValueError(f"classes {bad[:5]} are not wnids (n + 8 digits)")
    missing = sorted(set(classes) - set(found))
    if missing:
        raise DataNotFoundError(f"{train_dir}: {len(missing)} of the {len(set(classes))} requested classes have no "
                                f"folder with images (e.g. {missing[:3]}).")
    return sorted(set(classes))


def load_imagenet(root: str | os.PathLike | None = None, classes: str | Sequence[str] | None = None
                  ) -> tuple[ImageFolderDataset, ImageFolderDataset]:
    """``(train, val)`` :class:`~semhash_lib.data.ImageFolderDataset` of the ImageNet folder :func:`find_imagenet`
    finds, over the same sorted wnids (``.classes``; labels index them in both splits).

    ``classes``: ``None`` / ``"all"`` (every wnid folder of ``train/`` that holds images), ``"imagenet100"``
    (:data:`IMAGENET100_CMC`) or a list of wnids. Every class of ``val/`` must be among them (a class with
    training images but no validation images is allowed: it only adds to the database)."""
    folder = find_imagenet(root)
    train_dir, val_dir = folder / "train", folder / "val"
    found = imagenet_wnids(train_dir)
    chosen = _chosen_classes(classes, found, train_dir)
    val_found = set(imagenet_wnids(val_dir))
    extra = sorted(val_found - set(found))
    if extra:
        raise DataFormatError(f"{val_dir}: classes {extra[:5]} have validation images but no training images in "
                              f"{train_dir}; the two splits must use the same wnids.")
    val_chosen = [c for c in chosen if c in val_found]
    if not val_chosen:
        raise DataFormatError(f"{val_dir}: none of the {len(chosen)} chosen classes has validation images.")
    train = ImageFolderDataset(train_dir, classes=chosen)
    val = ImageFolderDataset(val_dir, classes=val_chosen)
    position = {c: i for i, c in enumerate(train.classes)}
    val.samples = [(p, position[val.classes[y]]) for p, y in val.samples]   # labels index train.classes
    val.targets = [y for _, y in val.samples]
    val.classes = list(train.classes)
    val._class_names = None
    return train, val


def read_imagenet_tree(root: str | os.PathLike | None = None) -> dict[str, str]:
    """Barz & Denzler's ImageNet class tree as ``{child wnid: parent wnid}`` (``wordnet.parent-child.mintree.txt``
    under ``hierarchies/imagenet`` of the data roots, or in ``root``): WordNet's is-a graph over the 1,000
    ILSVRC-2012 classes made a tree (their WACV 2019 paper, ``docs/paper.md`` §6). A line that is not two wnids,
    or a node with two parents, is a :class:`~semhash_lib.paths.DataFormatError` naming the file and line."""
    if root is not None and Path(root).is_file():
        path = Path(root)
    else:
        path = find_dataset_dir(["hierarchies/imagenet", "imagenet"], ["wordnet.parent-child.mintree.txt"], root,
                                TREE_HOW_TO_GET) / "wordnet.parent-child.mintree.txt"
    parent: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not all(map(is_wnid, parts)):
            raise DataFormatError(f"{path}, line {n}: expected 'parent_wnid child_wnid', got {line[:60]!r}.")
        p, c = parts
        if parent.get(c, p) != p:
            raise DataFormatError(f"{path}, line {n}: {c} has two parents ({parent[c]} and {p}); not a tree.")
        parent[c] = p
    if not parent:
        raise DataFormatError(f"{path}: the file holds no 'parent child' pairs.")
    return parent
