"""``hamming_topk``'s faiss counting backend returns exactly the stable ``(distance, index)`` order.

The truth is a brute force: every distance from unpacked bits, then ``np.argsort(kind="stable")`` of each row.
Codes are drawn around few centres so that long runs of equal distances (and exact duplicates) cross the k-th
place, where a heap search would return an arbitrary subset.
"""

import numpy as np
import pytest

from semhash_lib.retrieval import hamming_topk, pack_codes
from semhash_lib.retrieval import topk as topk_module


def _clustered(rng, n, bits, centres=20, flip=0.05):
    c = rng.random((centres, bits)) < 0.5
    x = c[rng.integers(0, centres, n)] ^ (rng.random((n, bits)) < flip)
    return np.where(x, 1.0, -1.0)


def _brute(q, d, k, exclude_self=False):
    dist = (q[:, None, :] != d[None, :, :]).sum(-1)
    if exclude_self:
        dist = dist.astype(float)
        np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(dist, order, axis=1).astype(np.int64), order


@pytest.mark.parametrize("bits", [6, 12, 16, 64, 72])
@pytest.mark.parametrize("k", [1, 7, 50])
def test_faiss_backend_equals_a_stable_sort_of_every_row(bits, k):
    rng = np.random.default_rng(bits * 100 + k)
    q, d = _clustered(rng, 40, bits), _clustered(rng, 900, bits)
    d[450:] = d[:450]                                    # exact duplicates: ties that span the k-th place
    want_d, want_i = _brute(q, d, k)
    for backend in ("faiss", "numpy", "auto"):
        got_d, got_i = hamming_topk(q, d, k, backend=backend)
        assert got_d.dtype == np.int32 and got_i.dtype == np.int64
        np.testing.assert_array_equal(got_d, want_d)
        np.testing.assert_array_equal(got_i, want_i)


def test_exclude_self_when_more_duplicates_than_k_hide_the_query():
    # 30 copies of one code: for query 25 the 6 nearest at distance 0 are items 0..5 (its own id 25 is not among
    # the k + 1 = 7 that faiss returns), for query 3 its own id is among them and must be dropped
    rng = np.random.default_rng(0)
    d = _clustered(rng, 200, 16)
    d[:30] = d[0]
    want_d, want_i = _brute(d, d, 6, exclude_self=True)
    got_d, got_i = hamming_topk(d, d, 6, exclude_self=True, backend="faiss")
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_array_equal(got_d, want_d)
    assert list(got_i[25]) == [0, 1, 2, 3, 4, 5] and list(got_i[3]) == [0, 1, 2, 4, 5, 6]


def test_chunked_faiss_search_equals_one_chunk_and_restores_faiss_threads(monkeypatch):
    import faiss

    rng = np.random.default_rng(1)
    q, d = pack_codes(_clustered(rng, 97, 32)), pack_codes(_clustered(rng, 3000, 32))
    whole = hamming_topk(q, d, 40, backend="faiss", num_threads=1)
    before = faiss.omp_get_max_threads()
    monkeypatch.setattr(topk_module, "FAISS_CHUNK_BYTES", 8 * 33 * 40 * 10)   # 10 query rows per chunk
    chunked = hamming_topk(q, d, 40, backend="faiss", num_threads=2)
    assert faiss.omp_get_max_threads() == before
    for a, b in zip(whole, chunked):
        np.testing.assert_array_equal(a, b)


def test_auto_switches_backend_at_the_measured_crossover(monkeypatch):
    calls = []
    real = topk_module._faiss_counting_topk
    monkeypatch.setattr(topk_module, "_faiss_counting_topk", lambda *a: calls.append(a[2]) or real(*a))
    rng = np.random.default_rng(2)
    q, d = _clustered(rng, 5, 16), _clustered(rng, 2000, 16)
    hamming_topk(q, d, topk_module.FAISS_MAX_K)
    hamming_topk(q, d, topk_module.FAISS_MAX_K + 1)
    hamming_topk(q, d, 10, chunk_rows=2)                 # explicit chunking asks for the numpy path
    assert calls == [topk_module.FAISS_MAX_K]


def test_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="backend must be one of"):
        hamming_topk(np.ones((2, 8)), np.ones((3, 8)), 1, backend="gpu")
