"""HashIndex kinds: ivf (faiss IndexBinaryIVF) against brute-force Hamming distances, its recall on
structured codes, save/load of both kinds, and the errors for bad files and bad bits."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from semhash_lib.retrieval import HashIndex, hamming_topk, ivf_parameters, pack_codes, tie_aware_recall, unpack_codes


def structured_codes(rng, n, bits, centres, flip):
    """±1 codes: a random class centre each, every bit flipped with probability ``flip``."""
    labels = rng.integers(0, centres.shape[0], n)
    bits01 = centres[labels] ^ (rng.random((n, bits)) < flip)
    return np.where(bits01, 1, -1).astype(np.int8)


def brute_distances(q, db):
    """Hamming distances (Q, N) of ±1 codes: popcount of the XOR of their bytes (numpy's own bit order)."""
    qb, dbb = np.packbits(q > 0, axis=1), np.packbits(db > 0, axis=1)
    return np.bitwise_count(qb[:, None, :] ^ dbb[None, :, :]).sum(axis=2, dtype=np.int64)


def assert_tie_aware_equal(dist, ids, true_d):
    """``(dist, ids)`` is an exact top-k of the rows of ``true_d``: distances equal the k smallest, each
    id carries its true distance, ids below the k-th distance are exactly those items, the ones at the
    k-th distance are some of the items there, and rows are ordered by (distance, id)."""
    k = dist.shape[1]
    for i in range(true_d.shape[0]):
        row = true_d[i]
        np.testing.assert_array_equal(dist[i], np.sort(row)[:k])
        assert len(set(ids[i].tolist())) == k
        np.testing.assert_array_equal(row[ids[i]], dist[i])
        kth = dist[i, -1]
        assert set(ids[i][dist[i] < kth].tolist()) == set(np.flatnonzero(row < kth).tolist())
        assert set(ids[i][dist[i] == kth].tolist()) <= set(np.flatnonzero(row == kth).tolist())
        assert sorted(zip(dist[i].tolist(), ids[i].tolist())) == list(zip(dist[i].tolist(), ids[i].tolist()))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centres = rng.random((20, 32)) < 0.5
    db = structured_codes(rng, 3000, 32, centres, 0.15)
    q = structured_codes(rng, 40, 32, centres, 0.15)
    return db, q


def test_ivf_probing_every_list_is_exact_search(data):
    db, q = data
    index = HashIndex(32, kind="ivf", nlist=30, nprobe=3)
    index.add(db)
    assert index.nlist == 30 and index.nprobe == 3 and len(index) == 3000
    true_d = brute_distances(q, db)
    for k in (1, 25, 200):
        dist, ids = index.search(q, k, nprobe=30)
        assert dist.dtype == np.int32 and ids.dtype == np.int64 and dist.shape == ids.shape == (40, k)
        assert_tie_aware_equal(dist, ids, true_d)
    flat = HashIndex(32)
    flat.add(db)
    fd, _ = flat.search(q, 200)
    np.testing.assert_array_equal(fd, index.search(q, 200, nprobe=30)[0])
    # fewer probes: distances are still true distances, but some neighbours may be missed
    dist, ids = index.search(q, 25, nprobe=1)
    assert (dist >= fd[:, :25]).all()
    np.testing.assert_array_equal(np.take_along_axis(true_d, np.maximum(ids, 0), axis=1)[ids >= 0], dist[ids >= 0])


def test_ivf_recall_on_structured_codes_is_high():
    rng = np.random.default_rng(1)
    centres = rng.random((50, 64)) < 0.5
    db = structured_codes(rng, 20_000, 64, centres, 0.15)
    q = structured_codes(rng, 200, 64, centres, 0.15)
    index = HashIndex(64, kind="ivf")
    index.add(pack_codes(db))
    assert index.nlist == ivf_parameters(20_000)[0] == 141
    assert index.measured_recall >= 0.95 and 1 <= index.nprobe <= index.nlist
    k = 100
    exact_d = np.sort(brute_distances(q, db), axis=1)[:, :k]
    dist, ids = index.search(q, k)
    recall = np.mean(((dist <= exact_d[:, -1:]) & (ids >= 0)).sum(axis=1) / k)
    assert recall >= 0.95
    assert tie_aware_recall((dist, ids), (exact_d, None)) == pytest.approx(recall)
    assert tie_aware_recall(index.search(q, k, nprobe=1), (exact_d, None)) < recall


def test_tie_aware_recall_counts_ties_and_skips_missing():
    exact = (np.array([[1, 2, 2], [0, 0, 0]]), np.array([[3, 4, 5], [0, 1, 2]]))
    found = (np.array([[1, 2, 3], [0, 0, 2**31 - 1]]), np.array([[3, 8, 9], [7, 1, -1]]))
    assert tie_aware_recall(found, exact) == pytest.approx((2 / 3 + 2 / 3) / 2)  # 8 ties with 4/5: found
    assert tie_aware_recall(exact, exact) == 1.0
    with pytest.raises(ValueError, match="same"):
        tie_aware_recall(found, (exact[0][:, :2], None))


def test_ivf_parameters_rule():
    assert ivf_parameters(500_000) == (707, 8)
    assert ivf_parameters(1000) == (25, 20)           # nlist <= N // 39; nprobe holds ~8k codes
    assert ivf_parameters(10) == (1, 1)
    assert ivf_parameters(1_000_000, k=1000) == (1000, 8)
    assert ivf_parameters(100_000, k=1000) == (316, 26)
    assert ivf_parameters(50_000, nlist=2000) == (2000, 32)
    with pytest.raises(ValueError, match="at least one"):
        ivf_parameters(0)


def test_ivf_add_in_parts_keeps_ids_and_codes(data):
    db, q = data
    index = HashIndex(32, kind="ivf", nlist=20)
    index.add(db[:2000])
    index.add(db[2000:].astype(np.float32))          # later adds go to the trained lists
    index.add(db[:0])
    assert len(index) == 3000
    np.testing.assert_array_equal(index.codes, pack_codes(db))
    dist, ids = index.search(q, 10, nprobe=20)
    assert_tie_aware_equal(dist, ids, brute_distances(q, db))


def test_ivf_missing_neighbours_are_minus_one():
    rng = np.random.default_rng(2)
    db = structured_codes(rng, 400, 16, rng.random((4, 16)) < 0.5, 0.05)
    index = HashIndex(16, kind="ivf", nlist=4, nprobe=1)
    index.add(db)
    dist, ids = index.search(db[:3], 400)             # one list cannot hold all 400
    assert (ids == -1).any() and (dist[ids == -1] == np.iinfo(np.int32).max).all()
    for i in range(3):                                # the found ones come first, each once
        found = ids[i][ids[i] >= 0]
        assert (ids[i][:found.size] == found).all() and len(set(found.tolist())) == found.size


@pytest.mark.parametrize("kind", ["flat", "ivf"])
def test_save_load_round_trip(tmp_path, data, kind):
    db, q = data
    index = HashIndex(32, kind=kind, **({"nlist": 25, "nprobe": 4} if kind == "ivf" else {}))
    index.add(db)
    before = index.search(q, 50)
    path = index.save(tmp_path / "sub" / "index.bin")
    loaded = HashIndex.load(path)
    assert (loaded.kind, loaded.bits, len(loaded), loaded.nlist, loaded.nprobe) == (kind, 32, 3000, index.nlist,
                                                                                    index.nprobe)
    after = loaded.search(q, 50)
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(loaded.codes, pack_codes(db))
    assert not list(path.parent.glob("*.tmp"))


def test_ivf_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path, data, monkeypatch):
    db, _ = data
    index = HashIndex(32, kind="ivf", nlist=10)
    index.add(db)
    path = index.save(tmp_path / "index.ivf")
    good = path.read_bytes()
    assert good[:4] == b"IBwF"

    def fail(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(faiss, "write_index_binary", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        index.save(path)
    assert path.read_bytes() == good and not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("damage", ["truncated", "magic_then_garbage", "faiss_flat"])
def test_load_of_a_damaged_ivf_file_names_it(tmp_path, data, damage):
    db, _ = data
    index = HashIndex(32, kind="ivf", nlist=10)
    index.add(db)
    path = index.save(tmp_path / "index.ivf")
    data_bytes = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data_bytes[:len(data_bytes) // 2])
    elif damage == "magic_then_garbage":
        path.write_bytes(b"IBwF" + b"\xff" * 64)
    else:                                             # another faiss index under the name
        flat = faiss.IndexBinaryFlat(32)
        flat.add(pack_codes(db))
        faiss.write_index_binary(flat, str(path))
    with pytest.raises(ValueError) as err:
        HashIndex.load(path)
    msg = str(err.value)
    assert str(path) in msg
    assert ("damaged" in msg and "build the index again" in msg) or "not a semhash HashIndex" in msg


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.ivf.*no HashIndex file"):
        HashIndex.load(tmp_path / "missing.ivf")


def test_bad_arguments_are_clear_errors(data):
    db, q = data
    with pytest.raises(ValueError, match="multiple of 8"):
        HashIndex(12, kind="ivf")
    with pytest.raises(ValueError, match="kind must be"):
        HashIndex(32, kind="hnsw")
    with pytest.raises(ValueError, match="no nlist"):
        HashIndex(32, nlist=10)
    with pytest.raises(ValueError, match="nprobe must be a positive int"):
        HashIndex(32, kind="ivf", nprobe=0)
    index = HashIndex(32, kind="ivf", nlist=100)
    with pytest.raises(ValueError, match="empty"):
        index.search(q, 1)
    with pytest.raises(ValueError, match="empty"):
        index.save("unused.ivf")
    with pytest.raises(ValueError, match="fewer than nlist=100"):
        index.add(db[:50])
    with pytest.raises(ValueError, match="expected 32 bits"):
        index.add(db[:, :16])
    index.add(db)
    with pytest.raises(ValueError, match="exceeds"):
        index.search(q, 3001)
    with pytest.raises(ValueError, match="takes no nprobe"):
        flat = HashIndex(32)
        flat.add(db)
        flat.search(q, 1, nprobe=2)


def test_default_nprobe_meets_its_recall_on_codes_it_was_not_tuned_on():
    """Codes around 1,000 centres with 15 % bit noise (where a fixed rule reached recall 0.91): nprobe is measured
    at build time on a sample of the added codes; fresh queries drawn the same way reach the target too, and one
    probe fewer does not reach it on the calibration sample (the smallest such nprobe)."""
    def unpack(packed):
        return unpack_codes(packed, 64) > 0

    rng = np.random.default_rng(7)
    centres = rng.random((1000, 64)) < 0.5
    db = pack_codes(structured_codes(rng, 40_000, 64, centres, 0.15))
    queries = structured_codes(rng, 300, 64, centres, 0.15)
    index = HashIndex(64, kind="ivf")
    index.add(db)
    assert index.measured_recall >= 0.95
    exact = hamming_topk(queries, db, 100)
    assert tie_aware_recall(index.search(queries, 100), exact) >= 0.94      # held-out queries: close to target
    # minimal: on the calibration sample (1,000 codes drawn with the index's seed, each left out of its own
    # ranking) one probe fewer stays below the target -- recomputed here by brute force
    rows = np.sort(np.random.default_rng(0).choice(len(db), size=1000, replace=False))
    kth = np.empty((len(rows), 1))
    for s in range(0, len(rows), 100):
        d = brute_distances(unpack(db[rows[s:s + 100]]), unpack(db)).astype(float)
        d[np.arange(len(d)), rows[s:s + 100]] = np.inf
        kth[s:s + 100, 0] = np.sort(d, axis=1)[:, 99]
    found_d, found_i = index._ivf.search(db[rows], 101, params=faiss.SearchParametersIVF(nprobe=index.nprobe - 1))
    own = found_i == rows[:, None]
    hits = ((found_d <= kth) & (found_i >= 0) & ~own).sum(axis=1)
    hits -= (~own.any(axis=1) & (found_d[:, -1] <= kth[:, 0]) & (found_i[:, -1] >= 0))  # keep 100 of 101
    assert index.nprobe == 1 or hits.mean() / 100 < 0.95
    stricter = HashIndex(64, kind="ivf", target_recall=0.99)
    stricter.add(db)
    assert stricter.nprobe >= index.nprobe and stricter.measured_recall >= 0.99
    with pytest.raises(ValueError, match="target_recall"):
        HashIndex(64, kind="ivf", target_recall=1.5)
