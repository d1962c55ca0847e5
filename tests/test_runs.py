"""Run folders: semhash_lib.runs names and configures a run exactly as run_grid does, so the notebooks' figures
are drawn from the grid's finished runs (nothing retrained), and trained_codes encodes the splits asked for."""

import pytest

from semhash_lib import experiment, runs
from semhash_lib.train import TrainConfig, encode, train

from synthetic import synthetic_data

BASE = dict(dataset="cifar100", input="features", bits=8, epochs=1, batch_size=32, device="cpu", lr=3e-3)


class _Stop(Exception):
    pass


def _grid_config(monkeypatch, base, method, bits, seed):
    """The configuration run_grid trains for (method, bits, seed): its call to train is intercepted."""
    seen = []

    def fake_train(cfg, data, progress=True):
        seen.append(cfg)
        raise _Stop

    monkeypatch.setattr(experiment.grid, "train", fake_train)
    with pytest.raises(_Stop):
        experiment.run_grid([method], [bits], [seed], base, synthetic_data(), protocols=("train_db",), progress=False)
    return seen[0]


def test_run_folder_and_config_are_the_grids(tmp_path, monkeypatch):
    assert runs.run_name("semhash", 32, 0) == "semhash-32b-s0"
    assert runs.run_folder(tmp_path / "cifar100", "dsh", 16.0, 2) == tmp_path / "cifar100" / "dsh-16b-s2"
    base = TrainConfig(**BASE, out_dir=str(tmp_path / "cifar100"))
    grid_cfg = _grid_config(monkeypatch, base, "semhash_no_kl", 8, 1)
    assert runs.run_config(base, "semhash_no_kl", 8, 1) == grid_cfg
    assert runs.run_config(base.replace(out_dir=None), "semhash_no_kl", 8, 1, out_dir=tmp_path / "cifar100") == grid_cfg
    assert grid_cfg.out_dir == str(tmp_path / "cifar100" / "semhash_no_kl-8b-s1")
    # no folder anywhere: the trainer's default run folder, as in run_grid
    plain = TrainConfig(**BASE)
    assert runs.run_config(plain, "semhash", 8, 0).out_dir == _grid_config(monkeypatch, plain, "semhash", 8, 0).out_dir


def test_trained_codes_load_the_grids_runs(tmp_path):
    data = synthetic_data()
    base = TrainConfig(**BASE, out_dir=str(tmp_path / "runs"))
    experiment.run_grid(["semhash", "semhash_no_kl"], [8], [0], base, data, protocols=("train_db",), progress=False)
    ckpt = runs.run_folder(tmp_path / "runs", "semhash", 8, 0) / "checkpoint.pt"
    stamp = ckpt.stat().st_mtime_ns
    codes = runs.trained_codes(base, data, ["semhash", "semhash_no_kl"], 8, 0, splits=("test", "train"), progress=False)
    assert ckpt.stat().st_mtime_ns == stamp                       # loaded, not retrained
    assert list(codes) == ["semhash", "semhash_no_kl"] and set(codes["semhash"]) == {"test", "train"}
    assert codes["semhash"]["test"].shape == (len(data.y_test), 8)
    assert codes["semhash"]["train"].shape == (len(data.y_train), 8)
    model = train(runs.run_config(base, "semhash", 8, 0), data, progress=False).model
    assert (codes["semhash"]["test"] == encode(model, data.x_test)[0]).all()
    same = runs.trained_codes(base.replace(out_dir=None), data, ["semhash"], 8, 0, out_dir=tmp_path / "runs",
                              progress=False)
    assert set(same["semhash"]) == {"test"} and (same["semhash"]["test"] == codes["semhash"]["test"]).all()
    assert (runs.trained_model(base, data, "semhash", 8, 0, progress=False).state_dict().keys()
            == model.state_dict().keys())
    with pytest.raises(ValueError, match="unknown split"):
        runs.trained_codes(base, data, ["semhash"], 8, 0, splits=("val",))
