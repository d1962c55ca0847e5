"""The trainer: config round-trips, schedule, augmentation, atomic checkpoints, resume, NaN stop, encoding,
and a real learning signal on a CIFAR-100 subset."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import yaml

from semhash_lib import train as T
from semhash_lib.train import NonFiniteLossError, TrainConfig, augment_batch, encode, lr_factor

torch.set_num_threads(2)


# ------------------------------------------------------------------ config
def test_config_dict_and_yaml_round_trip(tmp_path):
    c = TrainConfig(method="dsh", bits=48, lr=0.05, optimizer="sgd", loss={"kl": 0.5, "sim": 2.0},
                    train_classes=[3, 1, 2], warmup_epochs=0.5, out_dir=str(tmp_path / "run"))
    assert TrainConfig.from_dict(c.to_dict()) == c
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(c.to_dict()))
    assert TrainConfig.from_yaml(path) == c
    # a profile-style file with the config under a key, and YAML's "1e-3" (a string for PyYAML)
    path.write_text("train:\n  lr: 1e-3\n  bits: 16\n  epochs: 3\n")
    assert yaml.safe_load(path.read_text())["train"]["lr"] == "1e-3"
    c2 = TrainConfig.from_yaml(path, key="train")
    assert c2.lr == 1e-3 and c2.bits == 16 and c2.epochs == 3
    # JSON round trip too (what the checkpoint stores)
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_config_unknown_key_lists_valid_keys():
    with pytest.raises(ValueError) as info:
        TrainConfig.from_dict({"bits": 16, "learning_rate": 0.1})
    msg = str(info.value)
    assert "learning_rate" in msg and "lr" in msg and "batch_size" in msg


@pytest.mark.parametrize("bad", [{"optimizer": "rmsprop"}, {"schedule": "poly"}, {"bits": 0}, {"lr": -1.0},
                                 {"input": "pixels"}, {"device": "tpu"}, {"train_classes": [1, 1, 2]},
                                 {"epochs": 2.5}, {"bits": "16"}, {"amp": "yes"}])
def test_config_rejects_bad_values(bad):
    with pytest.raises((ValueError, TypeError)):
        TrainConfig.from_dict(bad)


# ------------------------------------------------------------------ schedule
def test_lr_factor_warmup_cosine_step():
    c = TrainConfig(epochs=10, warmup_epochs=1, schedule="cosine")
    spe = 5
    # warm-up: linear (step+1)/W over W = 5 steps
    assert [lr_factor(s, spe, c) for s in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    # cosine over the remaining 45 steps: 1 at its start, 1/2 in the middle, -> 0 at the end
    assert lr_factor(5, spe, c) == pytest.approx(1.0)
    assert lr_factor(5 + 45 // 2, spe, c) == pytest.approx(0.5 * (1 + math.cos(math.pi * 22 / 45)))
    assert lr_factor(49, spe, c) == pytest.approx(0.5 * (1 + math.cos(math.pi * 44 / 45)))
    s = TrainConfig(epochs=10, schedule="step", step_epochs=3, step_gamma=0.1)
    assert [lr_factor(e * spe, spe, s) for e in (0, 2, 3, 5, 6, 9)] == pytest.approx([1, 1, .1, .1, .01, .001])
    assert lr_factor(17, spe, TrainConfig(schedule="constant")) == 1.0


# ------------------------------------------------------------------ augmentation
def brute_crop_flip(x, oy, ox, flip, pad=4):
    """Reference: zero-pad one image, cut the window at (oy, ox), mirror it."""
    c, h, w = x.shape
    p = np.zeros((c, h + 2 * pad, w + 2 * pad), dtype=x.dtype)
    p[:, pad:pad + h, pad:pad + w] = x
    out = p[:, oy:oy + h, ox:ox + w]
    return out[:, :, ::-1] if flip else out


def test_augment_batch_matches_per_image_reference():
    x = torch.randint(0, 256, (16, 3, 8, 10), dtype=torch.uint8)
    g = torch.Generator().manual_seed(7)
    out = augment_batch(x, g)
    # replay the generator's draws in the documented order: offsets (2, B) then flips (B,)
    g2 = torch.Generator().manual_seed(7)
    offsets = torch.randint(0, 9, (2, 16), generator=g2)
    flips = torch.rand(16, generator=g2) < 0.5
    assert out.dtype == torch.uint8 and out.shape == x.shape
    for b in range(16):
        ref = brute_crop_flip(x[b].numpy(), int(offsets[0, b]), int(offsets[1, b]), bool(flips[b]))
        assert np.array_equal(out[b].numpy(), ref)
    # with offsets (4, 4) and no flip the image is unchanged: some draws must hit that and differ elsewhere
    assert not torch.equal(out, x)


# ------------------------------------------------------------------ checkpoints
def test_failing_checkpoint_save_keeps_previous_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    good = {"model": {"w": torch.arange(5.0)}, "epoch": 1}
    T.save_checkpoint(path, good)
    with pytest.raises(Exception):
        # a lambda cannot be pickled: torch.save fails part-way through writing
        T.save_checkpoint(path, {"model": {"w": torch.zeros(1000)}, "epoch": 2, "bad": lambda: 0})
    back = T.load_checkpoint(path)
    assert back["epoch"] == 1 and torch.equal(back["model"]["w"], torch.arange(5.0))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"], "no temporary file may be left"


def test_resolve_device():
    assert T.resolve_device("cpu").type == "cpu"
    assert T.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            T.resolve_device("cuda")
