"""The fine-tuning regime: EfficientNet-Lite0 cut after a stage, cached float16 activations of its frozen
bottom, its pretrained top trained with the hashing head (``feature_stage``; docs/reconstruction.md).

Independent truths: the un-split pretrained network (the third-party package used directly), Tan & Le's
stage table, the committed results' run keys, and a real end-to-end run of the ``finetune`` profile shrunk.
"""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from semhash_lib.features import FEATURE_VERSION, feature_cache_path, features_from_images
from semhash_lib.models import FINETUNE_STAGES, split_efficientnet_lite0, stage_output_shape
from semhash_lib.train import TrainConfig, build_model, make_optimizer

torch.set_num_threads(2)
REPO = Path(__file__).resolve().parent.parent


pytestmark = pytest.mark.usefixtures("private_cache")   # every test writes its caches into its own folder


@pytest.fixture(scope="module")
def cifar_test(cifar100_binary):
    from semhash_lib.data import load_arrays

    return load_arrays("cifar100", "test", root=cifar100_binary)


def reference_features(net, images_uint8, res):
    """The whole pretrained network: resize (bilinear), (x - 127) / 128, trunk, global average pool."""
    x = F.interpolate(torch.as_tensor(images_uint8).float(), size=(res, res), mode="bilinear", align_corners=False)
    with torch.no_grad():
        return net.extract_features((x - 127.0) / 128.0).mean((2, 3)).numpy()


def test_stage_shapes_follow_tan_and_le_table_1():
    """Channels 32, 16, 24, 40, 80, 112, 192, 320 and strides 2, 2, 4, 8, 16, 16, 32, 32 (stem = stage 1)."""
    channels = [32, 16, 24, 40, 80, 112, 192, 320]
    strides = [2, 2, 4, 8, 16, 16, 32, 32]
    for stage, (c, s) in enumerate(zip(channels, strides), start=1):
        assert stage_output_shape(stage, 128) == (c, 128 // s, 128 // s)


@pytest.mark.parametrize("stage", FINETUNE_STAGES)
def test_cached_activations_through_the_top_equal_the_whole_network(lite0, cifar_test, stage):
    images = cifar_test[0][:6]
    want = reference_features(lite0, images, 128)
    acts = features_from_images(images, resolution=128, stage=stage, progress=False)
    assert acts.dtype == np.float16 and acts.shape == (6, *stage_output_shape(stage, 128))
    _, top = split_efficientnet_lite0(stage)
    with torch.no_grad():
        got = top(torch.from_numpy(acts)).numpy()
    assert got.dtype == np.float32 and got.shape == (6, 1280)
    # float16 keeps ~3 significant digits of the activations: errors well below 1% of the features' range
    np.testing.assert_allclose(got, want, rtol=2e-2, atol=1e-2 * np.abs(want).max())
    assert np.abs(got - want).mean() < 1e-3 * np.abs(want).max()
    # in float32 the split network is the same function exactly (same modules, same order)
    bottom, _ = split_efficientnet_lite0(stage)
    x = (F.interpolate(torch.as_tensor(images).float(), size=(128, 128), mode="bilinear",
                       align_corners=False) - 127.0) / 128.0
    with torch.no_grad():
        np.testing.assert_allclose(top(bottom(x)).numpy(), want, rtol=1e-5, atol=1e-5)


def test_stage_cache_is_written_atomically_and_reused(cifar_test, monkeypatch, tmp_path):
    images = cifar_test[0][:5]
    folder = tmp_path / "cache" / "features"
    first = features_from_images(images, resolution=64, stage=7, progress=False, cache_name="t")
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 1 and files[0].startswith("t-efficientnet_lite0-64px-stage7-") and files[0].endswith(".npz")
    assert np.load(folder / files[0])["features"].dtype == np.float16

    def no_network(*a, **k):
        raise AssertionError("the bottom must not run on a cache hit")

    monkeypatch.setattr("semhash_lib.models.split_efficientnet_lite0", no_network)
    np.testing.assert_array_equal(features_from_images(images, resolution=64, stage=7, progress=False,
                                                       cache_name="t"), first)
    with pytest.raises(AssertionError, match="must not run"):  # another cut point: another key
        features_from_images(images, resolution=64, stage=8, progress=False, cache_name="t")
    monkeypatch.undo()
    monkeypatch.setenv("SEMHASH_CACHE", str(tmp_path / "cache"))

    def broken_savez(f, **arrays):  # the write fails half-way: nothing under the final name, no temp file
        f.write(b"PK\x03\x04 half")
        raise OSError("disk full")

    monkeypatch.setattr("semhash_lib.io.np.savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        features_from_images(images, resolution=64, stage=6, progress=False, cache_name="u")
    assert sorted(p.name for p in folder.iterdir()) == files


def test_pooled_feature_cache_name_and_key_are_unchanged(cifar_test):
    """Without a stage the cache file is where the pipeline always put it (key formula of before)."""
    from semhash_lib.features import _backbone_stats, weights_id
    from semhash_lib.io import cache_key

    images = cifar_test[0][:3]
    features_from_images(images, resolution=32, progress=False, cache_name="v")
    mean, std = _backbone_stats("efficientnet_lite0")
    key = cache_key("features", FEATURE_VERSION, "efficientnet_lite0", weights_id("efficientnet_lite0"), 32, mean,
                    std, list(images.shape), images)
    assert feature_cache_path("v", "efficientnet_lite0", 32, key).is_file()


def test_bad_feature_stage_is_a_clear_error():
    base = dict(input="features", method="classification")
    for bad in (0, 3, 9):
        with pytest.raises(ValueError, match=r"feature_stage must be one of \[5, 6, 7, 8\].*got " + str(bad)):
            TrainConfig(**base, feature_stage=bad)
    with pytest.raises(TypeError, match="feature_stage"):
        TrainConfig(**base, feature_stage="7")
    with pytest.raises(TypeError, match="feature_stage"):
        TrainConfig(**base, feature_stage=True)
    with pytest.raises(ValueError, match="needs input='features'"):
        TrainConfig(input="images", method="classification", feature_stage=7)
    with pytest.raises(ValueError, match="feature_extractor='efficientnet_lite0'"):
        TrainConfig(**base, feature_extractor="cifar_resnet18", feature_stage=7)
    images = np.zeros((2, 3, 32, 32), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"stage must be one of \[1, 2, 3, 4, 5, 6, 7, 8\]"):
        features_from_images(images, stage=9, progress=False)
    with pytest.raises(ValueError, match="only"):
        features_from_images(images, backbone="small_cnn", stage=7, progress=False)
    _, top = split_efficientnet_lite0(7)
    with pytest.raises(ValueError, match="192"):
        top(torch.zeros(2, 1280))


def test_gradients_reach_the_top_and_not_the_cached_part():
    cfg = TrainConfig(input="features", feature_stage=7, head_hidden=64, method="classification", bits=16,
                      backbone_lr_scale=0.1, lr=1e-2)
    model = build_model(cfg, types.SimpleNamespace(num_classes=10))
    names = [n for n, _ in model.named_parameters()]
    assert not any("stem" in n for n in names)            # the frozen bottom is not part of the network
    top = [(n, p) for n, p in model.named_parameters() if n.startswith("backbone.top.")]
    assert {n.split(".")[3] for n, _ in top if ".blocks." in n} == {"0"}  # stage 8: one block (block 15)
    assert all(p.requires_grad for _, p in model.named_parameters())
    bn = model.backbone.top.blocks[0]._bn1
    stats = bn.running_mean.clone()
    x = torch.randn(8, 192, 4, 4).half()                  # cached activations: data, not parameters
    model.train()
    assert not bn.training                                # pretrained BatchNorm statistics stay
    h, logits = model(x)
    F.cross_entropy(logits, torch.arange(8) % 10).backward()
    assert x.grad is None
    for n, p in top:
        assert p.grad is not None, n
    for n in ("blocks.0._expand_conv.weight", "blocks.0._depthwise_conv.weight", "blocks.0._project_conv.weight",
              "conv_head.weight", "bn1.weight"):
        assert float(model.backbone.top.get_parameter(n).grad.abs().sum()) > 0, n
    torch.testing.assert_close(bn.running_mean, stats)
    groups = make_optimizer(model, cfg).param_groups    # the top at lr * backbone_lr_scale, the rest at lr
    assert sorted(g["lr"] for g in groups) == [pytest.approx(1e-3), pytest.approx(1e-2)]
    params = {round(g["lr"], 6): {id(p) for p in g["params"]} for g in groups}
    assert params[0.001] == {id(p) for _, p in top}
    assert params[0.01] == {id(p) for n, p in model.named_parameters() if not n.startswith("backbone.top.")}
    bottom, _ = split_efficientnet_lite0(7)
    bottom.train()
    assert not bottom.training and not any(p.requires_grad for p in bottom.parameters())


def test_default_configs_keep_their_run_keys():
    """Leaving feature_stage unset changes nothing: the quick profile's runs have the config_key of the
    committed results/hashing_quick.csv."""
    from semhash_lib import experiment, profiles

    cfg = TrainConfig.from_dict(profiles.load_profile("quick")["notebooks"]["03_train_hashing"]["config"])
    assert "feature_stage" not in cfg.to_dict()
    assert cfg.replace(feature_stage=7).to_dict()["feature_stage"] == 7
    assert TrainConfig.from_dict(cfg.replace(feature_stage=7).to_dict()) == cfg.replace(feature_stage=7)
    table = pd.read_csv(REPO / "results" / "hashing_quick.csv")
    rows = table[(table["protocol"] == "train_db") & (table["dataset"] == "cifar100")]
    for _, r in rows.iterrows():
        run = cfg.replace(method=r["method"], bits=int(r["bits"]), seed=int(r["seed"]))
        assert experiment.config_key(run) == r["config_key"], (r["method"], r["bits"])
        assert experiment.config_key(run.replace(feature_stage=7)) != r["config_key"]


def test_finetune_profile_covers_notebooks_03_to_06_in_the_regime():
    from semhash_lib import profiles

    prof = profiles.load_profile("finetune")
    assert sorted(prof["notebooks"]) == ["03_train_hashing", "04_code_distributions", "05_hierarchical_precision",
                                         "06_zero_shot"]
    for nb in prof["notebooks"].values():
        cfg = TrainConfig.from_dict(nb["config"])
        assert cfg.feature_stage in FINETUNE_STAGES and cfg.input == "features" and cfg.backbone_lr_scale < 1


@pytest.mark.slow
def test_finetune_profile_trains_and_evaluates_shrunk(cifar100_binary, tmp_path):
    """The profile's notebook-03 configuration shrunk to 200 real CIFAR-100 training and 100 test images at
    64 px, 1 epoch: activations cached, the top trained (its weights move), both protocols evaluated."""
    from semhash_lib import experiment, profiles

    nb = profiles.load_profile("finetune")["notebooks"]["03_train_hashing"]
    cfg = TrainConfig.from_dict(nb["config"]).replace(train_subset=200, test_subset=100, epochs=1, batch_size=100,
                                                      feature_resolution=64, out_dir=str(tmp_path / "runs"))
    data = experiment.prepare_data(cfg, root=cifar100_binary, progress=False)
    assert data.x_train.dtype == torch.float16
    assert data.x_train.shape == (200, *stage_output_shape(cfg.feature_stage, 64))
    assert data.meta["feature_stage"] == cfg.feature_stage
    table = experiment.run_grid([nb["methods"][0]], [16], [0], cfg, data, protocols=nb["protocols"], progress=False)
    assert sorted(table["protocol"]) == sorted(nb["protocols"])
    for col in ("mahp@250", "map@1000"):
        assert table[col].between(0, 1).all()
    from semhash_lib.runs import trained_model

    model = trained_model(cfg, data, nb["methods"][0], 16, 0, tmp_path / "runs", progress=False)
    _, pretrained = split_efficientnet_lite0(cfg.feature_stage)
    moved = model.backbone.top.conv_head.weight.detach() - pretrained.conv_head.weight
    assert float(moved.detach().abs().max()) > 0
