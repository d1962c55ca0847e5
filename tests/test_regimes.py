"""The training regimes of the KL ablation: each regime changes exactly what it names."""

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
