"""Data-parallel training: N torchrun processes (gloo, CPU) end with the weights of one process.

The independent truth is the one-process run of the same config: the same global batches, the batch-level
loss terms over the whole batch, BatchNorm over the whole batch. The runs are launched exactly as a user
would: ``semhash train --config F --out D`` and ``torchrun --standalone --nproc_per_node 2 --no-python
semhash train --config F --out D``.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from semhash_lib.experiment.single import RunConfigError, load_run_config, parse_override

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent

CONFIG = dict(dataset="cifar100", input="images", backbone="small_cnn", backbone_kwargs={"width": 8},
              train_subset=256, test_subset=100, method="semhash", bits=16, epochs=2, batch_size=64,
              optimizer="adam", lr=1e-3, device="cpu", augment=True)


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["OMP_NUM_THREADS"] = "1"
    return env


def _semhash_train(cfg: Path, out: Path, nproc: int = 1, *extra: str) -> subprocess.CompletedProcess:
    args = ["semhash", "train", "--config", str(cfg), "--out", str(out), "--no-progress", *extra]
    if nproc > 1:
        args = [str(BIN / "torchrun"), "--standalone", "--nproc_per_node", str(nproc), "--no-python", *args]
    else:
        args[0] = str(BIN / "semhash")
    return subprocess.run(args, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)


def _weights(run: Path) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    fa = torch.cat([a[k].double().flatten() for k in a if a[k].is_floating_point()])
    fb = torch.cat([b[k].double().flatten() for k in a if b[k].is_floating_point()])
    rel = float((fa - fb).norm() / fa.norm())
    assert rel < 1e-4, f"weights differ by {rel:.2e} relative"
    for k in a:
        if a[k].is_floating_point():
            torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-5, msg=lambda m: f"{k}: {m}")
        else:
            assert torch.equal(a[k], b[k]), k


@pytest.fixture(scope="module")
def config_file(tmp_path_factory, cifar100_binary) -> Path:
    path = tmp_path_factory.mktemp("ddp") / "config.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


@pytest.fixture(scope="module")
def one_process_run(config_file) -> Path:
    out = config_file.parent / "one"
    res = _semhash_train(config_file, out)
    assert res.returncode == 0, res.stderr[-3000:]
    return out


@pytest.mark.slow
def test_two_torchrun_processes_end_with_the_weights_of_one(config_file, one_process_run):
    out = config_file.parent / "two"
    res = _semhash_train(config_file, out, 2)
    assert res.returncode == 0, res.stderr[-3000:]
    _assert_same_weights(_weights(one_process_run), _weights(out))
    one, two = (yaml.safe_load((d / "history.json").read_text()) for d in (one_process_run, out))
    assert len(one) == len(two) == 2
    for r1, r2 in zip(one, two):       # the logged loss terms are those of the same global batches
        for k in ("loss", "ce", "sim", "kl", "near_zero"):
            assert r2[k] == pytest.approx(r1[k], rel=1e-4, abs=1e-6), k
    assert (out / "metrics.csv").is_file() and (out / "config.json").is_file()
    assert res.stdout.count("[semhash]") == 1, "only rank 0 reports"


@pytest.mark.slow
def test_a_one_process_checkpoint_resumes_under_torchrun(config_file, one_process_run, tmp_path):
    """Interrupted after epoch 1 in one process, resumed by 2 torchrun processes: the weights of the
    uninterrupted one-process run (a checkpoint from another world size is resumable)."""
    from semhash_lib.experiment import prepare_data
    from semhash_lib.train import TrainConfig, train

    out = tmp_path / "resumed"
    cfg = TrainConfig.from_dict(CONFIG, out_dir=str(out))

    class Stop(Exception):
        pass

    def stop_after_first(epoch, row):
        if epoch == 0:
            raise Stop

    with pytest.raises(Stop):
        train(cfg, prepare_data, progress=False, on_epoch_end=stop_after_first)
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 1
    res = _semhash_train(_written(tmp_path, CONFIG), out, 2, "--protocols")
    assert res.returncode == 0, res.stderr[-3000:]
    _assert_same_weights(_weights(one_process_run), _weights(out))


def _written(folder: Path, config: dict) -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bn_worker(rank: int, world: int, port: int, x: torch.Tensor, queue) -> None:
    import torch.distributed as dist
    from torch import nn

    from semhash_lib.train.distributed import sync_batch_norm

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    torch.manual_seed(0)
    bn = sync_batch_norm(nn.Sequential(nn.BatchNorm2d(x.shape[1])), torch.device("cpu"))
    with torch.no_grad():
        bn[0].weight.uniform_(0.5, 1.5)
        bn[0].bias.uniform_(-0.5, 0.5)
    local = x.chunk(world)[rank].clone().requires_grad_(True)
    y = bn(local)
    (y * torch.arange(y.numel()).view_as(y).float().sin()).sum().backward()   # grads of the local rows
    queue.put((rank, *(t.detach().numpy().copy() for t in (y, local.grad, bn[0].weight.grad,
                                                           bn[0].running_mean, bn[0].running_var))))
    dist.destroy_process_group()


@pytest.mark.slow
def test_global_batch_norm_over_two_ranks_is_batch_norm_of_the_whole_batch():
    """CPU BatchNorm over 2 gloo ranks: outputs, input gradients, summed weight gradients and running
    statistics equal ``torch.nn.BatchNorm2d`` on the concatenated batch."""
    import torch.multiprocessing as mp
    from torch import nn

    torch.manual_seed(1)
    x = torch.randn(8, 3, 5, 5) * 2 + 1
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_bn_worker, args=(r, 2, port, x, queue)) for r in range(2)]
    for p in procs:
        p.start()
    got = sorted((queue.get(timeout=120) for _ in procs), key=lambda g: g[0])
    got = [[g[0], *map(torch.from_numpy, g[1:])] for g in got]
    for p in procs:
        p.join(60)
    torch.manual_seed(0)
    ref = nn.BatchNorm2d(3)
    with torch.no_grad():
        ref.weight.uniform_(0.5, 1.5)
        ref.bias.uniform_(-0.5, 0.5)
    xr = x.clone().requires_grad_(True)
    y = ref(xr)
    w = torch.cat([torch.arange(y[:4].numel()).view_as(y[:4]).float().sin()] * 2)
    (y * w).sum().backward()
    torch.testing.assert_close(torch.cat([g[1] for g in got]), y.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(torch.cat([g[2] for g in got]), xr.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(got[0][3] + got[1][3], ref.weight.grad, rtol=1e-4, atol=1e-5)
    for g in got:
        torch.testing.assert_close(g[4], ref.running_mean)
        torch.testing.assert_close(g[5], ref.running_var)


def test_a_world_size_that_does_not_divide_the_batch_is_refused_before_any_work(tmp_path, monkeypatch):
    cfg = _written(tmp_path, CONFIG)
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(RunConfigError, match=r"batch_size 64 is not divisible by the 3 torchrun processes"):
        load_run_config(cfg)
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert load_run_config(cfg).batch_size == 64


def test_overrides_and_bad_keys_are_named(tmp_path):
    cfg = _written(tmp_path, CONFIG)
    c = load_run_config(cfg, [("lr", "3e-4"), ("loss.kl", "0.2"), ("bits", "32")], out_dir=tmp_path / "run")
    assert (c.lr, c.loss, c.bits, c.out_dir) == (3e-4, {"kl": 0.2}, 32, str(tmp_path / "run"))
    assert parse_override("loss.kl_kwargs.k", "3") == {"loss": {"kl_kwargs": {"k": 3}}}
    with pytest.raises(RunConfigError, match="bitz"):
        load_run_config(cfg, [("bitz", "32")])
    with pytest.raises(RunConfigError, match="bits must be positive"):
        load_run_config(cfg, [("bits", "-1")])
    with pytest.raises(RunConfigError, match="does not exist"):
        load_run_config(tmp_path / "nope.yaml")


def test_semhash_train_refuses_a_bad_key_in_one_line_and_exits_2(tmp_path, capsys):
    from semhash_lib.cli import main

    cfg = _written(tmp_path, CONFIG)
    assert main(["train", "--config", str(cfg), "-s", "methd", "dsh"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "methd" in err and "valid keys" in err
    assert not (tmp_path / "run").exists()
