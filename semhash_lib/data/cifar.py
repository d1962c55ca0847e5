"""CIFAR-100 (Krizhevsky 2009) in both official layouts, fine and coarse labels, official class order.

The paper's main image benchmark (``docs/paper.md`` §6). Two layouts are read:

- "binary version": ``cifar-100-binary/{train,test}.bin`` of 3,074-byte records
  ``<coarse label byte><fine label byte><3,072 pixel bytes>`` (1,024 red, 1,024 green, 1,024 blue,
  row-major 32×32), plus ``fine_label_names.txt`` / ``coarse_label_names.txt`` (one name a line);
- "python version": ``cifar-100-python/{train,test,meta}`` pickles (keys ``b'data'`` (N, 3072) uint8,
  ``b'fine_labels'``, ``b'coarse_labels'``; meta ``b'fine_label_names'``, ``b'coarse_label_names'``),
  as the official tarball and ``torchvision`` unpack it.

Any corruption (size not a multiple of a record, wrong record count, labels out of range, missing
pickle keys) raises :class:`~semhash_lib.paths.DataFormatError` naming the file and what was expected.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from ..paths import DataFormatError, find_or_download

__all__ = ["CIFAR100_URL", "CIFAR100_RECORDS", "NUM_FINE", "NUM_COARSE", "find_cifar100",
           "read_cifar100_binary", "read_cifar100_pickle", "read_cifar100_label_names", "load_cifar100",
           "BINARY_NAME_FIXES"]

CIFAR100_URL = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
CIFAR100_RECORDS = {"train": 50_000, "test": 10_000}
NUM_FINE, NUM_COARSE = 100, 20
RECORD_BYTES = 2 + 3 * 32 * 32
LAYOUT_NAMES = ("cifar-100-binary", "cifar-100-python")
# Binary-version label-file spelling -> python-version meta spelling (same classes, same indices).
BINARY_NAME_FIXES = {"maple": "maple_tree", "oak": "oak_tree", "palm": "palm_tree", "pine": "pine_tree",
                     "willow": "willow_tree"}
HOW_TO_GET = (f"Get CIFAR-100 from https://www.cs.toronto.edu/~kriz/cifar.html (python or binary version), "
              f"unpack it into ./data or $SEMHASH_DATA, or pass its folder as `root`; online, the loader "
              f"downloads {CIFAR100_URL} into ./data itself.")


def _check_labels(path: Path, fine: np.ndarray, coarse: np.ndarray) -> None:
    for name, lab, n in (("fine", fine, NUM_FINE), ("coarse", coarse, NUM_COARSE)):
        if lab.size and (lab.min() < 0 or lab.max() >= n):
            raise DataFormatError(f"{path}: {name} labels must lie in 0..{n - 1}, found "
                                  f"{int(lab.min())}..{int(lab.max())} (corrupt or not a CIFAR-100 file).")


def _check_count(path: Path, n: int, expected: int | None) -> None:
    if expected is not None and n != expected:
        raise DataFormatError(f"{path}: expected {expected} CIFAR-100 records, found {n} "
                              "(truncated or wrong file); re-download the dataset.")


def read_cifar100_binary(path: str | os.PathLike, expected_records: int | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a binary-version file into ``(images uint8 (N,3,32,32), fine int64 (N,), coarse int64 (N,))``.

    One ``np.fromfile`` and a reshape to ``(N, 3074)``: byte 0 is the coarse label, byte 1 the fine
    label, bytes 2.. the R, G, B planes. ``expected_records`` (50,000 train / 10,000 test) is checked
    when given.
    """
    path = Path(path)
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise DataFormatError(f"{path}: size {raw.size} bytes is not a positive multiple of the "
                              f"{RECORD_BYTES}-byte CIFAR-100 record (truncated or wrong file).")
    records = raw.reshape(-1, RECORD_BYTES)
    _check_count(path, len(records), expected_records)
    coarse = records[:, 0].astype(np.int64)
    fine = records[:, 1].astype(np.int64)
    _check_labels(path, fine, coarse)
    images = np.ascontiguousarray(records[:, 2:]).reshape(-1, 3, 32, 32)
    return images, fine, coarse


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles only plain containers and numpy arrays (the CIFAR pickles need nothing else)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        if module == "numpy.core.multiarray":  # numpy >= 2 moved it; avoid the deprecated alias
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def _load_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            obj = _ArrayUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as e:
        raise DataFormatError(f"{path}: not a readable CIFAR-100 pickle ({e.__class__.__name__}: {e}); "
                              "re-download the python version.") from e
    if not isinstance(obj, dict):
        raise DataFormatError(f"{path}: expected a pickled dict, found {type(obj).__name__}.")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _require(path: Path, d: dict, keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in d]
    if missing:
        raise DataFormatError(f"{path}: CIFAR-100 pickle lacks key(s) {missing}; expected {list(keys)}, "
                              f"found {sorted(d)}.")


def read_cifar100_pickle(path: str | os.PathLike, expected_records: int | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a python-version split file (``train`` / ``test``) like :func:`read_cifar100_binary`.

    Keys ``data`` ((N, 3072) uint8, R/G/B planes), ``fine_labels``, ``coarse_labels`` (bytes or str
    keys). Only numpy arrays and plain containers are unpickled (no arbitrary code).
    """
    path = Path(path)
    d = _load_pickle(path)
    _require(path, d, ("data", "fine_labels", "coarse_labels"))
    data = np.asarray(d["data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != RECORD_BYTES - 2:
        raise DataFormatError(f"{path}: 'data' must be uint8 (N, 3072), found {data.dtype} {data.shape}.")
    fine = np.asarray(d["fine_labels"], dtype=np.int64).reshape(-1)
    coarse = np.asarray(d["coarse_labels"], dtype=np.int64).reshape(-1)
    if not len(data) == len(fine) == len(coarse):
        raise DataFormatError(f"{path}: {len(data)} images but {len(fine)} fine / {len(coarse)} coarse labels.")
    _check_count(path, len(data), expected_records)
    _check_labels(path, fine, coarse)
    return np.ascontiguousarray(data).reshape(-1, 3, 32, 32), fine, coarse


def _names(path: Path, names, expected: int) -> list[str]:
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
    names = [n.strip() for n in names if n.strip()]
    if len(names) != expected:
        raise DataFormatError(f"{path}: expected {expected} class names, found {len(names)}.")
    return names


def read_cifar100_label_names(folder: str | os.PathLike) -> tuple[list[str], list[str]]:
    """``(fine_names (100), coarse_names (20))`` in official order, from either layout's folder.

    Names are spelled as in the python version's ``meta`` (the spelling of torchvision, Keras and
    Barz & Denzler's hierarchy): the binary version's label file (as in ``../shared/data``) writes
    five tree classes without ``_tree`` (``maple`` ...); they are renamed (:data:`BINARY_NAME_FIXES`).
    """
    folder = Path(folder)
    if (folder / "fine_label_names.txt").exists():
        fine_p, coarse_p = folder / "fine_label_names.txt", folder / "coarse_label_names.txt"
        fine = _names(fine_p, fine_p.read_text().splitlines(), NUM_FINE)
        return ([BINARY_NAME_FIXES.get(n, n) for n in fine],
                _names(coarse_p, coarse_p.read_text().splitlines(), NUM_COARSE))
    meta = folder / "meta"
    d = _load_pickle(meta)
    _require(meta, d, ("fine_label_names", "coarse_label_names"))
    return _names(meta, d["fine_label_names"], NUM_FINE), _names(meta, d["coarse_label_names"], NUM_COARSE)


def _download(target: Path) -> None:
    from torchvision.datasets import CIFAR100

    CIFAR100(root=str(target), train=True, download=True)  # fetches, checks md5, unpacks both splits


def find_cifar100(root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The folder of a CIFAR-100 copy in either layout (search order of :mod:`semhash_lib.paths`).

    An explicit ``root`` must be such a folder or contain ``cifar-100-binary`` / ``cifar-100-python``;
    otherwise :class:`DataNotFoundError` names it and the files expected there (no other place is
    searched, nothing is downloaded). With ``root=None``: looks for either folder in ``$SEMHASH_DATA``,
    ``./data``, ``../shared/data``, ``/usr/share/datasets``; then, if ``download``, fetches the python
    version into ``<project>/data``. Raises :class:`DataNotFoundError` naming every place looked at (and
    the download error) when all fail.
    """
    required = ["train.bin|train", "test.bin|test", "fine_label_names.txt|meta"]
    return find_or_download(list(LAYOUT_NAMES), required, root, HOW_TO_GET, download, _download, CIFAR100_URL,
                            ["cifar-100-python"])


def load_cifar100(split: str, root: str | os.PathLike | None = None, coarse: bool = False,
                  download: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(images uint8 (N,3,32,32), labels int64 (N,), class_names)`` of the ``"train"``/``"test"`` split.

    Fine labels (100 classes) by default, the 20 superclasses with ``coarse=True``; class names in
    the official order, so ``class_names[labels[i]]`` names image ``i``.
    """
    if split not in CIFAR100_RECORDS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    folder = find_cifar100(root, download=download)
    if (folder / f"{split}.bin").exists():
        images, fine, coarse_l = read_cifar100_binary(folder / f"{split}.bin", CIFAR100_RECORDS[split])
    else:
        images, fine, coarse_l = read_cifar100_pickle(folder / split, CIFAR100_RECORDS[split])
    fine_names, coarse_names = read_cifar100_label_names(folder)
    return (images, coarse_l, coarse_names) if coarse else (images, fine, fine_names)
