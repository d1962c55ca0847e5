"""``retrieval_scores`` (one ranking pass) gives exactly the values of the metric functions called one by one."""

import numpy as np
import pytest

from semhash_lib import metrics


def _data(rng, nq, nd, bits=12, classes=7):
    centres = rng.standard_normal((classes, bits))
    ql, dl = rng.integers(0, classes, nq), rng.integers(0, classes, nd)
    hq = centres[ql] + rng.standard_normal((nq, bits))
    hd = centres[dl] + rng.standard_normal((nd, bits))
    S = rng.random((classes, classes))
    S = (S + S.T) / 2
    np.fill_diagonal(S, 1.0)
    return hq, hd, ql, dl, S


@pytest.mark.parametrize("rank", ["hamming", "euclidean", "cosine"])
@pytest.mark.parametrize("exclude_self", [False, True])
def test_one_pass_equals_the_metrics_one_by_one(rank, exclude_self):
    rng = np.random.default_rng(3)
    hq, hd, ql, dl, S = _data(rng, 120, 700)
    if exclude_self:
        hq, ql = hd, dl
    got = metrics.retrieval_scores(hq, hd, ql, dl, k_map=100, k_mahp=25, map_all=(rank == "hamming"),
                                   class_similarity=S, exclude_self=exclude_self, rank=rank)
    kw = dict(exclude_self=exclude_self, rank=rank)
    want = {"map@100": metrics.mean_average_precision(hq, hd, ql, dl, k=100, **kw),
            "mahp@25": metrics.mean_average_hierarchical_precision(hq, hd, ql, dl, S, k=25, **kw)}
    if rank == "hamming":
        want["map@all"] = metrics.mean_average_precision(hq, hd, ql, dl, k=None, **kw)
    assert got == want                         # identical floats, not approximately equal


def test_pair_similarity_without_labels_and_the_mahp_cutoff_above_the_map_cutoff():
    rng = np.random.default_rng(4)
    hq, hd, ql, dl, S = _data(rng, 50, 300)
    pair = S[ql][:, dl]
    got = metrics.retrieval_scores(hq, hd, None, None, k_map=None, k_mahp=40, pair_similarity=pair)
    assert got == {"mahp@40": metrics.mean_average_hierarchical_precision(hq, hd, None, None, k=40,
                                                                           pair_similarity=pair)}
    both = metrics.retrieval_scores(hq, hd, ql, dl, k_map=10, k_mahp=60, class_similarity=S)
    assert both["map@10"] == metrics.mean_average_precision(hq, hd, ql, dl, k=10)
    assert both["mahp@60"] == metrics.mean_average_hierarchical_precision(hq, hd, ql, dl, S, k=60)


def test_missing_inputs_are_named():
    rng = np.random.default_rng(5)
    hq, hd, ql, dl, S = _data(rng, 5, 30)
    with pytest.raises(ValueError, match="mAP needs query_labels"):
        metrics.retrieval_scores(hq, hd, None, None, k_mahp=None, k_map=5)
    with pytest.raises(ValueError, match="exactly one of class_similarity"):
        metrics.retrieval_scores(hq, hd, ql, dl, k_map=5, k_mahp=5)
