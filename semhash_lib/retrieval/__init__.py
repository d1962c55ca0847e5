"""Bit packing and exact, stable Hamming-ranking retrieval (``docs/paper.md`` §4.5: codes are ``sign(h)``,
retrieval ranks the database by Hamming distance to the query).

Conventions used everywhere in semhash:

- **Bits.** A real output ``h`` becomes the bit ``h >= 0`` (``sign`` with ``0 -> +1``, as
  :func:`semhash_lib.models.sign_codes`); a ±1 code gives ``+1 -> 1``, ``-1 -> 0``.
- **Packing** is faiss' binary layout: bit ``j`` of a code is bit ``j % 8`` (least significant first) of
  byte ``j // 8``, i.e. ``np.packbits(bits, axis=1, bitorder="little")``.
- **Ranking** is by ``(distance, database index)``: ties in Hamming distance are broken by the database
  index, smallest first (stable); the tie rule is a reconstruction (``docs/reconstruction.md``).

Modules:

- :mod:`.packing` — :func:`pack_codes`, :func:`unpack_codes`, :func:`code_bits`, the Hamming distance kernel
  (:func:`hamming_distance_matrix`);
- :mod:`.topk` — exact top-k in memory-bounded chunks: :func:`hamming_topk`, :func:`real_topk`
  (continuous outputs), :func:`map_ranked_chunks` (the metrics' entry point);
- :mod:`.index` — :class:`HashIndex` (``add``, ``search``, ``save``, ``load``): ``kind="flat"`` (exact) or
  ``kind="ivf"`` (faiss' inverted-file binary index, for millions of codes); :func:`tie_aware_recall` of an
  approximate search against exact search;
- :mod:`.ivf` — the ivf kind's faiss parts: :func:`ivf_parameters` (default ``nlist``, ``nprobe``), training,
  faiss file I/O.
"""

from .index import INDEX_KINDS, HashIndex, calibrate_nprobe, tie_aware_recall
from .ivf import ivf_parameters
from .packing import _to_numpy, code_bits, hamming_distance_matrix, pack_codes, unpack_codes
from .topk import CHUNK_ELEMENTS, REAL_CHUNK_ELEMENTS, _check_k, _sizes, hamming_topk, map_ranked_chunks, real_topk

# _to_numpy, _check_k, _sizes: input helpers that semhash_lib.codes and semhash_lib.metrics share with the ranking.

__all__ = [
    "CHUNK_ELEMENTS",
    "REAL_CHUNK_ELEMENTS",
    "pack_codes",
    "unpack_codes",
    "code_bits",
    "hamming_distance_matrix",
    "hamming_topk",
    "real_topk",
    "map_ranked_chunks",
    "HashIndex",
    "INDEX_KINDS",
    "ivf_parameters",
    "tie_aware_recall",
    "calibrate_nprobe",
]
