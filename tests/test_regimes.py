"""The KL-regime experiment: each regime changes exactly what it names, and the grid writes the table columns
notebook 09 and results/kl_regimes_<profile>.csv promise."""

import pandas as pd
import pytest
import torch

from semhash_lib import regimes as R
from semhash_lib.train import TrainConfig, build_model

from synthetic import synthetic_data

torch.set_num_threads(2)

BASE = dict(dataset="cifar100", input="features", bits=8, epochs=2, batch_size=32, device="cpu", lr=3e-3)


def test_regime_configs_change_only_what_they_name():
    base = TrainConfig(**BASE, loss={"sim": 2.0, "sim_kwargs": {"p": 2}})
    data = synthetic_data()
    tanh = R.regime_config(base, "tanh_ce")
    assert tanh == base
    linear = R.regime_config(base, "linear_ce")
    assert linear.activation == "none" and linear.loss == {"sim": 2.0, "sim_kwargs": {"p": 2, "code_distance": "cosine"}}
    nocls = R.regime_config(base, "no_classifier")
    assert nocls.classifier is False and nocls.loss["ce"] == 0.0 and nocls.loss["sim"] == 2.0
    assert build_model(nocls, data).classifier is None and build_model(tanh, data).classifier is not None
    x = data.x_train[:64]
    h_lin = build_model(linear, data)(x)[0]
    h_tanh = build_model(tanh, data)(x)[0]
    assert h_tanh.abs().max() <= 1 and h_lin.abs().max() > 1       # unbounded without tanh
    with pytest.raises(ValueError, match="unknown regime"):
        R.regime_config(base, "sigmoid")


def test_run_kl_regimes_writes_one_row_per_run_and_resumes(tmp_path):
    data = synthetic_data()
    base = TrainConfig(**BASE)
    csv = tmp_path / "kl_regimes_x.csv"
    kw = dict(regimes=["tanh_ce", "linear_ce"], methods=["semhash_no_kl", "semhash_quant"], bits=[8], seeds=[0, 1],
              runs_dir=tmp_path / "runs", results_path=csv, progress=False)
    table = R.run_kl_regimes(base, data, **kw)
    assert list(table.columns[:len(R.REGIME_COLUMNS)]) == list(R.REGIME_COLUMNS)
    assert len(table) == 2 * 2 * 2 and set(table["regime"]) == {"tanh_ce", "linear_ce"}
    assert table[list(R.REGIME_COLUMNS[4:])].notna().all().all()
    # the quantization penalty brings the linear bottleneck's outputs closer to +-1 than no term at all
    lin = table[table["regime"] == "linear_ce"].groupby("method")["quant_error"].mean()
    assert lin["semhash_quant"] < lin["semhash_no_kl"]
    again = R.run_kl_regimes(base, data, **kw)                      # finished runs are read back
    pd.testing.assert_frame_equal(again.reset_index(drop=True), table.reset_index(drop=True), check_dtype=False)
    assert len(pd.read_csv(csv)) == 8
    codes = R.regime_codes(base, data, ["linear_ce"], ["semhash_quant"], bits=8, seed=0, runs_dir=tmp_path / "runs")
    assert codes["linear_ce"]["semhash_quant"].shape == (len(data.y_test), 8)
