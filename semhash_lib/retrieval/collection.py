"""Encoding a whole collection into one packed codes file, in shards, one per torchrun process.

A collection too large for one process is encoded by N processes (``torchrun --nproc_per_node N
script.py``, on one machine or several: :mod:`semhash_lib.train.distributed`). Rank ``r`` of ``N`` encodes
the contiguous rows ``[r*M//N, (r+1)*M//N)`` of the ``M`` inputs and writes them, packed
(:func:`semhash_lib.retrieval.pack_codes`: ``uint8 (rows, ceil(K/8))``), to its part file
``<out>.part-<r>-of-<N>.npy`` (atomically; a part already there with the right shape is kept, so an
interrupted encoding resumes); then rank 0 concatenates the parts in order into ``<out>`` (``.npy``,
atomically) and removes them. The file is what :meth:`semhash_lib.retrieval.HashIndex.add` takes.

    from semhash_lib.retrieval import HashIndex
    from semhash_lib.retrieval.collection import encode_collection   # (imports torch; the rest of retrieval does not)
    path = encode_collection(model, images, "data/codes/collection.npy")       # under torchrun or not
    index = HashIndex(bits, kind="ivf"); index.add(np.load(path))              # on one process
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from torch import nn

from ..io import atomic_write
from ..train import encode
from ..train.distributed import Distributed, setup
from .packing import pack_codes

__all__ = ["encode_collection", "encode_shard", "merge_code_parts", "part_path", "shard_rows"]


def shard_rows(n: int, rank: int, world_size: int) -> slice:
    """Rows of shard ``rank`` of ``world_size`` over ``n`` inputs: contiguous, sizes differing by at most 1."""
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must lie in 0..{world_size - 1}, got {rank}")
    return slice(rank * n // world_size, (rank + 1) * n // world_size)


def part_path(out: str | os.PathLike, rank: int, world_size: int) -> Path:
    """``<out>.part-<rank>-of-<world_size>.npy`` beside ``out``."""
    out = Path(out)
    return out.with_name(f"{out.name}.part-{rank:05d}-of-{world_size:05d}.npy")


def _save(path: Path, arr: np.ndarray) -> None:
    with atomic_write(path) as f:
        np.save(f, arr)


def encode_shard(model: nn.Module, data, out: str | os.PathLike, rank: int, world_size: int,
                 batch_size: int = 1024) -> Path:
    """Encode shard ``rank`` of ``world_size`` of ``data`` (inputs (M, ...)) into its part file; a part file
    already there with the right number of rows is kept. Returns the part's path."""
    rows = shard_rows(len(data), rank, world_size)
    path = part_path(out, rank, world_size)
    n = rows.stop - rows.start
    if path.is_file():
        try:
            if np.load(path, mmap_mode="r").shape[0] == n:
                return path
        except (ValueError, OSError):
            pass                       # damaged: encode it again
    h, _ = encode(model, data[rows], batch_size=batch_size)
    _save(path, pack_codes(h, kind="real") if n else np.zeros((0, (int(getattr(model, "bits", 0)) + 7) // 8),
                                                                 np.uint8))
    return path


def merge_code_parts(out: str | os.PathLike, world_size: int) -> Path:
    """Concatenate the ``world_size`` part files of ``out`` in rank order into ``out`` and remove them."""
    out = Path(out)
    parts = [part_path(out, r, world_size) for r in range(world_size)]
    missing = [str(p) for p in parts if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"cannot merge {out}: part file(s) {missing} are missing; run the encoding again "
                                "(finished parts are kept)")
    _save(out, np.concatenate([np.load(p) for p in parts]))
    for p in parts:
        p.unlink()
    return out


def encode_collection(model: nn.Module, data, out: str | os.PathLike, batch_size: int = 1024,
                      ddp: Distributed | None = None) -> Path:
    """Packed codes of all of ``data`` in the ``.npy`` file ``out``: this process's shard (all of it without
    torchrun), then, on rank 0 after every rank has written its part, the merged file. Returns ``out``."""
    from ..devices import resolve_device

    if ddp is None:
        p = next(model.parameters(), None)
        ddp = setup(p.device if p is not None else resolve_device("cpu"))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    encode_shard(model, data, out, ddp.rank, ddp.world_size, batch_size)
    ddp.barrier()
    if ddp.is_main:
        merge_code_parts(out, ddp.world_size)
    ddp.barrier()
    return Path(out)
