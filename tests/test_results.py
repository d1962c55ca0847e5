"""Results tables: mean ± std over seeds against numpy, and the trivial-solution table against a hand-built case."""

import numpy as np
import pandas as pd
import pytest

from semhash_lib import results


def _table():
    rows = []
    rng = np.random.default_rng(0)
    # 32 bits: "csq" has the higher mAP but the lower mAHP (a trivial solution); "dsh" is worse on both;
    # "classification" is better on both. 16 bits: nothing beats semhash on mAP.
    spec = {32: {"semhash": (0.40, 0.75), "csq": (0.45, 0.70), "dsh": (0.30, 0.60), "classification": (0.42, 0.76)},
            16: {"semhash": (0.40, 0.70), "csq": (0.35, 0.65)}}
    for bits, methods in spec.items():
        for m, (mp, mh) in methods.items():
            for seed in range(3):
                e = rng.normal(0, 0.002, 2)
                rows.append({"dataset": "cifar100", "protocol": "test_vs_test", "method": m, "bits": bits,
                             "seed": seed, "map@all": mp + e[0], "mahp@250": mh + e[1]})
    return pd.DataFrame(rows)


def test_summarize_matches_numpy_mean_and_sample_std():
    t = _table()
    s = results.summarize(t, ["map@all", "mahp@250"])
    r = s[(s.method == "csq") & (s.bits == 32)].iloc[0]
    x = t[(t.method == "csq") & (t.bits == 32)]["map@all"].to_numpy()
    assert r["map@all"] == pytest.approx(x.mean())
    assert r["map@all_std"] == pytest.approx(x.std(ddof=1))
    assert r["n_seeds"] == 3
    text = results.format_mean_std(s, ["map@all"]).iloc[0]["map@all"]
    assert "±" in text


def test_summarize_names_missing_columns():
    with pytest.raises(ValueError, match="lacks columns"):
        results.summarize(_table(), ["map@1000"])


def test_trivial_solutions_finds_exactly_the_higher_map_lower_mahp_methods():
    t = _table()
    out = results.trivial_solutions(t, reference="semhash")
    assert list(out["method"]) == ["csq"] and list(out["bits"]) == [32]
    r = out.iloc[0]
    assert r["d_map"] > 0 > r["d_mahp"]
    assert r["d_map"] == pytest.approx(0.05, abs=0.01) and r["d_mahp"] == pytest.approx(-0.05, abs=0.01)
    # brute force over the group means agrees
    m = t.groupby(["bits", "method"])[["map@all", "mahp@250"]].mean()
    brute = [(b, k) for (b, k), v in m.iterrows() if k != "semhash"
             and v["map@all"] > m.loc[(b, "semhash"), "map@all"] and v["mahp@250"] < m.loc[(b, "semhash"), "mahp@250"]]
    assert brute == [(32, "csq")]


def test_trivial_solutions_is_empty_without_reference_or_without_such_method():
    t = _table()
    assert results.trivial_solutions(t[t.method != "csq"]).empty
    assert results.trivial_solutions(t, reference="not_a_method").empty


def test_plot_metric_bars_draws_one_bar_per_method_and_group_at_the_mean():
    import matplotlib

    matplotlib.use("Agg")
    from semhash_lib.plotting.tables import plot_metric_bars

    t = _table()
    t = t[t.bits == 32]
    fig = plot_metric_bars(t, "mahp@250", group="protocol")
    bars = [p for p in fig.axes[0].patches]
    assert len(bars) == t["method"].nunique() * t["protocol"].nunique()
    means = t.groupby("method", sort=False)["mahp@250"].mean()
    assert [b.get_height() for b in bars] == pytest.approx(list(means))
