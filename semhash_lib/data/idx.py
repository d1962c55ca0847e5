"""The IDX file format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/).

Header: two zero bytes, a type byte (``0x08`` = unsigned byte), the number of dimensions ``d``, then
``d`` big-endian int32 sizes; the data follow in C order. Files may be gzip-compressed (``.gz``).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ..paths import DataFormatError

__all__ = ["read_idx"]

_UBYTE = 0x08


def read_idx(path: str | os.PathLike, ndim: int | None = None) -> np.ndarray:
    """Read an unsigned-byte IDX file (plain or ``.gz``) into a ``uint8`` array of the header's shape.

    ``ndim`` (3 for images, 1 for labels) is checked against the magic number when given. A wrong
    magic number or a data size different from the product of the header sizes raises
    :class:`~semhash_lib.paths.DataFormatError` naming the file.
    """
    path = Path(path)
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            buf = f.read()
    except (OSError, EOFError, zlib.error) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise DataFormatError(f"{path}: cannot decompress ({e.__class__.__name__}: {e}); "
                              "the download is truncated or corrupt.") from e
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] != _UBYTE:
        raise DataFormatError(f"{path}: bad IDX magic number {buf[:4].hex()!r}; expected 0x000008dd "
                              "(unsigned-byte IDX file).")
    dims = buf[3]
    if ndim is not None and dims != ndim:
        raise DataFormatError(f"{path}: IDX file has {dims} dimensions, expected {ndim} "
                              f"(magic 0x{0x800 + ndim:08x}); images and labels swapped?")
    header = 4 + 4 * dims
    if len(buf) < header:
        raise DataFormatError(f"{path}: truncated IDX header ({len(buf)} bytes).")
    shape = tuple(int(s) for s in np.frombuffer(buf, dtype=">i4", count=dims, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    if len(buf) - header != expected:
        raise DataFormatError(f"{path}: header says shape {shape} ({expected} bytes of data) but the file "
                              f"holds {len(buf) - header}; truncated or corrupt.")
    return np.frombuffer(buf, dtype=np.uint8, offset=header).reshape(shape)
