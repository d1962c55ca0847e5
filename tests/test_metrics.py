"""mAP@k, precision curves and hierarchical precision against a hand-worked example, a plain-Python brute
force (with exhaustive enumeration of tie orders for ties="average") and scikit-learn."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from semhash_lib.metrics import (average_hierarchical_precision, average_precision, hierarchical_precision_at_k,
                                 hierarchical_precision_curve, mean_average_hierarchical_precision,
                                 mean_average_precision, precision_at_k, precision_curve)
from semhash_lib.retrieval import pack_codes

# ------------------------------------------------------------------ brute force (plain Python)


def ham(a, b):
    return sum(1 for x, y in zip(a, b) if x != y)


def tie_groups(q, db, exclude=None):
    """Database ids grouped by Hamming distance to q, groups in increasing distance, ids increasing."""
    ids = [j for j in range(len(db)) if j != exclude]
    dists = sorted({ham(q, db[j]) for j in ids})
    return [[j for j in ids if ham(q, db[j]) == d] for d in dists]


def orderings(q, db, ties, exclude=None):
    """All rankings to average over: the stable one (ties='index') or every order inside the tie groups."""
    groups = tie_groups(q, db, exclude)
    if ties == "index":
        return [[j for g in groups for j in g]]
    return [[j for g in perm for j in g] for perm in itertools.product(*[itertools.permutations(g) for g in groups])]


def bf_ap(rel, k):
    hits, total = 0, 0.0
    for i in range(k):
        if rel[i]:
            hits += 1
            total += hits / (i + 1)
    return total / hits if hits else 0.0


def bf_hp_list(sims, ideal, k):
    out, acc, best = [], 0.0, 0.0
    for i in range(k):
        acc += sims[i]
        best += ideal[i]
        out.append(acc / best if best > 0 else 0.0)
    return out


def bf_ahp(sims, ideal, k, integration):
    hp = bf_hp_list(sims, ideal, k)
    mean = sum(hp) / k
    if integration == "mean":
        return mean
    if integration == "trapezoid":  # trapezoidal area on [1, k] divided by k
        return sum((hp[i] + hp[i + 1]) / 2 for i in range(k - 1)) / k
    best_k = sum(ideal[:k])  # pre-Nov-2020 cvjena code: k-th similarity alone over the ideal cumulative sum
    return mean - (hp[0] + sims[k - 1] / best_k) / (2 * k)


def bf_metrics(q, db, ql, dbl, S, k, ties="index", exclude_self=False, integration="trapezoid", pair=None):
    """Per-query (AP@k, P@k, hP@k, AHP@k) averaged over the tie orders, plain loops."""
    out = []
    for i in range(len(q)):
        excl = i if exclude_self else None
        ids = [j for j in range(len(db)) if j != excl]
        sim = (lambda j: pair[i][j]) if pair is not None else (lambda j: S[ql[i]][dbl[j]])
        ideal = sorted((sim(j) for j in ids), reverse=True)
        vals = []
        for order in orderings(q[i], db, ties, excl):
            rel = [dbl[j] == ql[i] for j in order] if pair is None else [0] * len(order)
            sims = [sim(j) for j in order]
            vals.append((bf_ap(rel, k), sum(rel[:k]) / k, bf_hp_list(sims, ideal, k)[-1],
                         bf_ahp(sims, ideal, k, integration)))
        out.append([sum(v[c] for v in vals) / len(vals) for c in range(4)])
    return np.array(out)


def pm1(rng, n, bits):
    return np.where(rng.random((n, bits)) < 0.5, -1, 1)


# ------------------------------------------------------------------ hand-worked example

# query 0000 (class 0); database codes, classes, Hamming distances:
#   0: 0011 class 0 d=2 | 1: 0001 class 1 d=1 | 2: 0000 class 0 d=0 | 3: 1000 class 0 d=1 | 4: 1111 class 1 d=4
# stable ranking 2, 1, 3, 0, 4 -> relevance 1, 0, 1, 1, 0.
HAND_Q = np.array([[-1, -1, -1, -1]])
HAND_DB = np.array([[-1, -1, 1, 1], [-1, -1, -1, 1], [-1, -1, -1, -1], [1, -1, -1, -1], [1, 1, 1, 1]])
HAND_QL, HAND_DBL = np.array([0]), np.array([0, 1, 0, 0, 1])
HAND_S = np.array([[1.0, 0.5], [0.5, 1.0]])


def test_hand_worked_map():
    args = (HAND_Q, HAND_DB, HAND_QL, HAND_DBL)
    # AP@all = (P@1 + P@3 + P@4) / 3 = (1 + 2/3 + 3/4) / 3
    assert mean_average_precision(*args) == pytest.approx(29 / 36)
    assert mean_average_precision(*args, k=2) == pytest.approx(1.0)       # one hit, at rank 1
    assert mean_average_precision(*args, k=3) == pytest.approx(5 / 6)     # (1 + 2/3) / 2
    # ties="average": items 1 and 3 share d=1; order 2,3,1,0,4 gives AP@all (1 + 1 + 3/4)/3 = 11/12
    assert mean_average_precision(*args, ties="average") == pytest.approx((29 / 36 + 11 / 12) / 2)
    assert mean_average_precision(*args, k=3, ties="average") == pytest.approx((5 / 6 + 1) / 2)
    np.testing.assert_allclose(precision_curve(*args, [1, 2, 3, 5]), [1, 1 / 2, 2 / 3, 3 / 5])
    np.testing.assert_allclose(precision_curve(*args, [1, 2, 3], ties="average"), [1, 3 / 4, 2 / 3])


def test_hand_worked_hierarchical():
    args = (HAND_Q, HAND_DB, HAND_QL, HAND_DBL, HAND_S)
    # similarities along the ranking 1, .5, 1, 1, .5 -> cumsum 1, 1.5, 2.5, 3.5, 4
    # ideal (sorted database similarities) 1, 1, 1, .5, .5 -> cumsum 1, 2, 3, 3.5, 4
    np.testing.assert_allclose(hierarchical_precision_curve(*args, [1, 2, 3, 4, 5]), [1, 0.75, 2.5 / 3, 1, 1])
    # AHP@3: mean(hP@1..3) = 31/36; trapezoid subtracts (1 + 5/6)/6 = 11/36; legacy subtracts (1 + 1/3)/6
    assert mean_average_hierarchical_precision(*args, k=3) == pytest.approx(20 / 36)
    assert mean_average_hierarchical_precision(*args, k=3, integration="mean") == pytest.approx(31 / 36)
    assert mean_average_hierarchical_precision(*args, k=3, integration="legacy_barz_2020") == pytest.approx(23 / 36)
    assert hierarchical_precision_at_k(*args, k=2) == pytest.approx(0.75)


# ------------------------------------------------------------------ brute force on random codes with many ties

@pytest.mark.parametrize("exclude_self", [False, True])
@pytest.mark.parametrize("k", [1, 4, 9])
def test_against_brute_force_index_ties(k, exclude_self):
    rng = np.random.default_rng(10 + k)
    db = pm1(rng, 40, 6)                      # 6 bits, 40 items: many ties
    dbl = rng.integers(0, 4, 40)
    q, ql = (db, dbl) if exclude_self else (pm1(rng, 12, 6), rng.integers(0, 4, 12))
    S = rng.random((4, 4))
    S = (S + S.T) / 2
    np.fill_diagonal(S, 1.0)
    ref = bf_metrics(q.tolist(), db.tolist(), ql.tolist(), dbl.tolist(), S.tolist(), k, exclude_self=exclude_self)
    opts = dict(exclude_self=exclude_self, chunk_rows=5, num_threads=2)
    np.testing.assert_allclose(average_precision(q, db, ql, dbl, k, **opts), ref[:, 0], atol=1e-12)
    assert precision_at_k(q, db, ql, dbl, k, **opts) == pytest.approx(ref[:, 1].mean())
    assert hierarchical_precision_at_k(q, db, ql, dbl, S, k, **opts) == pytest.approx(ref[:, 2].mean())
    for integration in ("trapezoid", "mean", "legacy_barz_2020"):
        ref_i = bf_metrics(q.tolist(), db.tolist(), ql.tolist(), dbl.tolist(), S.tolist(), k,
                           exclude_self=exclude_self, integration=integration)
        got = average_hierarchical_precision(q, db, ql, dbl, S, k, integration, **opts)
        np.testing.assert_allclose(got, ref_i[:, 3], atol=1e-12)


@pytest.mark.parametrize("exclude_self", [False, True])
@pytest.mark.parametrize("k", [2, 5, None])
def test_against_brute_force_average_ties(k, exclude_self):
    # 3 bits over 9 items: tie groups of up to ~4 items, so the tie orders can be enumerated exhaustively
    rng = np.random.default_rng(20 + (k or 0) + 7 * exclude_self)
    db = pm1(rng, 9, 3)
    dbl = rng.integers(0, 3, 9)
    q, ql = (db, dbl) if exclude_self else (pm1(rng, 5, 3), rng.integers(0, 3, 5))
    S = np.array([[1.0, 0.6, 0.1], [0.6, 1.0, 0.3], [0.1, 0.3, 1.0]])
    kk = (8 if exclude_self else 9) if k is None else k
    for integration in ("trapezoid", "mean", "legacy_barz_2020"):
        ref = bf_metrics(q.tolist(), db.tolist(), ql.tolist(), dbl.tolist(), S.tolist(), kk, ties="average",
                         exclude_self=exclude_self, integration=integration)
        opts = dict(exclude_self=exclude_self, ties="average")
        np.testing.assert_allclose(average_hierarchical_precision(q, db, ql, dbl, S, kk, integration, **opts),
                                   ref[:, 3], atol=1e-12)
    np.testing.assert_allclose(average_precision(q, db, ql, dbl, k, **opts), ref[:, 0], atol=1e-12)
    assert precision_at_k(q, db, ql, dbl, kk, **opts) == pytest.approx(ref[:, 1].mean())
    assert hierarchical_precision_at_k(q, db, ql, dbl, S, kk, **opts) == pytest.approx(ref[:, 2].mean())


def test_pair_similarity_against_brute_force():
    rng = np.random.default_rng(30)
    x = pm1(rng, 30, 5)
    emb = rng.standard_normal((30, 3))
    cos = emb @ emb.T / np.outer(np.linalg.norm(emb, axis=1), np.linalg.norm(emb, axis=1))
    pair = (cos + 1) / 2
    ref = bf_metrics(x.tolist(), x.tolist(), None, None, None, 6, exclude_self=True, pair=pair.tolist())
    got = average_hierarchical_precision(x, x, None, None, k=6, exclude_self=True, pair_similarity=pair)
    np.testing.assert_allclose(got, ref[:, 3], atol=1e-12)
    got_fn = average_hierarchical_precision(x, x, None, None, k=6, exclude_self=True, chunk_rows=4,
                                            pair_similarity=lambda idx: pair[idx])
    np.testing.assert_allclose(got_fn, ref[:, 3], atol=1e-12)
    small = x[:9, :3]  # 3 bits over 9 items: tie orders can be enumerated
    ref_avg = bf_metrics(small[:4].tolist(), small.tolist(), None, None, None, 4, ties="average",
                         pair=pair[:4, :9].tolist())
    got_avg = average_hierarchical_precision(small[:4], small, None, None, k=4, ties="average",
                                             pair_similarity=pair[:4, :9])
    np.testing.assert_allclose(got_avg, ref_avg[:, 3], atol=1e-12)


def test_multi_label_relevance_against_brute_force():
    rng = np.random.default_rng(31)
    q, db = pm1(rng, 10, 6), pm1(rng, 50, 6)
    ql, dbl = rng.random((10, 5)) < 0.3, rng.random((50, 5)) < 0.3
    for k in (5, None):
        kk = 50 if k is None else k
        ref = []
        for i in range(10):
            order = orderings(q[i].tolist(), db.tolist(), "index")[0]
            rel = [bool((ql[i] & dbl[j]).any()) for j in order]
            ref.append(bf_ap(rel, kk))
        np.testing.assert_allclose(average_precision(q, db, ql, dbl, k), ref, atol=1e-12)


# ------------------------------------------------------------------ independent definitions

def test_map_all_equals_sklearn_without_ties():
    rng = np.random.default_rng(40)
    q, db = rng.standard_normal((15, 8)), rng.standard_normal((120, 8))
    ql, dbl = rng.integers(0, 3, 15), np.arange(120) % 3  # every query has relevant items
    for rank in ("euclidean", "cosine"):
        d = ((q[:, None] - db[None]) ** 2).sum(-1) if rank == "euclidean" else \
            -(q / np.linalg.norm(q, axis=1, keepdims=True)) @ (db / np.linalg.norm(db, axis=1, keepdims=True)).T
        assert all(len(np.unique(row)) == 120 for row in d)  # no ties
        sk = np.mean([average_precision_score(dbl == ql[i], -d[i]) for i in range(15)])
        assert mean_average_precision(q, db, ql, dbl, rank=rank) == pytest.approx(sk, abs=1e-12)


def test_map_all_equals_sklearn_hamming_distinct_distances():
    # one query; database item j differs from it in the first j bits: distances 0..16 are all distinct
    rng = np.random.default_rng(41)
    qcode = pm1(rng, 1, 16)
    db = np.repeat(qcode, 17, axis=0)
    for j in range(17):
        db[j, :j] *= -1
    perm = rng.permutation(17)
    db, dist = db[perm], perm
    dbl = rng.integers(0, 2, 17)
    dbl[0] = 1
    sk = average_precision_score(dbl == 1, -dist)
    assert mean_average_precision(qcode, db, np.array([1]), dbl) == pytest.approx(sk, abs=1e-12)
    assert mean_average_precision(qcode, db, np.array([1]), dbl, ties="average") == pytest.approx(sk, abs=1e-12)


def test_identity_similarity_mean_integration_is_mean_precision():
    rng = np.random.default_rng(42)
    db = pm1(rng, 200, 8)
    dbl = np.arange(200) % 5                   # 40 items per class
    q, ql = pm1(rng, 20, 8), rng.integers(0, 5, 20)
    k = 30                                     # <= class size, so the ideal sum at rank i is i
    ahp = mean_average_hierarchical_precision(q, db, ql, dbl, np.eye(5), k=k, integration="mean")
    assert ahp == pytest.approx(precision_curve(q, db, ql, dbl, np.arange(1, k + 1)).mean())


def test_code_forms_give_equal_results():
    rng = np.random.default_rng(43)
    h_q, h_db = rng.standard_normal((12, 20)), rng.standard_normal((80, 20))
    ql, dbl = rng.integers(0, 4, 12), rng.integers(0, 4, 80)
    S = np.full((4, 4), 0.3) + 0.7 * np.eye(4)
    forms = [(h_q, h_db), (np.sign(h_q), np.sign(h_db)), (pack_codes(h_q), pack_codes(h_db)),
             (torch.from_numpy(h_q), torch.from_numpy(h_db).float())]
    ref = None
    for fq, fdb in forms:
        vals = (mean_average_precision(fq, fdb, ql, dbl, k=25), mean_average_precision(fq, fdb, ql, dbl),
                mean_average_hierarchical_precision(fq, fdb, ql, dbl, S, k=25))
        ref = vals if ref is None else ref
        assert vals == pytest.approx(ref, abs=1e-15)


def test_continuous_vs_binary_ranking_differ_but_binary_is_sign():
    rng = np.random.default_rng(44)
    h_db = rng.standard_normal((100, 6))
    dbl = rng.integers(0, 3, 100)
    binary = mean_average_precision(h_db, h_db, dbl, dbl, exclude_self=True)
    assert binary == mean_average_precision(np.where(h_db >= 0, 1.0, -1.0), np.where(h_db >= 0, 1.0, -1.0), dbl,
                                            dbl, exclude_self=True, rank="hamming")
    # Euclidean on ±1 vectors orders exactly like Hamming (|a-b|^2 = 4 * Hamming)
    s = np.where(h_db >= 0, 1.0, -1.0)
    assert mean_average_precision(s, s, dbl, dbl, exclude_self=True, rank="euclidean") == pytest.approx(binary)


def test_query_without_relevant_items_counts_zero():
    q, db = np.array([[1, 1], [-1, -1]]), np.array([[1, 1], [1, -1], [-1, -1]])
    assert average_precision(q, db, np.array([7, 0]), np.array([0, 0, 0])).tolist() == [0.0, 1.0]


# ------------------------------------------------------------------ invalid inputs

def test_invalid_inputs_raise_clear_errors():
    rng = np.random.default_rng(50)
    q, db = pm1(rng, 4, 8), pm1(rng, 10, 8)
    ql, dbl = rng.integers(0, 3, 4), rng.integers(0, 3, 10)
    S = np.eye(3)
    with pytest.raises(ValueError, match="different lengths"):
        mean_average_precision(q, pm1(rng, 10, 12), ql, dbl)
    with pytest.raises(ValueError, match="positive"):
        mean_average_precision(q, db, ql, dbl, k=0)
    with pytest.raises(ValueError, match="positive"):
        mean_average_hierarchical_precision(q, db, ql, dbl, S, k=-3)
    with pytest.raises(ValueError, match="exceeds"):
        mean_average_hierarchical_precision(q, db, ql, dbl, S, k=250)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        mean_average_hierarchical_precision(q, db, ql, np.append(dbl[:-1], 3), S, k=5)
    with pytest.raises(ValueError, match="NaN"):
        mean_average_precision(np.full((4, 8), np.nan), db, ql, dbl)
    with pytest.raises(ValueError, match="labels"):
        mean_average_precision(q, db, ql[:3], dbl)
    with pytest.raises(ValueError, match="square"):
        mean_average_hierarchical_precision(q, db, ql, dbl, np.ones((3, 4)), k=5)
    with pytest.raises(ValueError, match="integration"):
        mean_average_hierarchical_precision(q, db, ql, dbl, S, k=5, integration="simpson")
    with pytest.raises(ValueError, match="ties"):
        mean_average_precision(q, db, ql, dbl, ties="random")
    with pytest.raises(ValueError, match="Hamming"):
        mean_average_precision(q.astype(float), db.astype(float), ql, dbl, ties="average", rank="cosine")
    with pytest.raises(ValueError, match="exactly one"):
        mean_average_hierarchical_precision(q, db, ql, dbl, k=5)
    with pytest.raises(ValueError, match="Q == N"):
        mean_average_precision(q, db, ql, dbl, exclude_self=True)
    with pytest.raises(TypeError, match="integers"):
        mean_average_precision(q, db, ql.astype(float), dbl)
    with pytest.raises(ValueError, match="non-negative"):
        mean_average_hierarchical_precision(q, db, ql, dbl, -np.eye(3), k=5)
