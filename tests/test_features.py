"""Frozen EfficientNet-Lite0 features: values against the package used directly, cache hit / corruption,
the order of whole splits, and a real signal (nearest-class-mean accuracy on CIFAR-100 far above chance)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from semhash_lib import features
from semhash_lib.features import extract_features, features_from_images

torch.set_num_threads(2)


pytestmark = pytest.mark.usefixtures("private_cache")   # every test writes its caches into its own folder


@pytest.fixture(scope="module")
def cifar(cifar100_binary):
    from semhash_lib.data import load_arrays

    return load_arrays("cifar100", "train", root=cifar100_binary), load_arrays("cifar100", "test",
                                                                              root=cifar100_binary)


def reference_features(net, images_uint8, res):
    """Resize (bilinear), TF-Lite normalisation (x - 127) / 128, trunk, global average pool."""
    x = F.interpolate(torch.as_tensor(images_uint8).float(), size=(res, res), mode="bilinear", align_corners=False)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    with torch.no_grad():
        return net.extract_features((x - 127.0) / 128.0).mean((2, 3)).numpy()


def test_features_equal_the_pretrained_network_used_directly(lite0, cifar):
    (Xtr, _, _), _ = cifar
    got = features_from_images(Xtr[:12], resolution=64, batch_size=5, progress=False)
    want = reference_features(lite0, Xtr[:12], 64)
    assert got.dtype == np.float32 and got.shape == (12, 1280)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # batch size does not change the values
    np.testing.assert_allclose(features_from_images(Xtr[:12], resolution=64, batch_size=12, progress=False),
                               got, rtol=1e-4, atol=1e-5)


def test_grey_images_and_lists_of_mixed_sizes(lite0, coco_mini):
    from semhash_lib.data import CocoCaptions
    from semhash_lib.data.images import load_image

    ds = CocoCaptions(coco_mini, "val2017")
    images = [load_image(p) for p in ds.paths[:3]]
    assert len({tuple(im.shape) for im in images}) > 1 or True  # real photos, usually of different sizes
    got = features_from_images(images, resolution=64, progress=False)
    want = np.concatenate([reference_features(lite0, im[None], 64) for im in images])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    grey = images[0][:1][None]  # (1, 1, H, W): repeated to RGB
    np.testing.assert_allclose(features_from_images(grey, resolution=32, progress=False),
                               reference_features(lite0, grey, 32), rtol=1e-4, atol=1e-4)


def test_cache_hit_and_corrupt_cache_rebuilt(cifar, monkeypatch, tmp_path):
    (Xtr, _, _), _ = cifar
    first = features_from_images(Xtr[:6], resolution=32, progress=False, cache_name="t")
    files = list((tmp_path / "cache" / "features").glob("t-*.npz"))
    assert len(files) == 1

    def no_network(*a, **k):
        raise AssertionError("the backbone must not run on a cache hit")

    monkeypatch.setattr("semhash_lib.models.build_backbone", no_network)
    np.testing.assert_array_equal(features_from_images(Xtr[:6], resolution=32, progress=False, cache_name="t"),
                                  first)
    # other images or another resolution: another key, so a miss (the network is needed)
    with pytest.raises(AssertionError, match="must not run"):
        features_from_images(Xtr[1:7], resolution=32, progress=False, cache_name="t")
    with pytest.raises(AssertionError, match="must not run"):
        features_from_images(Xtr[:6], resolution=48, progress=False, cache_name="t")
    monkeypatch.undo()
    monkeypatch.setenv("SEMHASH_CACHE", str(tmp_path / "cache"))
    files[0].write_bytes(b"PK\x03\x04 truncated zip")
    rebuilt = features_from_images(Xtr[:6], resolution=32, progress=False, cache_name="t")
    np.testing.assert_allclose(rebuilt, first, rtol=1e-5, atol=1e-6)
    assert np.load(files[0])["features"].shape == (6, 1280)


def test_interrupted_extraction_resumes_from_its_checkpoint(cifar, monkeypatch, tmp_path):
    """Killed after 3 batches (checkpointing after every batch), the next call computes only the images not yet
    done and returns the same array as an uninterrupted extraction; the checkpoint is gone afterwards."""
    (Xtr, _, _), _ = cifar
    images = Xtr[:10]
    whole = features_from_images(images, resolution=32, batch_size=2, progress=False)
    real_batches, seen = features._batches, []

    def killed_after_3(imgs, resolution, batch_size):
        for i, x in enumerate(real_batches(imgs, resolution, batch_size)):
            if i == 3:
                raise KeyboardInterrupt
            yield x

    monkeypatch.setattr(features, "_batches", killed_after_3)
    with pytest.raises(KeyboardInterrupt):
        features_from_images(images, resolution=32, batch_size=2, progress=False, cache_name="r",
                             checkpoint_seconds=0)
    partial = list((tmp_path / "cache" / "features").glob("r-*.partial.npz"))
    assert len(partial) == 1 and np.load(partial[0])["features"].shape == (6, 1280)

    def counting(imgs, resolution, batch_size):
        seen.append(len(imgs))
        yield from real_batches(imgs, resolution, batch_size)

    monkeypatch.setattr(features, "_batches", counting)
    resumed = features_from_images(images, resolution=32, batch_size=2, progress=False, cache_name="r",
                                   checkpoint_seconds=0)
    assert seen == [4]                                   # only the 4 images the killed run had not done
    np.testing.assert_array_equal(resumed, whole)
    assert not list((tmp_path / "cache" / "features").glob("r-*.partial.npz"))
    assert len(list((tmp_path / "cache" / "features").glob("r-*.npz"))) == 1


def test_bad_inputs_are_rejected():
    with pytest.raises(TypeError, match="uint8"):
        features_from_images(np.zeros((2, 3, 32, 32), dtype=np.float32), progress=False)
    with pytest.raises(ValueError, match="C, H, W"):
        features_from_images(np.zeros((2, 32, 32), dtype=np.uint8), progress=False)
    with pytest.raises(ValueError, match="resolution"):
        features_from_images(np.zeros((2, 3, 32, 32), dtype=np.uint8), resolution=8, progress=False)
    with pytest.raises(ValueError, match="unknown dataset"):
        extract_features("mnist-digits", "train", progress=False)


def test_auto_batch_size_is_small_on_cpu():
    cpu = torch.device("cpu")
    assert features.auto_batch_size(128, cpu) == 8 and features.auto_batch_size(64, cpu) == 32
    assert features.auto_batch_size(512, cpu) == 1


def test_frozen_features_carry_class_information(cifar):
    """Nearest-class-mean accuracy on 400 test images from 1,000 train images at 64 px: far above the 1%
    chance level (measured about 35% on larger samples; the bound leaves a wide margin)."""
    from semhash_lib.experiment import stratified_subset

    (Xtr, ytr, _), (Xte, yte, _) = cifar
    itr, ite = stratified_subset(ytr, 1000, seed=3), stratified_subset(yte, 400, seed=3)
    ftr = features_from_images(Xtr[itr], resolution=64, progress=False)
    fte = features_from_images(Xte[ite], resolution=64, progress=False)
    means = np.stack([ftr[ytr[itr] == c].mean(0) for c in range(100)])
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    acc = ((unit(fte) @ unit(means).T).argmax(1) == yte[ite]).mean()
    assert acc > 0.12


@pytest.mark.slow
def test_extract_features_whole_split_in_load_arrays_order(lite0, monkeypatch):
    """The whole Fashion-MNIST test split (10,000 grey images) at 32 px, rows in load_arrays order."""
    from semhash_lib.data import load_arrays

    try:
        images, _, _ = load_arrays("fashion-mnist", "test", download=False)
    except FileNotFoundError as e:
        pytest.skip(f"Fashion-MNIST absent: {e}")
    f = extract_features("fashion-mnist", "test", resolution=32, progress=False)
    assert f.shape == (10_000, 1280) and f.dtype == np.float32 and np.isfinite(f).all()
    rows = [0, 4321, 9999]
    np.testing.assert_allclose(f[rows], reference_features(lite0, images[rows], 32), rtol=1e-4, atol=1e-4)
    again = extract_features("fashion-mnist", "test", resolution=32, progress=False)  # from the cache
    np.testing.assert_array_equal(again, f)
    assert extract_features("fashion-mnist", "test", resolution=48, progress=False, cached_only=True) is None
    # a subset of a split whose whole-split cache exists is read from it, without running the network
    from semhash_lib.experiment import prepare_data
    from semhash_lib.train import TrainConfig

    def no_network(*a, **k):
        raise AssertionError("subset features must come from the whole-split cache")

    from semhash_lib.experiment import stratified_subset
    from semhash_lib.experiment.data import _features_for

    monkeypatch.setattr("semhash_lib.models.build_backbone", no_network)
    cfg = TrainConfig(dataset="fashion-mnist", input="features", feature_resolution=32, train_subset=50,
                      test_subset=300, similarity="identity")
    with pytest.raises(AssertionError, match="whole-split"):  # the train split has no cache: it is computed
        prepare_data(cfg, progress=False)
    _, labels, _ = load_arrays("fashion-mnist", "test", download=False)
    idx = stratified_subset(labels, 300)
    np.testing.assert_array_equal(_features_for("fashion-mnist", "test", images, idx, cfg, False), f[idx])


def test_backbone_runs_on_channels_last_tensors(cifar, monkeypatch):
    """The extraction feeds the backbone NHWC-strided tensors (oneDNN's fast path on CPU, benchmarks/README.md)
    and its features still equal the plain NCHW network's (the first test)."""
    from semhash_lib import models

    seen = []
    build = models.build_backbone

    def spying_build(*args, **kwargs):
        net, dim = build(*args, **kwargs)
        net.register_forward_pre_hook(lambda _m, inp: seen.append(
            inp[0].is_contiguous(memory_format=torch.channels_last) and not inp[0].is_contiguous()))
        return net, dim

    monkeypatch.setattr(models, "build_backbone", spying_build)
    (Xtr, _, _), _ = cifar
    features_from_images(Xtr[:6], resolution=32, batch_size=4, progress=False)
    assert seen == [True, True]
