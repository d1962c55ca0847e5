"""The free-output toys of notebook 00 (semhash_lib.toy, semhash_lib.plotting.toy) against independent truths:
brute-force neighbour distances, the estimator's formula, finite differences, the tree's known similarity,
codes whose mAP / mAHP are known in closed form."""

import math

import numpy as np
import pytest
import torch

from semhash_lib import toy
from semhash_lib.losses import binary_kl_loss


def _brute_kth(a: np.ndarray, b: np.ndarray, k: int, exclude_self: bool) -> np.ndarray:
    out = []
    for i, p in enumerate(a):
        d = sorted(np.sqrt(((b - p) ** 2).sum(1))[j] for j in range(len(b)) if not (exclude_self and j == i))
        out.append(d[k - 1])
    return np.array(out)


@pytest.mark.parametrize("variant", ["nearest_corner", "sampled"])
@pytest.mark.parametrize("k", [1, 3])
def test_kl_geometry_distances_and_loss_match_the_estimator(variant, k):
    rng = np.random.default_rng(1)
    h = rng.normal(0, 0.5, (12, 2))
    g = toy.kl_geometry(h, variant, k=k, seed=4)
    np.testing.assert_allclose(g.rho, _brute_kth(h, h, k, exclude_self=True), rtol=1e-12)
    if variant == "sampled":
        np.testing.assert_allclose(g.nu, _brute_kth(h, g.targets, k, exclude_self=False), rtol=1e-12)
        assert set(map(tuple, g.targets)) <= {(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)}
        assert len(g.targets) == len(h)
        # Wang et al. Eq. (5) per bit: (d/n sum log(nu/rho) + log(m/(n-1))) / d
        expected = (2 * np.mean(np.log(g.nu / g.rho)) + math.log(12 / 11)) / 2
    else:
        np.testing.assert_allclose(g.nu, np.sqrt(((h - np.where(h >= 0, 1, -1)) ** 2).sum(1)), rtol=1e-12)
        expected = np.mean(np.log(g.nu / g.rho))
    assert g.loss == pytest.approx(expected, abs=1e-6)
    np.testing.assert_allclose(np.linalg.norm(g.h - g.nu_points, axis=1), g.nu, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(g.h - g.rho_points, axis=1), g.rho, rtol=1e-12)


def test_kl_geometry_descent_is_minus_the_finite_difference_gradient():
    h = np.random.default_rng(2).normal(0, 0.5, (10, 3))
    g = toy.kl_geometry(h, "nearest_corner", k=2)
    eps = 1e-6
    for i, j in [(0, 0), (4, 2), (9, 1)]:
        hp, hm = h.copy(), h.copy()
        hp[i, j] += eps
        hm[i, j] -= eps
        f = [float(binary_kl_loss(torch.as_tensor(x), k=2, nu="nearest_corner")) for x in (hp, hm)]
        assert g.descent[i, j] == pytest.approx(-(f[0] - f[1]) / (2 * eps), rel=1e-4, abs=1e-6)


def test_gradient_field_points_a_lone_probe_toward_the_corners_in_nearest_corner():
    """Near a corner and far from every output, nu dominates: the probe is pulled onto its own corner."""
    h = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [-0.1, -0.1]])
    X, Y, U, V = toy.kl_gradient_field(h, "nearest_corner", grid=5, lim=1.2)
    i, j = 4, 4                                          # the grid point (1.2, 1.2), outside its corner (1, 1)
    assert (X[i, j], Y[i, j]) == (1.2, 1.2) and U[i, j] < 0 and V[i, j] < 0


def test_trajectory_last_frame_is_optimise_free_outputs():
    fn = toy.kl_term("sampled", k=1)
    h = toy.optimise_free_outputs(fn, 4, n=16, steps=23, lr=0.03, seed=5)
    tr = toy.free_output_trajectory(fn, 4, n=16, steps=23, lr=0.03, seed=5, every=10)
    assert tr.steps.tolist() == [0, 10, 20, 23] and tr.h.shape == (4, 16, 4) and len(tr.loss) == 23
    np.testing.assert_array_equal(tr.h[-1], h.numpy())


def test_kl_toy_binarises_the_2d_batch_with_the_default_k():
    demo = toy.kl_toy(bits=2, n=16, steps=80, lr=0.03, grid=3)
    assert demo.k == toy.default_k(16, 2) == 4
    first, last = demo.trajectories["nearest_corner"].h[[0, -1]]
    assert toy.binarization_statistics(last)["quant_error"] < 0.5 * toy.binarization_statistics(first)["quant_error"]
    assert set(demo.fields) == {"nearest_corner", "sampled"} and demo.fields["sampled"][2].shape == (3, 3)


@pytest.mark.slow
def test_sampled_variant_fails_at_many_bits_and_nearest_corner_does_not():
    out = toy.many_bits_outputs(bits=32, n=64, steps=120, variants=("nearest_corner", "sampled"))
    q = {v: toy.binarization_statistics(h)["quant_error"] for v, h in out.items()}
    assert q["nearest_corner"] < 0.05 and q["sampled"] > 0.3


def test_toy_hierarchy_similarity_is_one_half_zero():
    tree = toy.toy_hierarchy(2, 3)
    S = tree.similarity_matrix("lca_height")
    same_super = np.equal.outer(np.arange(6) // 3, np.arange(6) // 3)
    expected = np.where(np.eye(6, dtype=bool), 1.0, np.where(same_super, 0.5, 0.0))
    np.testing.assert_array_equal(S, expected)
    assert tree.classes == ["a1", "a2", "a3", "b1", "b2", "b3"]


@pytest.mark.slow
def test_similarity_toy_makes_code_distances_follow_the_targets():
    from scipy.stats import spearmanr

    r = toy.similarity_toy(per_class=4, bits=16, steps=150, kl_weight=0.02)
    t, d = toy.pair_distances(r.h_after, r.T)
    t0, d0 = toy.pair_distances(r.h_before, r.T)
    assert r.loss[-1] < 0.3 * r.loss[0]
    assert spearmanr(t, d).statistic > 0.9 > abs(spearmanr(t0, d0).statistic) + 0.5
    assert d[t == 0].max() < d[t == 1].min()


def test_pair_distances_is_hamming_of_signs():
    h = np.array([[0.2, -0.1, 0.0], [-0.5, -0.3, 0.4], [0.9, 0.9, -0.2]])
    T = np.array([[0, 0.5, 1], [0.5, 0, 0.25], [1, 0.25, 0]])
    t, d = toy.pair_distances(h, T)
    # signs (sign(0) = +1): [+, -, +], [-, -, +], [+, +, -]
    assert t.tolist() == [0.5, 1.0, 0.25] and d.tolist() == [1.0, 2.0, 3.0]


def test_trivial_solution_has_perfect_map_and_lower_mahp():
    labels = np.repeat(np.arange(6), 5)
    S = toy.toy_hierarchy(2, 3).similarity_matrix("lca_height")
    # superclass one-hot repeated 4 times, then the class one-hot: Hamming 0 / 2 / 10 for T = 0 / 0.5 / 1
    ideal = np.concatenate([np.repeat(np.eye(2)[labels // 3], 4, axis=1), np.eye(6)[labels]], axis=1) * 2 - 1
    codes = {"semantic": ideal, "id": toy.class_id_codes(labels, 16, seed=3), "onehot": toy.one_hot_codes(labels)}
    table = toy.retrieval_table(codes, labels, S).set_index("code")
    assert (table["mAP"] == 1.0).all()
    # a perfect ranking has hP@k = 1 for every k: its trapezoidal AHP@29 is (29 - 1) / 29
    assert table.loc["semantic", "mAHP@29"] == pytest.approx(28 / 29)
    assert table.loc["id", "mAHP@29"] < 0.95 and table.loc["onehot", "mAHP@29"] < 0.95
    # one-hot: all other classes tie; with ties averaged, hP@k past the class is the random-order expectation
    ks, hp = toy.hp_curves({"onehot": codes["onehot"]}, labels, S)["onehot"]
    # at k = 4 + 25 every other item has been retrieved: hP@29 = 1 exactly
    assert hp[:4].tolist() == [1.0] * 4 and hp[-1] == pytest.approx(1.0)
    # k = 14: 4 same-class (s = 1) + 10 of the 25 others in random order, 10 of which have s = 1/2
    assert hp[13] == pytest.approx((4 + 10 * (10 * 0.5 / 25)) / (4 + 10 * 0.5))


def test_class_id_codes_are_distinct_per_class_and_refuse_too_few_bits():
    labels = np.array([0, 1, 2, 2, 1, 3])
    c = toy.class_id_codes(labels, 3, seed=0)
    assert len({tuple(r) for r in c}) == 4 and (c[2] == c[3]).all()
    with pytest.raises(ValueError, match="cannot give 4 classes"):
        toy.class_id_codes(labels, 1)


def test_bad_variants_are_refused():
    with pytest.raises(ValueError, match="grouped"):
        toy.kl_geometry(np.zeros((4, 2)), "grouped")
    with pytest.raises(ValueError, match="unknown KL variant"):
        toy.similarity_toy(variant="nearest")
    with pytest.raises(ValueError, match="2 dimensions"):
        toy.kl_gradient_field(np.zeros((4, 3)))


def test_figures_and_static_controls(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from semhash_lib.plotting import toy as plots

    demo = toy.kl_toy(bits=2, n=8, steps=10, grid=3, every=5)
    assert isinstance(plots.plot_kl_geometry(demo.geometries, demo.fields), Figure)
    assert isinstance(plots.plot_trajectory_panels(demo.trajectories, n_panels=3), Figure)
    gif = plots.save_trajectory_gif(demo.trajectories, tmp_path, "anim")
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a") and not list(tmp_path.glob(".*"))
    from PIL import Image

    assert Image.open(gif).n_frames == len(demo.trajectories["sampled"].steps)
    fig = plots.toy_controls(False, steps=20, per_class=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    with pytest.raises(ValueError, match="unknown settings"):
        plots.toy_controls(False, kl=1)


def test_controls_outside_a_kernel_draw_once_even_when_asked_for_widgets():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from semhash_lib.plotting import toy as plots

    assert not plots._in_jupyter_kernel()
    assert isinstance(plots.toy_controls(True, steps=5, per_class=2), Figure)
