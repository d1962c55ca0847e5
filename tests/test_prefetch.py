"""The background feature-cache build of ``semhash reproduce`` (``semhash_lib.experiment.prefetch``): which
configurations it builds, when it starts, and that it writes the very cache files the notebooks then load."""

from pathlib import Path

import pytest

from semhash_lib.experiment.prefetch import feature_configs, needs_data, start_prefetch
from semhash_lib.profiles import load_profile


def test_feature_configs_are_the_distinct_feature_datasets_of_the_plan():
    prof = load_profile("medium")["notebooks"]
    plans = [(Path(stem), params) for stem, params in prof.items()]
    configs = feature_configs(plans)
    keys = {(c["dataset"], c["feature_resolution"], c.get("train_subset")) for c in configs}
    # CIFAR-100 at 128 px (03-09 share it), Fashion-MNIST at 64 px (nested under 03's fashion_mnist), COCO-mini
    assert keys == {("cifar100", 128, None), ("fashion-mnist", 64, None), ("coco-mini", 128, None)}
    assert not needs_data(prof["00_the_method_on_a_toy"]) and not needs_data(prof["02_sentence_targets"])
    assert needs_data(prof["03_train_hashing"]) and needs_data(prof["07_captions"])
    images = [(Path("x"), {"config": {"dataset": "cifar100", "input": "images"}})]
    assert feature_configs(images) == []


def test_no_background_build_when_nothing_runs_before_the_first_training_notebook(tmp_path):
    train = load_profile("test")["notebooks"]["03_train_hashing"]
    assert start_prefetch([(Path("03"), train)], tmp_path) is None                  # nothing to overlap
    assert start_prefetch([(Path("00"), {"n_points": 3})], tmp_path) is None         # nothing to build


@pytest.mark.slow
def test_the_background_build_writes_the_caches_the_notebook_loads(private_cache, tmp_path, monkeypatch):
    from semhash_lib.experiment import prepare_data
    from semhash_lib.train import TrainConfig

    train = load_profile("test")["notebooks"]["03_train_hashing"]
    job = start_prefetch([(Path("00"), {"n_points": 3}), (Path("03"), train)], tmp_path)
    assert job is not None and job.wait()
    assert "cifar100" in (tmp_path / "prefetch.log").read_text()

    def no_network(*a, **k):
        raise AssertionError("the features must come from the cache the background build wrote")

    monkeypatch.setattr("semhash_lib.models.build_backbone", no_network)
    data = prepare_data(TrainConfig.from_dict(train["config"]).effective(), progress=False)
    assert data.x_train.shape[1] == 1280 and len(data.x_test) == train["config"]["test_subset"]
