"""The ``gpu`` profile: refused without CUDA before any work, and its grid runs end to end shrunk on CPU."""

import pytest
import torch

from semhash_lib.cli import main
from semhash_lib.profiles import load_profile


def test_the_gpu_profile_is_refused_without_cuda_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rc = main(["reproduce", "--profile", "gpu", "--results-dir", str(tmp_path / "r"), "--figures-dir",
               str(tmp_path / "f"), "--output-dir", str(tmp_path / "n")])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1
    assert "CUDA" in err and "'gpu'" in err
    assert not any(tmp_path.iterdir()), "nothing may be written before the refusal"


def test_the_gpu_profile_fits_its_budget_on_paper():
    """The profile's own arithmetic: 10 runs of 32 bits, the paper's method, its ablations, >= 4 baselines."""
    prof = load_profile("gpu")
    nb = prof["notebooks"]["03_train_hashing"]
    ablations = {"semhash", "semhash_no_kl", "semhash_quant", "semhash_sampled_kl"}
    baselines = {"dsh", "dpsh", "hashnet", "csq", "greedyhash"}
    assert ablations <= set(nb["methods"]) and len(baselines & set(nb["methods"])) >= 4
    assert nb["bits"] == [32] and nb["config"]["device"] == "cuda" and nb["config"]["input"] == "images"
    assert prof["device"] == "cuda"


@pytest.mark.slow
def test_the_gpu_profile_grid_runs_shrunk_on_cpu(tmp_path, cifar100_binary):
    """Every method of the profile trains (its backbone, optimiser and schedule, from pixels) and is evaluated
    on CPU when shrunk to 128 images and one epoch: the code path the GPU runs."""
    from semhash_lib import experiment
    from semhash_lib.train import TrainConfig

    nb = load_profile("gpu")["notebooks"]["03_train_hashing"]
    cfg = TrainConfig.from_dict(nb["config"], device="cpu", amp=False, train_subset=128, test_subset=100,
                                epochs=1, batch_size=64, warmup_epochs=0, out_dir=str(tmp_path / "runs"))
    data = experiment.prepare_data(cfg, progress=False)
    table = experiment.run_grid(nb["methods"], nb["bits"], nb["seeds"], cfg, data, protocols=nb["protocols"],
                                eval_queries=50, progress=False)
    assert set(table["method"]) == set(nb["methods"])
    assert table["mahp@250"].between(0, 1).all() and table["map@1000"].notna().all()
    assert (tmp_path / "runs" / "semhash-32b-s0" / "checkpoint.pt").is_file()
