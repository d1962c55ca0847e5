"""The controlled KL ablation: arms that differ only in their term, equal selection budgets, selection that
never reads the test split, paired intervals equal to scipy's, and a study that resumes."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from semhash_lib import ablation as A
from semhash_lib.train import TrainConfig

from synthetic import synthetic_data

torch.set_num_threads(2)

BASE = dict(dataset="cifar100", input="features", bits=8, epochs=2, batch_size=32, device="cpu", lr=3e-3)
GRID = {"weights": [0.01, 0.1, 1.0], "k_values": [1, 6], "sigmas": [0.25, 0.5]}


def test_every_arm_with_a_term_gets_the_same_number_of_grid_points():
    sizes = {arm: len(A.arm_grid(arm, **GRID)) for arm in A.ARMS}
    assert sizes.pop("none") == 1
    assert set(sizes.values()) == {6}
    quant = [p["weight"] for p in A.arm_grid("quant", **GRID)]
    assert quant[0] == pytest.approx(0.01) and quant[-1] == pytest.approx(1.0) and quant == sorted(quant)
    assert {p["k"] for p in A.arm_grid("kl_nearest_corner", **GRID)} == {1, 6}
    assert {(p["k"], p["sigma"]) for p in A.arm_grid("kl_mixture", **GRID)} == {(6, 0.25), (6, 0.5)}
    with pytest.raises(ValueError, match="same length"):
        A.arm_grid("kl_mixture", weights=[0.1], k_values=[1, 6], sigmas=[0.25])
    with pytest.raises(ValueError, match="unknown ablation arm"):
        A.arm_grid("kl_exact", **GRID)


def test_arms_differ_from_the_base_only_in_their_term():
    tuned = {"lr": 0.003, "weight_decay": 1e-4, "loss.sim": 5.0, "loss.sim_kwargs.form": "relative",
             "loss.sim_kwargs.p": 2}
    base = A.base_config(TrainConfig(**BASE, tuned={"semhash_no_kl": tuned}), tuned)
    assert base.method == "semhash" and base.tuned == {} and base.lr == 0.003 and base.weight_decay == 1e-4
    assert base.loss == {"sim": 5.0, "sim_kwargs": {"form": "relative", "p": 2}, "kl": 0.0, "quant": 0.0}
    for arm in A.ARMS:
        for point in A.arm_grid(arm, **GRID):
            cfg = A._arm_config(base, "no_classifier", 16, arm, point, A.Path("/tmp/runs"))
            changed = {k for k in cfg.to_dict() if cfg.to_dict()[k] != base.to_dict()[k]}
            assert changed <= {"bits", "loss", "classifier", "out_dir"}         # regime + length + the term
            assert cfg.loss["sim"] == 5.0 and cfg.loss["sim_kwargs"] == {"form": "relative", "p": 2}
            assert cfg.loss["ce"] == 0.0                                         # the no_classifier regime
            on = {t for t in ("kl", "quant") if cfg.loss[t] > 0}
            assert on == ({"quant"} if arm == "quant" else set() if arm == "none" else {"kl"})


def test_k_past_own_class_matches_the_hypergeometric_quantile():
    """100 balanced classes of 200: a code's class-mates in a batch of 256 drawn without replacement are
    hypergeometric (199 of the other 19,999 items, 255 draws); k = its 0.9 quantile + 1."""
    labels = np.repeat(np.arange(100), 200)
    want = int(stats.hypergeom(19999, 199, 255).ppf(0.9)) + 1
    assert A.k_past_own_class(labels, 256, coverage=0.9, n_batches=300) == want
    assert A.k_past_own_class(np.arange(1000), 100) == 1                       # every class a singleton
    assert A.resolve_grid({"k_values": "auto"}, labels, 256)["k_values"] == [1, want]
    with pytest.raises(ValueError, match="batch_size"):
        A.k_past_own_class(labels, 1)


def test_paired_interval_equals_scipys_one_sample_t_interval():
    d = np.array([0.012, -0.004, 0.021, 0.008, 0.015])
    mean, low, high = A.paired_interval(d)
    ci = stats.ttest_1samp(d, 0.0).confidence_interval(0.95)
    assert mean == pytest.approx(d.mean()) and low == pytest.approx(ci.low) and high == pytest.approx(ci.high)
    assert np.isnan(A.paired_interval([0.1])[1])


def _table(rng):
    rows = []
    for seed in range(5):
        base = 0.6 + 0.05 * rng.standard_normal()           # shared per seed: pairing removes it
        for arm, shift, drop in (("none", 0.0, 0.05), ("quant", 0.0, 0.02), ("kl_mixture", 0.03, 0.02),
                                 ("spread", 0.0, 0.05)):
            noise = 0.002 * rng.standard_normal() if arm != "spread" else 0.03 * rng.standard_normal()
            rows.append({"regime": "no_classifier", "bits": 16, "protocol": "test_vs_test", "arm": arm,
                         "seed": seed, "mahp@250": base + shift + noise, "drop_mahp@250": drop + 0.001 * rng.random()})
    return pd.DataFrame(rows)


def test_compare_arms_pairs_seeds_and_calls_intervals_that_hold_zero_no_difference():
    s = A.compare_arms(_table(np.random.default_rng(0)))
    get = lambda arm, ref, m: s[(s["arm"] == arm) & (s["reference"] == ref) & (s["metric"] == m)].iloc[0]
    assert get("kl_mixture", "none", "mahp@250")["verdict"] == "better"
    assert get("kl_mixture", "none", "mahp@250")["diff"] == pytest.approx(0.03, abs=0.005)
    assert get("quant", "none", "mahp@250")["verdict"] == "no detectable difference"
    assert get("quant", "none", "drop_mahp@250")["verdict"] == "better"            # a smaller drop is better
    assert get("spread", "quant", "drop_mahp@250")["verdict"] == "worse"
    assert get("kl_mixture", "quant", "mahp@250")["verdict"] == "better"
    assert not ((s["arm"] == "none") & (s["reference"] == "quant")).any()          # = quant vs none, negated
    assert {"ci_low", "ci_high", "verdict", "n_seeds"} <= set(s.columns) and (s["n_seeds"] == 5).all()


def test_validation_ranking_uses_each_arms_best_point_per_cell():
    rows = []
    for bits, scores in ((16, {"a": [0.5, 0.7], "b": [0.6], "c": [0.1, 0.65]}),
                         (64, {"a": [0.8], "b": [0.9, 0.2], "c": [0.84]})):
        for arm, vals in scores.items():
            for i, v in enumerate(vals):
                rows.append({"regime": "r", "bits": bits, "arm": arm, "weight": i, "val_mahp@250": v})
    rows.append({"regime": "r", "bits": 64, "arm": "c", "weight": 9, "val_mahp@250": float("nan")})   # diverged
    r = A.validation_ranking(pd.DataFrame(rows)).set_index("arm")
    assert r.loc["a", "mean_val_mahp@250"] == pytest.approx((0.7 + 0.8) / 2)
    assert r.loc["b", "mean_val_mahp@250"] == pytest.approx((0.6 + 0.9) / 2)
    assert r.loc["a", "cells_won"] == 1 and r.loc["b", "cells_won"] == 1 and r.loc["c", "cells_won"] == 0
    assert r.loc["a", "mean_rank"] == pytest.approx(2.0) and r.loc["c", "mean_rank"] == pytest.approx(2.0)
    assert list(A.validation_ranking(pd.DataFrame(rows), arms=["a", "c"])["arm"]) == ["a", "c"]


def test_ablation_splits_train_both_on_the_fit_split():
    data = synthetic_data()
    vdata, tdata = A.ablation_splits(data, n_val=24)
    assert torch.equal(vdata.x_train, tdata.x_train) and len(vdata.x_train) == len(data.x_train) - 24
    assert torch.equal(tdata.x_test, data.x_test) and torch.equal(tdata.y_test, data.y_test)
    assert not any(torch.equal(vdata.x_test, data.x_test[i:i + 24]) for i in range(0, len(data.x_test), 24))


def test_selection_never_reads_the_test_split(tmp_path):
    kw = dict(cells=[("no_classifier", 8)], arms=["none", "quant"], grid={**GRID, "weights": [0.1]}, progress=False)
    base = TrainConfig(**BASE)
    a = A.select_arms(base, A.ablation_splits(synthetic_data(), 24)[0], runs_dir=tmp_path / "a", **kw)
    b = A.select_arms(base, A.ablation_splits(synthetic_data(test_shift=50.0), 24)[0], runs_dir=tmp_path / "b", **kw)
    pd.testing.assert_series_equal(a["val_mahp@250"], b["val_mahp@250"])


def test_run_ablation_selects_on_validation_runs_paired_seeds_and_resumes(tmp_path):
    data = synthetic_data()
    base = TrainConfig(**BASE)
    kw = dict(regimes=["no_classifier", "linear_ce"], bits=[8], regime_bits={"linear_ce": [4]},
              arms=["none", "quant", "kl_mixture"], seeds=[0, 1], grid={**GRID, "weights": [0.01, 0.1]}, n_val=24,
              runs_dir=tmp_path / "runs", results_path=tmp_path / "kl_ablation_x.csv",
              selection_path=tmp_path / "sel.csv", eval_queries=None, progress=False)
    selection, table = A.run_ablation(base, data, **kw)
    assert len(selection) == 2 * (1 + 4 + 4)                        # cells x (none + 4 points per term arm)
    assert sorted(set(zip(table["regime"], table["bits"]))) == [("linear_ce", 4), ("no_classifier", 8)]
    assert len(table) == 2 * 3 * 2 * 2                              # cells x arms x seeds x protocols
    assert table[list(A.SUMMARY_METRICS)].notna().all().all()
    chosen = A.selected_points(selection)
    seed0 = table[table["seed"] == 0]
    assert set(seed0["config_key"]) == set(chosen["config_key"])    # the final seed 0 is the selection run
    assert (table.groupby(["regime", "arm"])["seed"].nunique() == 2).all()
    again_sel, again = A.run_ablation(base, data, **kw)             # everything is read back, nothing retrained
    pd.testing.assert_frame_equal(again.reset_index(drop=True), table.reset_index(drop=True), check_dtype=False)
    assert len(pd.read_csv(tmp_path / "sel.csv")) == len(selection) and len(again_sel) == len(selection)
    summary = A.compare_arms(table)
    assert set(summary["verdict"]) <= {"better", "worse", "no detectable difference"}
    with pytest.raises(ValueError, match="seeds must include 0"):
        A.run_ablation(base, data, **{**kw, "seeds": [1, 2]})
    with pytest.raises(ValueError, match="unknown regime"):
        A.run_ablation(base, data, **{**kw, "regimes": ["sigmoid"]})


def test_run_ablation_in_two_processes_gives_the_rows_of_one(tmp_path):
    """workers=2 deals the selection runs, then the final runs, to two processes and merges their tables: the
    same selection, the same final rows (metrics equal up to the float rounding of another thread count) as one
    process, also for a study of one cell (runs, not cells, are dealt)."""
    data, base, regimes = synthetic_data(), TrainConfig(**BASE), ["no_classifier"]
    kw = dict(regimes=regimes, bits=[8], arms=["none", "quant"], seeds=[0, 1],
              grid={**GRID, "weights": [0.1, 1.0]}, n_val=24, eval_queries=None, progress=False)
    out = {}
    for w in (1, 2):
        d = tmp_path / f"w{w}"
        out[w] = A.run_ablation(base, data, runs_dir=d / "runs", results_path=d / "res.csv",
                                selection_path=d / "sel.csv", workers=w, **kw)
        assert len(pd.read_csv(d / "res.csv")) == len(out[w][1]) == len(regimes) * 2 * 2 * 2
        points = sum(len(A.arm_grid(a, **kw["grid"])) for a in kw["arms"])
        assert len(pd.read_csv(d / "sel.csv")) == len(out[w][0]) == len(regimes) * points
    key = ["regime", "bits", "arm", "seed", "protocol"]
    one, two = (out[w][1].sort_values(key).reset_index(drop=True) for w in (1, 2))
    pd.testing.assert_frame_equal(one[key], two[key])
    np.testing.assert_allclose(one["mahp@250"], two["mahp@250"], atol=1e-3)
    assert set(out[1][0]["config_key"]) == set(out[2][0]["config_key"])
    with pytest.raises(ValueError, match="needs results_path"):
        A.run_ablation(base, data, runs_dir=tmp_path / "x", workers=2, **kw)
