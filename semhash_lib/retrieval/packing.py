"""Codes to packed bits, and the Hamming distance kernel.

- **Bits.** A real output ``h`` becomes the bit ``h >= 0`` (``sign`` with ``0 -> +1``, as
  :func:`semhash_lib.models.sign_codes`); a ±1 code gives ``+1 -> 1``, ``-1 -> 0``.
- **Packing** is faiss' binary layout: bit ``j`` of a code is bit ``j % 8`` (least significant first) of
  byte ``j // 8``, i.e. ``np.packbits(bits, axis=1, bitorder="little")``. Padding bits are 0, so they
  never change a Hamming distance.
- **Distances** are ``popcount(q XOR db)`` over 64-bit words (``uint8`` distances, ``uint16`` above 248
  bits): :func:`hamming_distance_matrix` for small inputs, ``_distance_block`` for the chunks of
  :mod:`semhash_lib.retrieval.topk`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

__all__ = ["pack_codes", "unpack_codes", "code_bits", "hamming_distance_matrix"]

CodeKind = Literal["auto", "real", "pm1", "01", "packed"]

_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


# ----------------------------------------------------------------------------------------------------
# Input conversion
# ----------------------------------------------------------------------------------------------------

def _to_numpy(x: Any, name: str) -> np.ndarray:
    """A numpy view of ``x`` (numpy array, torch tensor on any device, or nested list)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor without importing torch
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name}: expected a numeric array or tensor, got an object array")
    return arr


def _check_2d(arr: np.ndarray, name: str) -> None:
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (num_codes, bits), got shape {arr.shape}")


def _bits_of(arr: np.ndarray, kind: str, name: str) -> np.ndarray:
    """Boolean bits (N, K) of an unpacked code array, following the module's conventions."""
    if kind == "auto":
        if arr.dtype == np.bool_:
            kind = "01"
        elif np.issubdtype(arr.dtype, np.integer):
            if arr.size and arr.min() < 0 and (np.abs(arr) == 1).all():
                kind = "pm1"
            elif not arr.size or (arr.min() >= 0 and arr.max() <= 1):
                kind = "01"
            else:
                raise ValueError(
                    f"{name}: integer codes must be ±1 or {{0, 1}}, found values {np.unique(arr)[:8].tolist()}; "
                    "pass real outputs as a float array, or kind='real' to threshold at 0")
        elif np.issubdtype(arr.dtype, np.floating):
            kind = "real"
        else:
            raise TypeError(f"{name}: unsupported dtype {arr.dtype} for codes")
    if kind in ("real", "pm1") and np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError(f"{name}: codes contain NaN or inf ({int((~np.isfinite(arr)).sum())} entries); "
                         "check the model outputs before encoding")
    if kind == "real":
        return arr >= 0
    if kind == "pm1":
        if not (np.abs(arr) == 1).all():
            raise ValueError(f"{name}: kind='pm1' needs values in {{-1, +1}}")
        return arr > 0
    if kind == "01":
        if arr.dtype != np.bool_ and not ((arr == 0) | (arr == 1)).all():
            raise ValueError(f"{name}: kind='01' needs values in {{0, 1}}")
        return arr.astype(bool)
    raise ValueError(f"{name}: unknown kind {kind!r}; use 'auto', 'real', 'pm1', '01' or 'packed'")


def _packed_and_bits(x: Any, name: str = "codes", kind: CodeKind = "auto") -> tuple[np.ndarray, int | None]:
    """``(packed uint8 (N, ceil(K/8)), K)``; ``K`` is ``None`` for input that was already packed."""
    arr = _to_numpy(x, name)
    _check_2d(arr, name)
    if kind == "packed" or (kind == "auto" and arr.dtype == np.uint8):
        if arr.dtype != np.uint8:
            raise TypeError(f"{name}: kind='packed' needs a uint8 array, got {arr.dtype}")
        return np.ascontiguousarray(arr), None
    bits = _bits_of(arr, kind, name)
    return np.packbits(bits, axis=1, bitorder="little"), arr.shape[1]


def pack_codes(x: Any, kind: CodeKind = "auto") -> np.ndarray:
    """Pack codes into faiss' binary layout: ``uint8 (N, ceil(K/8))``.

    ``byte[n, j // 8]`` holds bit ``j`` of code ``n`` at position ``j % 8`` (least significant bit first,
    ``np.packbits(..., bitorder="little")``), which is the layout ``faiss.IndexBinaryFlat`` reads.

    ``x``: numpy array or torch tensor (N, K). ``kind="auto"`` decides by dtype:

    - ``uint8``: already packed, returned unchanged (so {0,1} bits must not be given as ``uint8``;
      use ``bool`` or ``kind="01"``);
    - ``bool``: the bits themselves;
    - other integers: ±1 codes (``+1 -> 1``) or {0, 1} bits;
    - floats: real outputs ``h``, bit ``= h >= 0`` (sign with ``0 -> +1``); NaN/inf raise ``ValueError``.

    ``kind`` forces one reading: ``"real"``, ``"pm1"``, ``"01"`` or ``"packed"``.
    """
    return _packed_and_bits(x, "codes", kind)[0]


def unpack_codes(packed: Any, bits: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: ``uint8 (N, ceil(bits/8))`` -> ±1 ``int8 (N, bits)``."""
    arr = _to_numpy(packed, "packed")
    _check_2d(arr, "packed")
    if arr.dtype != np.uint8 or arr.shape[1] != (bits + 7) // 8:
        raise ValueError(f"unpack_codes: expected uint8 (N, {(bits + 7) // 8}) for {bits} bits, "
                         f"got {arr.dtype} {arr.shape}")
    b = np.unpackbits(arr, axis=1, count=bits, bitorder="little")
    return (2 * b.astype(np.int8) - 1).astype(np.int8)


def code_bits(x: Any) -> int:
    """Number of bits of a code array: ``K`` for unpacked (N, K) input, ``8 * bytes`` for packed ``uint8``."""
    arr = _to_numpy(x, "codes")
    _check_2d(arr, "codes")
    return arr.shape[1] * (8 if arr.dtype == np.uint8 else 1)


def _prepare_pair(query: Any, db: Any) -> tuple[np.ndarray, np.ndarray]:
    """Pack query and database codes and check that their bit lengths agree."""
    q, kq = _packed_and_bits(query, "query_codes")
    d, kd = _packed_and_bits(db, "db_codes")
    if q.shape[1] != d.shape[1] or (kq is not None and kd is not None and kq != kd):
        raise ValueError(
            f"query and database codes have different lengths: "
            f"{kq if kq is not None else 8 * q.shape[1]} vs {kd if kd is not None else 8 * d.shape[1]} bits "
            f"({q.shape[1]} vs {d.shape[1]} packed bytes); encode both with the same model")
    if d.shape[0] == 0:
        raise ValueError("db_codes is empty")
    return q, d


# ----------------------------------------------------------------------------------------------------
# Hamming distances
# ----------------------------------------------------------------------------------------------------

def _as_words(packed: np.ndarray) -> np.ndarray:
    """uint64 words (N, W), zero-padded: the Hamming distance of two codes is the popcount of the XOR."""
    n, nbytes = packed.shape
    words = -(-nbytes // 8)
    if nbytes != 8 * words:
        padded = np.zeros((n, 8 * words), dtype=np.uint8)
        padded[:, :nbytes] = packed
        packed = padded
    return np.ascontiguousarray(packed).view(np.uint64).reshape(n, words)


def _popcount(x: np.ndarray) -> np.ndarray:
    """Bits set per uint64 element (``np.bitwise_count`` on numpy >= 2, a byte table otherwise)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    return _POPCOUNT8[x.view(np.uint8)].reshape(*x.shape, 8).sum(-1, dtype=np.uint8)


def _distance_dtype(nbytes: int) -> type:
    """Smallest unsigned type that holds every distance plus the self-exclusion sentinel."""
    return np.uint8 if 8 * nbytes + 1 <= 255 else np.uint16


def _distance_block(qw: np.ndarray, dwt: np.ndarray, dtype: type) -> np.ndarray:
    """Hamming distances (c, N) between query words (c, W) and database words given transposed (W, N)."""
    c, words = qw.shape
    out = np.empty((c, dwt.shape[1]), dtype=dtype)
    buf = np.empty((c, dwt.shape[1]), dtype=np.uint64)
    for w in range(words):
        np.bitwise_xor(qw[:, w, None], dwt[w][None, :], out=buf)
        if w == 0 and hasattr(np, "bitwise_count"):
            np.bitwise_count(buf, out=out)
        elif w == 0:
            out[...] = _popcount(buf)
        else:
            out += _popcount(buf)
    return out


def hamming_distance_matrix(query_codes: Any, db_codes: Any) -> np.ndarray:
    """All Hamming distances ``D[i, j] = popcount(q_i XOR db_j)``, int32 (Q, N). For small inputs (no chunking).

    Codes in any form accepted by :func:`pack_codes`.
    """
    q, d = _prepare_pair(query_codes, db_codes)
    return _distance_block(_as_words(q), np.ascontiguousarray(_as_words(d).T), np.uint16).astype(np.int32)
