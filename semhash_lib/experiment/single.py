"""One training run from a configuration file, as ``semhash train`` runs it (one process or under torchrun).

:func:`load_run_config` reads a :class:`semhash_lib.train.TrainConfig` YAML with ``KEY VALUE`` overrides and
checks everything that can be checked before any work (keys, values, the torchrun world size against the
batch size, CUDA when the config asks for it). :func:`train_and_evaluate` prepares the data (rank 0 first,
so a feature cache is built once), trains (:func:`semhash_lib.train.train`: data-parallel under torchrun,
see :mod:`semhash_lib.train.distributed`) and, on rank 0, evaluates the retrieval protocols and writes
``metrics.csv`` into the run folder beside ``checkpoint.pt``, ``history.csv``/``history.json`` and
``config.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ..io import atomic_write
from ..train import TrainConfig, train
from ..train.distributed import check_batch_split, environment_world_size, setup
from .data import prepare_data
from .grid import config_key, evaluate_run

__all__ = ["load_run_config", "parse_override", "train_and_evaluate", "RunConfigError", "METRICS_NAME"]

METRICS_NAME = "metrics.csv"


class RunConfigError(ValueError):
    """A configuration file or override that cannot be run; the message names the key or value."""


def parse_override(key: str, value: str) -> dict:
    """``("lr", "3e-4")`` -> ``{"lr": 0.0003}``; a dotted key sets a nested option:
    ``("loss.kl", "0.2")`` -> ``{"loss": {"kl": 0.2}}``. Values are YAML (``[1, 2]``, ``true``, ``null``)."""
    import yaml

    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as e:
        raise RunConfigError(f"-s {key} {value!r}: the value is not YAML ({getattr(e, 'problem', None) or e})") from None
    out: dict = {}
    node = out
    parts = key.split(".")
    if not all(parts):
        raise RunConfigError(f"-s {key!r}: empty part in a dotted key")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = parsed
    return out


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_run_config(path: str | os.PathLike, overrides: Sequence[tuple[str, str]] = (),
                    out_dir: str | os.PathLike | None = None) -> TrainConfig:
    """The :class:`TrainConfig` of ``path`` (a YAML mapping of its fields) with ``-s KEY VALUE`` overrides and
    ``out_dir``; checked completely before any work. Raises :class:`RunConfigError` with one line naming what
    is wrong (a missing file, an unknown key with the valid ones, a bad value, a torchrun world size that
    does not divide the batch size, ``device: cuda`` without CUDA)."""
    import yaml

    from ..devices import resolve_device

    path = Path(path)
    if not path.is_file():
        raise RunConfigError(f"config file {path} does not exist")
    try:
        d = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise RunConfigError(f"{path}: not valid YAML ({getattr(e, 'problem', None) or e})") from None
    if not isinstance(d, dict):
        raise RunConfigError(f"{path}: a config must be a YAML mapping of TrainConfig keys, got {type(d).__name__}")
    for key, value in overrides:
        d = _merge(d, parse_override(key, value))
    if out_dir is not None:
        d["out_dir"] = str(out_dir)
    try:
        config = TrainConfig.from_dict(d)
        config.effective()
        check_batch_split(config.batch_size, environment_world_size())
        resolve_device(config.device)
    except (TypeError, ValueError) as e:
        raise RunConfigError(f"{path}: {' '.join(str(e).split())}") from None
    return config


def train_and_evaluate(config: TrainConfig, protocols: Sequence[str] | None = ("train_db", "test_vs_test"),
                       eval_queries: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Train ``config`` (resuming its run folder) and, on rank 0, evaluate ``protocols`` (``None``: none).

    Returns ``{"out_dir", "history", "metrics" (rows, rank 0), "rank", "world_size"}``. The data is prepared
    by rank 0 before the other ranks, so a frozen-feature cache is computed once."""
    from ..devices import resolve_device

    ddp = setup(resolve_device(config.device))
    if not ddp.is_main:
        ddp.barrier()
    data = prepare_data(config.effective(), progress=progress and ddp.is_main)
    if ddp.is_main:
        ddp.barrier()
    result = train(config, data, progress=progress)
    out_dir = result.out_dir
    rows: list[dict] = []
    if ddp.is_main and protocols:
        if data.y_train is None:
            protocols = [p for p in protocols if p in ("train_db", "test_vs_test")]
        rows = evaluate_run(result.model, data, result.config, [(p, result.config.similarity) for p in protocols],
                            eval_queries=eval_queries)
        for row in rows:
            row.update(config_key=config_key(result.config), method=result.config.method,
                       bits=result.config.bits, seed=result.config.seed, train_seconds=result.train_seconds,
                       images_per_s=result.images_per_s, epochs=result.config.epochs, world_size=ddp.world_size)
        with atomic_write(out_dir / METRICS_NAME, "w") as f:
            pd.DataFrame(rows).to_csv(f, index=False)
    ddp.barrier()
    return {"out_dir": out_dir, "history": result.history,
            "metrics": rows, "rank": ddp.rank, "world_size": ddp.world_size}
