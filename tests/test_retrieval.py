"""Bit packing and exact Hamming retrieval, against faiss and a plain-Python brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semhash_lib.retrieval import (HashIndex, code_bits, hamming_distance_matrix, hamming_topk, pack_codes,
                                   real_topk, unpack_codes)

faiss = pytest.importorskip("faiss")


def brute_hamming(a, b):
    """Hamming distance of two ±1 / bit sequences, by counting unequal positions."""
    return sum(1 for x, y in zip(a, b) if x != y)


def brute_ranking(q, db, exclude=None):
    """Database indices sorted by (Hamming distance, index), plain Python."""
    ids = [j for j in range(len(db)) if j != exclude]
    return sorted(ids, key=lambda j: (brute_hamming(q, db[j]), j))


def random_pm1(rng, n, bits):
    return np.where(rng.random((n, bits)) < 0.5, -1, 1).astype(np.int8)


# ---------------------------------------------------------------- packing

def test_pack_layout_matches_faiss_real_to_binary():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 24)).astype(np.float32)  # faiss' converter needs whole bytes
    expected = np.zeros((7, 3), dtype=np.uint8)
    for i in range(7):
        faiss.real_to_binary(24, faiss.swig_ptr(np.ascontiguousarray(x[i])), faiss.swig_ptr(expected[i]))
    np.testing.assert_array_equal(pack_codes(x), expected)


def test_pack_single_bit_positions():
    # bit j of a code lives in byte j // 8 at value 1 << (j % 8) (least significant bit first)
    for j in range(16):
        bits = np.zeros((1, 16), dtype=bool)
        bits[0, j] = True
        packed = pack_codes(bits)
        expected = np.zeros((1, 2), dtype=np.uint8)
        expected[0, j // 8] = 1 << (j % 8)
        np.testing.assert_array_equal(packed, expected)


def test_pack_input_forms_agree():
    rng = np.random.default_rng(1)
    h = rng.standard_normal((5, 12))
    h[0, 0] = 0.0  # sign(0) -> +1 -> bit 1
    pm1 = np.where(h >= 0, 1, -1)
    bits01 = (h >= 0).astype(np.int64)
    ref = pack_codes(h)
    assert ref[0, 0] & 1 == 1
    for form in (pm1, pm1.astype(np.float32), bits01, h >= 0, torch.from_numpy(h), torch.from_numpy(pm1)):
        np.testing.assert_array_equal(pack_codes(form), ref)
    np.testing.assert_array_equal(pack_codes(ref), ref)  # packed passes through
    np.testing.assert_array_equal(unpack_codes(ref, 12), pm1)
    assert code_bits(h) == 12 and code_bits(ref) == 16
    # float {0, 1} bits need kind="01" (as real outputs both 0 and 1 would give the bit 1)
    assert pack_codes(np.array([[0.0, 1.0, 1.0]]), kind="01").tolist() == [[0b110]]
    assert pack_codes(np.array([[0.0, 1.0, 1.0]])).tolist() == [[0b111]]
    assert pack_codes(np.array([[1, 1, 1]])).tolist() == [[0b111]]  # all +1 reads the same either way


def test_pack_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        pack_codes(np.array([[0.5, np.nan]]))
    with pytest.raises(ValueError, match="±1"):
        pack_codes(np.array([[0, 2, 1]]))
    with pytest.raises(ValueError, match="2-D"):
        pack_codes(np.ones(8))
    with pytest.raises(ValueError, match="pm1"):
        pack_codes(np.array([[0.5, -1.0]]), kind="pm1")
    with pytest.raises(ValueError, match="'01'"):
        pack_codes(np.array([[0.5, 1.0]]), kind="01")
    with pytest.raises(ValueError, match="unknown kind"):
        pack_codes(np.array([[0.5, 1.0]]), kind="ternary")


# ---------------------------------------------------------------- distances and top-k

@pytest.mark.parametrize("bits", [8, 20, 64, 130])
def test_distance_matrix_matches_brute_force_and_faiss(bits):
    rng = np.random.default_rng(bits)
    q, db = random_pm1(rng, 6, bits), random_pm1(rng, 40, bits)
    d = hamming_distance_matrix(q, db)
    assert d.dtype == np.int32 and d.shape == (6, 40)
    assert d.tolist() == [[brute_hamming(a, b) for b in db] for a in q]
    index = faiss.IndexBinaryFlat(8 * pack_codes(db).shape[1])
    index.add(pack_codes(db))
    fd, _ = index.search(pack_codes(q), 40)
    np.testing.assert_array_equal(np.sort(d, axis=1), fd)


def test_topk_exact_and_stable_with_many_ties():
    rng = np.random.default_rng(3)
    q, db = random_pm1(rng, 25, 8), random_pm1(rng, 300, 8)  # 8 bits: ~33 items per distance value
    dist, idx = hamming_topk(q, db, 50, chunk_rows=4, num_threads=2)
    assert dist.dtype == np.int32 and idx.dtype == np.int64
    for i in range(len(q)):
        ranking = brute_ranking(q[i].tolist(), db.tolist())[:50]
        assert idx[i].tolist() == ranking
        assert dist[i].tolist() == [brute_hamming(q[i], db[j]) for j in ranking]
    # the k-th distance agrees with faiss (faiss does not fix the order inside ties)
    index = faiss.IndexBinaryFlat(8)
    index.add(pack_codes(db))
    fd, _ = index.search(pack_codes(q), 50)
    np.testing.assert_array_equal(dist, fd)


def test_topk_exact_when_sampled_threshold_is_misleading():
    # hamming_topk guesses a distance threshold from a fixed sample of 1,024 of the N=4096 columns; here
    # exactly those columns are near the query and all others far, so the guess admits too few items
    # (fewer than k) and the row must fall back to a full sort
    from semhash_lib.retrieval.topk import _sample_columns

    rng = np.random.default_rng(9)
    q = random_pm1(rng, 2, 16)
    db = -np.repeat(q[:1], 4096, axis=0)                   # distance 16 from query 0
    near = _sample_columns(4096)
    assert near.size == 1024
    flips = rng.integers(0, 9, near.size)                   # 0..8 bits flipped back towards the query
    for j, f in zip(near, flips):
        db[j, :16 - f] *= -1
    dist, idx = hamming_topk(q, db, 700)
    for i in range(2):
        d = [brute_hamming(q[i], x) for x in db.tolist()]
        ref = sorted(range(4096), key=lambda j: (d[j], j))[:700]
        assert idx[i].tolist() == ref and dist[i].tolist() == [d[j] for j in ref]


@pytest.mark.parametrize("chunk_rows", [8, 260])
def test_topk_wide_codes_match_stable_sort(chunk_rows):
    # 300 bits: uint16 distances; 260 rows x 302 distance values overflow the 16-bit sort key (lexsort path)
    rng = np.random.default_rng(11)
    q, db = random_pm1(rng, 260, 300), random_pm1(rng, 1000, 300)
    full = np.array([[brute_hamming(a, b) for b in db[:, :300].tolist()] for a in q[:3].tolist()])
    dist, idx = hamming_topk(q, db, 40, chunk_rows=chunk_rows, num_threads=1)
    ref = np.argsort(hamming_distance_matrix(q, db), axis=1, kind="stable")[:, :40]
    np.testing.assert_array_equal(idx, ref)
    np.testing.assert_array_equal(dist[:3], np.take_along_axis(full, ref[:3], axis=1))


def test_topk_chunking_and_threads_do_not_change_result():
    rng = np.random.default_rng(4)
    q, db = random_pm1(rng, 37, 16), random_pm1(rng, 200, 16)
    ref = hamming_topk(q, db, None, num_threads=1, chunk_rows=1000)
    for rows, threads in ((1, 1), (5, 2), (8, 3)):
        out = hamming_topk(pack_codes(q), pack_codes(db), None, chunk_rows=rows, num_threads=threads)
        np.testing.assert_array_equal(out[0], ref[0])
        np.testing.assert_array_equal(out[1], ref[1])
    assert ref[1].shape == (37, 200)


def test_topk_exclude_self():
    rng = np.random.default_rng(5)
    x = random_pm1(rng, 30, 6)
    dist, idx = hamming_topk(x, x, None, exclude_self=True, chunk_rows=7)
    assert idx.shape == (30, 29)
    for i in range(30):
        assert idx[i].tolist() == brute_ranking(x[i].tolist(), x.tolist(), exclude=i)
    with pytest.raises(ValueError, match="exceeds"):
        hamming_topk(x, x, 30, exclude_self=True)
    with pytest.raises(ValueError, match="Q == N"):
        hamming_topk(x[:3], x, 2, exclude_self=True)


def test_topk_invalid_inputs():
    rng = np.random.default_rng(6)
    q, db = random_pm1(rng, 3, 16), random_pm1(rng, 10, 24)
    with pytest.raises(ValueError, match="different lengths"):
        hamming_topk(q, db, 2)
    with pytest.raises(ValueError, match="different lengths"):  # same byte count, different bit count
        hamming_topk(random_pm1(rng, 3, 60), random_pm1(rng, 10, 64), 2)
    with pytest.raises(ValueError, match="positive"):
        hamming_topk(q, q, 0)
    with pytest.raises(ValueError, match="exceeds"):
        hamming_topk(q, q, 4)
    with pytest.raises(TypeError):
        hamming_topk(q, q, 1.5)


def test_real_topk_matches_brute_force():
    rng = np.random.default_rng(7)
    q, db = rng.standard_normal((5, 4)), rng.standard_normal((60, 4))
    db[10] = db[3]  # an exact tie: smaller index first
    for metric in ("euclidean", "cosine"):
        dist, idx = real_topk(q, db, 15, metric=metric, chunk_rows=2)
        for i in range(5):
            if metric == "euclidean":
                d = [float(np.sum((q[i] - x) ** 2)) for x in db]
            else:
                d = [1 - float(q[i] @ x / np.linalg.norm(q[i]) / np.linalg.norm(x)) for x in db]
            order = sorted(range(60), key=lambda j: (round(d[j], 9), j))[:15]
            assert idx[i].tolist() == order
            np.testing.assert_allclose(dist[i], [d[j] for j in order], atol=1e-9)
    _, idx = real_topk(db, db, 3, exclude_self=True)
    assert idx[3, 0] == 10 and idx[10, 0] == 3  # each other's nearest neighbour, self excluded


def test_stable_topk_rows_is_the_value_then_column_order_with_ties_inside_the_top_k():
    """The fast (unstable) sort is used only where it cannot change the order: with exactly k candidates per
    row, rows holding equal values inside their top k (every third row: three copies of -5 and of -4) and rows
    without ties both come back in (value, column) order; so do rows tied at the k-th value (the other path).
    Against a brute-force lexsort of each whole row."""
    from semhash_lib.retrieval.topk import _stable_topk_rows

    rng = np.random.default_rng(11)
    for tie_at_kth in (False, True):
        rows = rng.standard_normal((30, 400))
        rows[::3, [300, 20, 150]] = -5.0
        rows[::3, [7, 399, 8]] = -4.0
        if tie_at_kth:
            rows[1] = np.round(rows[1], 1)
        vals, idx = _stable_topk_rows(rows.copy(), 40)
        for r in range(30):
            want = np.lexsort((np.arange(400), rows[r]))[:40]
            assert idx[r].tolist() == want.tolist()
            np.testing.assert_array_equal(vals[r], rows[r, want])
        assert idx[0, :6].tolist() == [20, 150, 300, 7, 8, 399]


# ---------------------------------------------------------------- HashIndex

def test_hash_index_add_search_save_load(tmp_path):
    rng = np.random.default_rng(8)
    db, q = random_pm1(rng, 120, 12), random_pm1(rng, 9, 12)
    index = HashIndex(12)
    index.add(db[:50])
    index.add(torch.from_numpy(db[50:].astype(np.float32)))
    assert len(index) == 120 and index.codes.shape == (120, 2)
    dist, ids = index.search(q, 7)
    for i in range(9):
        assert ids[i].tolist() == brute_ranking(q[i].tolist(), db.tolist())[:7]
    path = index.save(tmp_path / "index.npz")
    loaded = HashIndex.load(path)
    assert loaded.bits == 12 and len(loaded) == 120
    np.testing.assert_array_equal(loaded.search(q, 7)[1], ids)
    assert not list(tmp_path.glob("*.tmp"))


def test_hash_index_errors(tmp_path):
    index = HashIndex(16)
    with pytest.raises(ValueError, match="empty"):
        index.search(np.ones((1, 16)), 1)
    with pytest.raises(ValueError, match="expected 16 bits"):
        index.add(np.ones((2, 12)))
    with pytest.raises(ValueError):
        HashIndex(0)
    np.savez(tmp_path / "other.npz", codes=np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="not a semhash HashIndex"):
        HashIndex.load(tmp_path / "other.npz")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "npy"])
def test_hash_index_load_of_a_damaged_file_names_it(tmp_path, damage):
    index = HashIndex(16)
    index.add(random_pm1(np.random.default_rng(3), 40, 16))
    path = index.save(tmp_path / "index.npz")
    data = path.read_bytes()
    if damage == "truncated":          # a copy that was cut short
        path.write_bytes(data[:len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not an index at all\n" * 10)
    else:                              # a plain .npy array under the index's name
        with open(path, "wb") as f:
            np.save(f, np.zeros(3))
    with pytest.raises(ValueError) as err:
        HashIndex.load(path)
    msg = str(err.value)
    assert str(path) in msg and ("damaged" in msg or "not a semhash HashIndex" in msg)
    if damage != "npy":
        assert "build the index again" in msg
    with pytest.raises(FileNotFoundError):
        HashIndex.load(tmp_path / "missing.npz")
