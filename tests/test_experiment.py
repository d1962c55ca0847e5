"""Experiment glue: subsets, zero-shot split, protocols, evaluation rows, the resumable grid, and a real
learning signal on CIFAR-100 (two epochs improve mAHP@250 over the untrained network)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pathlib import Path

import pytest
import torch

from semhash_lib import experiment as E
from semhash_lib.train import TrainConfig

torch.set_num_threads(2)


# ------------------------------------------------------------------ subsets and splits
@pytest.mark.parametrize("n", [1, 7, 40, 99, 100, 250])
def test_stratified_subset_balances_classes(n):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), [30, 30, 30, 30, 30, 30, 30, 30, 5, 5])  # two small classes
    rng.shuffle(labels)
    idx = E.stratified_subset(labels, n, seed=4)
    assert len(idx) == n and len(np.unique(idx)) == n and np.all(np.diff(idx) > 0)
    counts = np.bincount(labels[idx], minlength=10)
    # brute force: dealing items class by class, round after round, gives these per-class counts
    avail = np.bincount(labels, minlength=10)
    want = np.zeros(10, int)
    left = n
    while left:
        for c in range(10):
            if left and want[c] < avail[c]:
                want[c] += 1
                left -= 1
    assert sorted(counts) == sorted(want)
    np.testing.assert_array_equal(idx, E.stratified_subset(labels, n, seed=4))


def test_stratified_subset_all_and_bad():
    labels = np.array([0, 1, 1, 2])
    np.testing.assert_array_equal(E.stratified_subset(labels, None), np.arange(4))
    np.testing.assert_array_equal(E.stratified_subset(labels, 10), np.arange(4))
    with pytest.raises(ValueError):
        E.stratified_subset(labels, 0)


def test_zero_shot_split_one_unseen_class_per_superclass(cifar100_binary):
    from semhash_lib.data import load_arrays

    seen, unseen = E.zero_shot_split("cifar100", 100, 20, "per_superclass", seed=0, root=cifar100_binary)
    assert len(unseen) == 20 and len(seen) == 80 and sorted(seen + unseen) == list(range(100))
    # superclass of each fine class read from the real training records
    _, fine, _ = load_arrays("cifar100", "train", root=cifar100_binary)
    _, coarse, _ = load_arrays("cifar100", "train", root=cifar100_binary, coarse=True)
    parent = {int(f): int(c) for f, c in zip(fine, coarse)}
    assert sorted(parent[u] for u in unseen) == list(range(20))
    assert E.zero_shot_split("cifar100", 100, 20, seed=0, root=cifar100_binary) == (seen, unseen)
    assert E.zero_shot_split("cifar100", 100, 20, seed=1, root=cifar100_binary)[1] != unseen
    s2, u2 = E.zero_shot_split("fashion-mnist", 10, 3, "random", seed=0)
    assert len(u2) == 3 and sorted(s2 + u2) == list(range(10))
    with pytest.raises(ValueError, match="per_superclass"):
        E.zero_shot_split("fashion-mnist", 10, 3, "per_superclass")


# ------------------------------------------------------------------ protocols and evaluation
def toy_data(n_train=60, n_test=30, classes=3, dim=8, seed=0):
    """Features in well separated class clusters; similarity: classes 0 and 1 are siblings."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=g) * 4
    ytr = torch.arange(n_train) % classes
    yte = torch.arange(n_test) % classes
    xtr = centres[ytr] + torch.randn(n_train, dim, generator=g)
    xte = centres[yte] + torch.randn(n_test, dim, generator=g)
    S = torch.full((classes, classes), 0.0)
    S[0, 1] = S[1, 0] = 0.5
    S.fill_diagonal_(1.0)
    return E.ExperimentData(dataset="toy", input="features", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte,
                            class_names=[f"c{i}" for i in range(classes)], class_similarity=S)


def test_protocol_indices():
    d = toy_data()
    assert E.protocol_indices("train_db", d)[1:] == (pytest.approx(np.arange(30)), "train",
                                                     pytest.approx(np.arange(60)), False)
    qs, q, ds, db, excl = E.protocol_indices("test_vs_test", d)
    assert (qs, ds, excl) == ("test", "test", True) and len(q) == len(db) == 30
    _, q, _, db, _ = E.protocol_indices("zs_unseen", d, train_classes=[0, 1])
    assert (d.y_test[q] == 2).all() and (d.y_train[db] == 2).all() and len(q) == 10 and len(db) == 20
    _, q, _, db, _ = E.protocol_indices("zs_mixed", d, train_classes=[0, 1])
    assert (d.y_test[q] == 2).all() and len(db) == 60
    with pytest.raises(ValueError, match="train_classes"):
        E.protocol_indices("zs_unseen", d)
    with pytest.raises(ValueError, match="unknown protocol"):
        E.protocol_indices("db_train", d)


def test_evaluate_bit_corr_is_the_mean_absolute_off_diagonal_correlation():
    """bit_corr against numpy's corrcoef of the sign bits, written out."""
    data = toy_data()
    g = np.random.default_rng(0)
    h = g.standard_normal((len(data.y_test), 6))
    h[:, 1] = h[:, 0] + 0.3 * g.standard_normal(len(h))           # two correlated bits
    rows = np.arange(len(h))
    out = E.evaluate(h, h, data, rows, "test", rows, "test", exclude_self=True)
    r = np.corrcoef(np.where(h >= 0, 1.0, -1.0), rowvar=False)
    assert out["bit_corr"] == pytest.approx(np.abs(r[~np.eye(6, dtype=bool)]).mean(), rel=1e-9)


def test_evaluate_perfect_codes_and_the_continuous_drop():
    d = toy_data()
    # codes that are exactly a class signature: every class retrieves itself first
    sig = torch.tensor([[1.0, 1, 1, 1], [1, 1, -1, -1], [-1, -1, -1, -1]])
    h_tr = (sig[d.y_train] * 0.9).numpy()
    h_te = (sig[d.y_test] * 0.05).numpy()  # same signs, tiny magnitudes: all |h| < 0.1
    out = E.evaluate(h_te, h_tr, d, np.arange(30), "test", np.arange(60), "train")
    assert out["map@1000"] == pytest.approx(1.0) and out["map@all"] == pytest.approx(1.0)
    assert out["mahp@250"] > 0.9
    assert out["near_zero"] == 1.0
    assert out["quant_error"] == pytest.approx(0.95 ** 2)
    assert out["drop_map@1000"] == pytest.approx(out["cont_map@1000"] - out["map@1000"])
    assert out["drop_mahp@250"] == pytest.approx(out["cont_mahp@250"] - out["mahp@250"])
    # with 0/1 class identity as the similarity, perfect class codes rank every relevant item first: hP@i = 1
    # for all i, so the trapezoidal AHP@k over the k = 60 database items is (k - 1) / k
    ident = E.evaluate(h_te, h_tr, d, np.arange(30), "test", np.arange(60), "train", class_similarity=np.eye(3))
    assert ident["mahp@250"] == pytest.approx(59 / 60)
    # a random code loses most of the class precision
    rnd = np.random.default_rng(0).choice([-1.0, 1.0], size=(90, 4))
    bad = E.evaluate(rnd[:30], rnd[30:], d, np.arange(30), "test", np.arange(60), "train")
    assert bad["map@all"] < 0.7


# ------------------------------------------------------------------ the grid
@pytest.fixture
def with_targets():
    pytest.importorskip("semhash_lib.targets", reason="semhash_lib.targets (issue 3) is not in the tree yet")


def grid_config(tmp_path, **kw):
    return TrainConfig(**{**dict(dataset="toy", input="features", bits=8, epochs=2, batch_size=20, device="cpu",
                                 out_dir=str(tmp_path / "runs")), **kw})


def test_run_grid_rows_and_resume(with_targets, tmp_path, monkeypatch):
    d = toy_data()
    csv = tmp_path / "results.csv"
    cfg = grid_config(tmp_path)
    calls = []
    real_train = E.grid.train

    def crash_on_second_run(config, data, **kw):
        calls.append(config.method)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the grid is killed while training its second run
        return real_train(config, data, **kw)

    monkeypatch.setattr(E.grid, "train", crash_on_second_run)
    with pytest.raises(KeyboardInterrupt):
        E.run_grid(["semhash", "dsh"], [8], [0], cfg, d, results_path=csv, progress=False)
    saved = pd.read_csv(csv)
    assert list(saved["method"]) == ["semhash", "semhash"] and list(saved["protocol"]) == ["train_db", "test_vs_test"]

    monkeypatch.setattr(E.grid, "train", real_train)
    table = E.run_grid(["semhash", "dsh"], [8], [0], cfg, d, results_path=csv, progress=False)
    assert len(table) == 4 and set(table["method"]) == {"semhash", "dsh"}
    assert len(pd.read_csv(csv)) == 4  # the first run's rows were not recomputed or duplicated
    for col in ("map@1000", "map@all", "mahp@250", "cont_mahp@250", "near_zero", "quant_error", "train_seconds",
                "images_per_s", "n_queries", "n_db", "config_key"):
        assert col in table.columns
    assert set(table.loc[table.protocol == "test_vs_test", "n_db"]) == {30}
    assert set(table.loc[table.protocol == "train_db", "n_db"]) == {60}

    # a fresh grid in other folders (no checkpoints, no csv) gives the same numbers: the resume was exact
    fresh = E.run_grid(["semhash", "dsh"], [8], [0], grid_config(tmp_path, out_dir=str(tmp_path / "runs2")), d,
                       results_path=tmp_path / "fresh.csv", progress=False)
    cols = ["map@1000", "map@all", "mahp@250", "cont_mahp@250", "near_zero"]
    np.testing.assert_allclose(fresh[cols].to_numpy(), table[cols].to_numpy())

    # an extra evaluation similarity adds rows for the same (already trained) runs
    both = E.run_grid(["semhash", "dsh"], [8], [0], cfg, d, results_path=csv, progress=False,
                      eval_similarity={"wordnet": None, "identity": np.eye(3)})
    assert len(both) == 8 and sorted(set(both["eval_similarity"])) == ["identity", "wordnet"]
    assert len(pd.read_csv(csv)) == 8
    same = both[both.eval_similarity == "wordnet"].sort_values(["method", "protocol"])["mahp@250"].to_numpy()
    np.testing.assert_allclose(same, table.sort_values(["method", "protocol"])["mahp@250"].to_numpy())

    def no_training(*a, **k):
        raise AssertionError("rows already in the CSV must not be recomputed")

    monkeypatch.setattr(E.grid, "train", no_training)
    again = E.run_grid(["semhash", "dsh"], [8], [0], cfg, d, results_path=csv, progress=False)
    pd.testing.assert_frame_equal(again.reset_index(drop=True), table.reset_index(drop=True), check_dtype=False)


def test_run_grid_in_two_processes_gives_the_rows_of_one_single_core_process(tmp_path):
    """workers=2: each process trains on one core with one thread, so every row equals the row of the same run
    trained here with one thread -- exactly, not approximately -- and the merged CSV has each row once."""
    d = toy_data()
    grid = (["semhash", "dsh", "csq"], [8], [0, 1])
    torch.set_num_threads(1)
    try:
        one = E.run_grid(*grid, grid_config(tmp_path, out_dir=str(tmp_path / "r1")), d,
                         results_path=tmp_path / "one.csv", progress=False)
    finally:
        torch.set_num_threads(2)
    two = E.run_grid(*grid, grid_config(tmp_path, out_dir=str(tmp_path / "r2")), d,
                     results_path=tmp_path / "two.csv", progress=False, workers=2)
    assert len(pd.read_csv(tmp_path / "two.csv")) == len(two) == 3 * 2 * 2
    assert list(two["method"]) == list(one["method"]) and list(two["seed"]) == list(one["seed"])   # grid order
    metrics = ["map@1000", "map@all", "mahp@250", "cont_map@1000", "cont_mahp@250", "quant_error", "bit_corr"]
    np.testing.assert_array_equal(two[metrics].to_numpy(), one[metrics].to_numpy())
    assert list(two["config_key"]) == list(one["config_key"])
    with pytest.raises(ValueError, match="needs results_path"):
        E.run_grid(*grid, grid_config(tmp_path), d, progress=False, workers=2)
    with pytest.raises(ValueError, match="workers must be a positive int"):
        E.run_grid(*grid, grid_config(tmp_path), d, progress=False, workers=0)


def test_run_grid_rejects_bad_arguments(tmp_path):
    d = toy_data()
    with pytest.raises(ValueError, match="protocol"):
        E.run_grid(["semhash"], [8], [0], grid_config(tmp_path), d, protocols=("train_vs_all",))
    with pytest.raises(ValueError, match="non-empty"):
        E.run_grid([], [8], [0], grid_config(tmp_path), d)


# ------------------------------------------------------------------ profiles
NOTEBOOK_STEMS = {p.stem for p in (Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb")}


def configs_in(params):
    """Every TrainConfig mapping inside a notebook's parameters (keys named *config), recursively."""
    for key, value in params.items():
        if isinstance(value, dict):
            if key.endswith("config"):
                yield key, value
            else:
                yield from configs_in(value)


@pytest.mark.parametrize("name", ["test", "quick", "medium", "paper"])
def test_profiles_load_with_valid_configs_and_methods(name):
    from semhash_lib.methods import METHODS
    from semhash_lib.profiles import available_profiles, load_profile

    assert name in available_profiles()
    prof = load_profile(name)
    assert prof["name"] == name and prof["description"]
    assert set(prof["notebooks"]) == NOTEBOOK_STEMS
    TrainConfig.from_dict(prof["train"])
    for stem, params in prof["notebooks"].items():
        for key, cfg in configs_in(params):
            TrainConfig.from_dict(cfg)  # raises on an unknown key or a bad value
        for key in ("methods", "caption_methods", "sentence_methods"):
            for m in params.get(key, []) or []:
                assert m in METHODS, f"{name}/{stem}: unknown method {m}"
        for p in params.get("protocols", []) or []:
            assert p in E.PROTOCOLS


def test_profile_sizes_are_ordered():
    """test < quick < medium in work; paper trains images end to end on the GPU."""
    from semhash_lib.profiles import load_profile

    t, q, m, p = (load_profile(n) for n in ("test", "quick", "medium", "paper"))
    assert t["train"]["epochs"] <= q["train"]["epochs"] <= m["train"]["epochs"] < p["train"]["epochs"]
    assert t["train"]["train_subset"] <= 1000 and q["train"]["input"] == m["train"]["input"] == "features"
    assert p["train"]["input"] == "images" and p["train"]["backbone"] == "cifar_resnet18"
    q03 = q["notebooks"]["03_train_hashing"]
    assert q03["bits"] == [16, 32, 64] and len(q03["methods"]) >= 8
    assert len(m["notebooks"]["03_train_hashing"]["seeds"]) == 3


def test_unknown_profile_is_a_clear_error(tmp_path):
    from semhash_lib.profiles import load_profile

    with pytest.raises(ValueError, match="available"):
        load_profile("fastest")
    bad = tmp_path / "p.yaml"
    bad.write_text("name: x\ntrain: {}\n")
    with pytest.raises(ValueError, match="notebooks"):
        load_profile(bad)


# ------------------------------------------------------------------ real data
@pytest.mark.slow
def test_captions_pipeline_on_coco_mini(coco_mini, tmp_path):
    """COCO-mini: per-image caption embeddings as targets, a label-free method, mAHP from the per-pair
    sentence similarity (mAP undefined without classes)."""
    pytest.importorskip("semhash_lib.targets")
    cfg = TrainConfig(dataset="coco-mini", input="features", feature_resolution=32, similarity="sentence",
                      similarity_measure="gloss", method="semhash_no_ce", bits=16, epochs=2, batch_size=40,
                      device="cpu", out_dir=str(tmp_path / "runs"))
    data = E.prepare_data(cfg, root=coco_mini, progress=False)
    assert data.y_train is None and data.x_train.shape == (80, 1280) and data.x_test.shape[0] == 79
    assert torch.allclose(data.train_embeddings.norm(dim=1), torch.ones(80), atol=1e-5)
    assert len(data.meta["captions_train"][0]) >= 5
    # ranking the database by the target embeddings themselves is the ideal ranking: hP@i = 1 for every i,
    # so the trapezoidal AHP@k over the k = 80 database items is (k - 1) / k
    ideal = E.evaluate(data.test_embeddings.numpy(), data.train_embeddings.numpy(), data, np.arange(79), "test",
                       np.arange(80), "train")
    assert ideal["cont_mahp@250"] == pytest.approx(79 / 80, abs=1e-9)
    assert np.isnan(ideal["map@1000"])
    table = E.run_grid(["semhash_no_ce"], [16], [0], cfg, data, progress=False)
    assert list(table["protocol"]) == ["train_db", "test_vs_test"]
    assert table["mahp@250"].between(0, 1).all() and table["map@1000"].isna().all()
    with pytest.raises(ValueError, match="labels"):
        E.run_grid(["classification"], [16], [0], cfg, data, progress=False)


def test_available_dataset_falls_back_when_cifar_is_missing(cifar100_binary, monkeypatch):
    from semhash_lib import data as data_pkg
    from semhash_lib.paths import DataNotFoundError

    assert E.available_dataset("cifar100", root=cifar100_binary) == "cifar100"

    def missing(root=None, download=True):
        assert download is False, "the check must not download"
        raise DataNotFoundError("Could not find 'cifar-100-binary'")

    monkeypatch.setattr(data_pkg, "find_cifar100", missing)
    with pytest.warns(UserWarning, match="fashion-mnist"):
        assert E.available_dataset("cifar100") == "fashion-mnist"
