"""The library calls the notebooks are made of: the shared setup cell (semhash_lib.notebook), hP@k / P@k
curves of trained codes, the code-statistics table, the tables built on similarity comparisons, and the
figures (each checked for what it draws, not only that it draws)."""

from dataclasses import replace
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from semhash_lib import metrics, notebook, results, targets  # noqa: E402
from semhash_lib.codes import code_statistics, code_statistics_table  # noqa: E402
from semhash_lib.plotting import (plot_bit_correlations, plot_caption_retrieval, plot_class_retrieval,  # noqa: E402
                                  plot_precision_curves, plot_similarity_heatmaps, plot_similarity_scatters,
                                  thumbnail)
from semhash_lib.plotting.tables import (plot_map_vs_mahp, plot_metric, plot_metric_by_bits_per_group,  # noqa: E402
                                         plot_metrics_by_bits)
from semhash_lib.profiles import load_profile  # noqa: E402

from synthetic import synthetic_data  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------ the setup cell
def test_setup_merges_the_profile_and_resolves_the_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns = {"profile": "test", "config": None, "methods": ["dsh"], "bits": None, "seed": None}
    nb = notebook.setup("test", "04_code_distributions", ns, "figs", "out/res")
    wanted = load_profile("test")["notebooks"]["04_code_distributions"]
    assert ns["config"] == wanted["config"] and ns["bits"] == wanted["bits"] and ns["seed"] == wanted["seed"]
    assert ns["methods"] == ["dsh"] and nb.parameters["methods"] == ["dsh"]   # a value already given wins
    assert nb.figures_dir == (tmp_path / "figs").resolve() and nb.figures_dir.is_dir()
    assert nb.results_dir == (tmp_path / "out" / "res").resolve() and nb.results_dir.is_dir()
    assert nb.runs_dir == nb.results_dir / "runs" / "test"
    assert (ns["figures_dir"], ns["results_dir"], ns["runs_dir"]) == (nb.figures_dir, nb.results_dir, nb.runs_dir)
    assert nb.run_dir("cifar100", "semhash", 16.0, 0) == nb.runs_dir / "cifar100" / "semhash-16b-s0"
    assert nb.grid_dir("cifar100-zeroshot") == nb.runs_dir / "cifar100-zeroshot"
    assert "profile='test'" in capsys.readouterr().out
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    paths = nb.save(fig, "x")
    assert [p.name for p in paths] == ["x.png", "x.svg"] and all(p.parent == nb.figures_dir for p in paths)


def test_session_runs_a_grid_in_the_notebook_folders_with_its_parameters(tmp_path, monkeypatch):
    from semhash_lib import experiment
    from semhash_lib.train import TrainConfig

    calls = []
    monkeypatch.setattr(experiment, "run_grid", lambda *args, **kw: calls.append((args, kw)) or "rows")
    ns = {"profile": "test", "protocols": ["train_db"], "eval_queries": None, "continuous_rank": "euclidean",
          "results_name": "hashing_test.csv"}
    nb = notebook.setup("test", "03_train_hashing", ns, tmp_path / "f", tmp_path / "r", verbose=False)
    data, config = SimpleNamespace(dataset="cifar100"), TrainConfig()
    assert nb.run_grid(["semhash"], [16], [0], config, data, extra={"unseen": "3 7"}) == "rows"
    (methods, bits, seeds, base, got), kw = calls[-1]
    assert (methods, bits, seeds, got) == (["semhash"], [16], [0], data)
    assert base == config.replace(out_dir=str(nb.runs_dir / "cifar100"))
    assert kw == {"protocols": ["train_db"], "continuous_rank": "euclidean", "extra": {"profile": "test", "unseen": "3 7"},
                  "results_path": nb.results_dir / "hashing_test.csv"}
    assert list(kw["extra"]) == ["profile", "unseen"]
    nb.run_grid(["semhash"], [16], [0], config, data, "cifar100-sentence", save_rows=False, protocols=["test_vs_test"])
    (_, _, _, base, _), kw = calls[-1]
    assert base.out_dir == str(nb.runs_dir / "cifar100-sentence")
    assert kw == {"protocols": ["test_vs_test"], "continuous_rank": "euclidean"}     # no results file, no profile column
    with pytest.raises(ValueError, match="no results_name"):
        replace(nb, grid_parameters={}).run_grid(["semhash"], [16], [0], config, data)


# ------------------------------------------------------------------ hP@k and P@k curves
def _codes(data, seed=0):
    g = torch.Generator().manual_seed(seed)
    proj = torch.randn(data.x_train.shape[1], 8, generator=g)
    return {"a": {"test": (data.x_test @ proj).numpy(), "train": (data.x_train @ proj).numpy()},
            "b": {"test": torch.randn(len(data.x_test), 8, generator=g).numpy(),
                  "train": torch.randn(len(data.x_train), 8, generator=g).numpy()}}


def test_precision_curves_are_the_metric_curves_of_both_protocols():
    data = synthetic_data()                        # 6 classes x 24 train / 6 test images
    codes = _codes(data)
    curves = results.precision_curves(codes, data, queries=10, seed=3)
    assert list(curves) == ["train_db", "test_vs_test"]
    assert curves["train_db"]["class_size"] == 24 and curves["test_vs_test"]["class_size"] == 5
    q = np.sort(np.random.default_rng(3).choice(len(data.y_test), 10, replace=False))
    S = data.class_similarity.numpy().astype(np.float64)
    yt, ytr = data.y_test.numpy(), data.y_train.numpy()
    ks, hp = curves["train_db"]["hP@k"]["a"]
    assert ks[0] == 1 and ks[-1] == 3 * 24 and len(ks) <= 80
    np.testing.assert_allclose(hp, metrics.hierarchical_precision_curve(codes["a"]["test"][q], codes["a"]["train"],
                                                                       yt[q], ytr, S, ks=ks))
    ks, pk = curves["test_vs_test"]["P@k"]["b"]
    assert ks[-1] == len(yt) - 1                   # fewer than 250 other test images
    np.testing.assert_allclose(pk, metrics.precision_curve(codes["b"]["test"], codes["b"]["test"], yt, yt, ks=ks,
                                                           exclude_self=True))
    assert curves["train_db"]["queries"] == 10 and curves["test_vs_test"]["queries"] == len(yt)
    fig = plot_precision_curves(curves, 8, seed=0)
    axes = np.array(fig.axes).reshape(2, 2)
    assert all(ax.get_legend() is None for ax in axes.ravel()) and len(fig.legends) == 1   # one, for all panels
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["a", "b"]
    assert axes[1, 0].get_title() == ("hP@k of codes sign(h), Hamming ranking (8 bits, seed 0)\n"
                                      f"test_vs_test: {len(yt)} test queries vs the other test images")
    assert len(axes[0, 1].get_lines()) == 2 + 1   # two methods and the class-size line


# ------------------------------------------------------------------ code statistics
def test_code_statistics_table_has_one_row_of_code_statistics_per_method():
    rng = np.random.default_rng(0)
    outputs = {"m1": np.tanh(3 * rng.normal(size=(50, 6))), "m2": rng.normal(size=(50, 6))}
    table = code_statistics_table(outputs, 6)
    assert list(table.columns) == ["method", "bits", "|h|<0.05", "|h|<0.1", "quant. MSE", "bit balance",
                                   "mean |corr|", "code entropy (bits)", "distinct codes"]
    s = code_statistics(outputs["m2"])
    r = table.iloc[1]
    assert r["method"] == "m2" and r["bits"] == 6 and r["|h|<0.1"] == s["near_zero"][0.1]
    off = ~np.eye(6, dtype=bool)
    assert r["mean |corr|"] == pytest.approx(np.abs(s["bit_correlation"][off]).mean())
    fig = plot_bit_correlations(outputs)
    assert len(fig.axes) == 3                                                              # + the colour bar
    titles = [ax.get_title().split("\n") for ax in fig.axes[:2]]
    assert [t[0] for t in titles] == ["m1", "m2"]
    assert titles[1][1] == f"mean |r| off-diagonal {np.abs(s['bit_correlation'][~np.eye(6, dtype=bool)]).mean():.3f}"


# ------------------------------------------------------------------ similarity tables
def _sims(n=8, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name in ("a", "b", "c"):
        x = rng.normal(size=(n, 3))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[name] = (1 + x @ x.T) / 2
    return out


def test_agreement_and_neighbour_tables_are_the_comparison_functions():
    sims = _sims()
    table = targets.agreement_table(sims, k=3)
    assert list(table.index) == ["a vs b", "a vs c", "b vs c"] and table["pairs"].dtype.kind == "i"
    ra = targets.rank_agreement(sims["a"], sims["c"])
    assert table.loc["a vs c", "spearman"] == pytest.approx(ra["spearman"])
    assert table.loc["b vs c", "mean 3-NN Jaccard"] == pytest.approx(targets.neighbour_overlap(sims["b"], sims["c"], 3).mean())
    names = [f"n{i}" for i in range(8)]
    nt = targets.neighbour_table(names, [2, 5], {"A": sims["a"]})
    assert list(nt.columns) == ["class", "A"] and nt.iloc[1]["A"] == targets.describe_neighbours(sims["a"], names, 5)
    worst = targets.neighbour_disagreements(sims["a"], sims["b"], names, k=2, n_items=3, labels=("x", "y"))
    assert list(worst.columns) == ["class", "2-NN Jaccard", "nearest on x", "nearest on y"] and len(worst) == 3
    overlap = targets.neighbour_overlap(sims["a"], sims["b"], 2)
    assert list(worst["2-NN Jaccard"]) == sorted(overlap.round(2))[:3]
    summary = targets.similarity_value_summary({"a": sims["a"]})
    iu = np.triu_indices(8, k=1)
    assert summary.loc["a", "count"] == 28 and summary.loc["a", "mean"] == pytest.approx(sims["a"][iu].mean())
    assert summary.loc["a", "distinct values"] == len(np.unique(sims["a"][iu]))


def test_nearest_texts_leave_the_query_out():
    S = np.array([[1.0, 0.2, 0.9], [0.2, 1.0, 0.4], [0.9, 0.4, 1.0]])
    t = targets.nearest_texts(S, ["x", "y", "z"], n_queries=2, k=2)
    assert list(t["neighbour"]) == ["z", "y", "z", "x"] and list(t["query"]) == ["x", "", "y", ""]
    assert list(t["s"]) == [0.9, 0.2, 0.4, 0.2]


def test_similarity_figures_have_one_panel_per_matrix():
    sims = _sims()
    names = [f"n{i}" for i in range(8)]
    fig = plot_similarity_heatmaps({"A": sims["a"], "B": sims["b"]}, names)
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["A", "B"]
    fig = plot_similarity_scatters([(sims["a"], sims["b"], "a", "b"), (sims["a"], sims["c"], "a", "c")])
    assert [ax.get_ylabel() for ax in fig.axes] == ["b", "c"]


# ------------------------------------------------------------------ results figures
def _table():
    rows = []
    for protocol in ("train_db", "test_vs_test"):
        for target in ("T1", "T2"):
            for m, base in (("semhash", 0.7), ("csq", 0.6)):
                for bits in (16, 32):
                    for seed in range(2):
                        v = base + bits / 1000 + seed / 100 + (0.05 if target == "T2" else 0)
                        rows.append({"dataset": "d", "protocol": protocol, "targets": target, "method": m, "bits": bits,
                                     "seed": seed, "mahp@250": v, "map@all": v - 0.3, "map@1000": v - 0.2})
    return pd.DataFrame(rows)


def test_results_figures_draw_the_means_over_seeds():
    t = _table()
    fig = plot_metrics_by_bits(t, [("mahp@250", "train_db"), ("map@1000", "test_vs_test")], suptitle="S")
    assert [ax.get_title() for ax in fig.axes] == ["mahp@250 (train_db)\nmean ± std over 4 runs (2 seeds)",
                                                   "map@1000 (test_vs_test)\nmean ± std over 4 runs (2 seeds)"]
    with pytest.raises(ValueError, match="titles"):
        plot_metrics_by_bits(t, [("mahp@250", "train_db")], titles=["a", "b"])
    fig = plot_metric_by_bits_per_group(t, "mahp@250", "targets", ylabel="y", title="T")
    ax = fig.axes[0]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["T1", "T2"]
    mean_t2_32 = t[(t["targets"] == "T2") & (t["bits"] == 32)]["mahp@250"].mean()
    assert ax.containers[-1].lines[0].get_ydata()[-1] == pytest.approx(mean_t2_32)   # T2's error-bar line
    fig = plot_map_vs_mahp(t, title="mAP vs mAHP, {protocol}")
    assert [a.get_title() for a in fig.axes] == ["mAP vs mAHP, train_db\nmean ± std over 4 runs (2 seeds)",
                                                 "mAP vs mAHP, test_vs_test\nmean ± std over 4 runs (2 seeds)"]
    pts = fig.axes[0].collections[1].get_offsets()             # csq's points, 16 and 32 bits
    csq = t[(t["protocol"] == "train_db") & (t["method"] == "csq")].groupby("bits")[["map@all", "mahp@250"]].mean()
    np.testing.assert_allclose(np.asarray(pts), csq.to_numpy())


def test_plot_metric_draws_bars_for_one_code_length_and_lines_for_several():
    t = _table()
    one = t[t["bits"] == 32]
    fig = plot_metric(one, "mahp@250", title="T")
    assert fig.axes[0].get_title() == "T, 32 bits\nmean ± std over 4 runs (2 seeds)"   # x 2 targets
    assert len(fig.axes[0].patches) == one["method"].nunique() * one["protocol"].nunique()   # bars
    fig = plot_metric(one, "mahp@250", group="targets")
    assert len(fig.axes[0].patches) == one["method"].nunique() * one["targets"].nunique()
    fig = plot_metric(t, "mahp@250", title="T")                  # lines: a panel per protocol, a line per method
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == ["T, train_db", "T, test_vs_test"]
    assert not fig.axes[0].patches and len(fig.axes[0].containers) == t["method"].nunique()
    fig = plot_metric(t, "mahp@250", group="targets", title="T")  # lines: one per value of the group
    assert [text.get_text() for text in fig.axes[0].get_legend().get_texts()] == ["T1", "T2"]
    assert fig.axes[0].get_title() == "T\nmean ± std over 8 runs (2 seeds), 2 method(s) pooled"


# ------------------------------------------------------------------ retrieval figures
def test_thumbnail_resizes_a_uint8_image():
    img = torch.full((3, 32, 32), 200, dtype=torch.uint8)
    small = thumbnail(img, 16)
    assert small.shape == (3, 16, 16) and small.dtype == np.uint8 and (small == 200).all()
    assert thumbnail(np.zeros((1, 8, 8), np.uint8), 4).shape == (1, 4, 4)
    with pytest.raises(ValueError):
        thumbnail(torch.zeros(8, 8, dtype=torch.uint8))


def test_retrieval_figures_frame_results_by_their_similarity():
    rng = np.random.default_rng(0)
    S = np.array([[1.0, 0.5], [0.5, 1.0]], np.float32)
    emb = torch.nn.functional.normalize(torch.randn(6, 4), dim=1)
    data = SimpleNamespace(class_similarity=torch.from_numpy(S), class_names=["cat", "dog"],
                           y_test=torch.tensor([0, 1]), y_train=torch.tensor([0, 1, 1, 0]),
                           images_test=torch.from_numpy(rng.integers(0, 255, (2, 3, 8, 8), dtype=np.uint8)),
                           images_train=torch.from_numpy(rng.integers(0, 255, (4, 3, 8, 8), dtype=np.uint8)),
                           test_embeddings=emb[:2], train_embeddings=emb[2:],
                           meta={"captions_test": [["q zero"], ["q one"]], "captions_train": [[f"r{j}"] for j in range(4)]})
    idx, dist = np.array([[0, 1], [2, 3]]), np.array([[1, 3], [0, 2]])
    fig = plot_class_retrieval(data, np.array([0, 1]), dist, idx)
    cmap = plt.get_cmap("RdYlGn")
    ax = fig.axes[2]                                           # query 0, second result: training image 1 (dog)
    assert ax.get_title() == "dog (3)" and ax.spines["left"].get_edgecolor() == pytest.approx(cmap(0.5))
    fig = plot_caption_retrieval(data, range(2), idx, size=16)
    ax = fig.axes[5]                                           # query 1, second result: training image 3
    s = float((1 + emb[1] @ emb[5]) / 2)
    assert ax.get_title() == "r3" and ax.spines["left"].get_edgecolor() == pytest.approx(cmap(s))
    assert fig.axes[0].get_images()[0].get_array().shape == (16, 16, 3)
