"""Run folders and what is loaded from them: the trained model and the pre-sign outputs of one run.

:func:`semhash_lib.experiment.run_grid` writes the run (method, bits, seed) of a grid whose base
configuration has ``out_dir = D`` to ``D/<method>-<bits>b-s<seed>`` (:func:`run_folder`). The notebooks
that draw figures from a grid's models (code histograms, hP@k curves, retrieval examples) find the same
runs here: :func:`trained_model` and :func:`trained_codes` call :func:`semhash_lib.train.train` with the
configuration ``run_grid`` uses, so a finished run is loaded from its checkpoint (nothing is retrained)
and a missing one is trained exactly as the grid would train it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .train import TrainConfig, encode, train

__all__ = ["run_name", "run_folder", "run_config", "trained_model", "trained_codes", "SPLITS"]

#: the splits of an ``ExperimentData`` that :func:`trained_codes` can encode
SPLITS = ("test", "train")


def run_name(method: str, bits: int, seed: int) -> str:
    """``"<method>-<bits>b-s<seed>"``, the name of a run's folder inside its grid's folder."""
    return f"{method}-{int(bits)}b-s{int(seed)}"


def run_folder(out_dir: str | os.PathLike, method: str, bits: int, seed: int) -> Path:
    """``<out_dir>/<method>-<bits>b-s<seed>``: where :func:`~semhash_lib.experiment.run_grid` with a base
    configuration of ``out_dir`` writes that run (checkpoint, ``config.json``, history)."""
    return Path(out_dir) / run_name(method, bits, seed)


def run_config(config: TrainConfig, method: str, bits: int, seed: int,
               out_dir: str | os.PathLike | None = None) -> TrainConfig:
    """``config`` for one run, as :func:`~semhash_lib.experiment.run_grid` makes it: ``method``, ``bits`` and
    ``seed`` set, and ``out_dir`` the run's :func:`run_folder` inside ``out_dir`` (default:
    ``config.out_dir``; when both are empty the trainer's default run folder is kept)."""
    folder = out_dir if out_dir is not None else config.out_dir
    changes: dict = dict(method=method, bits=int(bits), seed=int(seed))
    if folder:
        changes["out_dir"] = str(run_folder(folder, method, bits, seed))
    return config.replace(**changes)


def trained_model(config: TrainConfig, data, method: str, bits: int, seed: int,
                  out_dir: str | os.PathLike | None = None, progress: bool = True) -> torch.nn.Module:
    """The model of one run (:func:`run_config`): loaded from its checkpoint when the run is finished,
    otherwise trained (or resumed) with :func:`semhash_lib.train.train` on ``data``."""
    return train(run_config(config, method, bits, seed, out_dir), data, progress=progress).model


def trained_codes(config: TrainConfig, data, methods: Sequence[str], bits: int, seed: int,
                  out_dir: str | os.PathLike | None = None, splits: Sequence[str] = ("test",),
                  progress: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """``{method: {split: h}}``: the pre-sign outputs ``h`` (float32 numpy, (N, bits)) of ``data``'s ``splits``
    (``"test"``: ``data.x_test``, ``"train"``: ``data.x_train``) for one code length and seed, per method,
    from :func:`trained_model` (the hash code is ``sign(h)``, ``docs/paper.md`` §4.5). Methods are trained
    (or loaded) in the order given, each split encoded with :func:`semhash_lib.train.encode`."""
    unknown = [s for s in splits if s not in SPLITS]
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; choose from {list(SPLITS)}")
    out: dict[str, dict[str, np.ndarray]] = {}
    for method in methods:
        model = trained_model(config, data, method, bits, seed, out_dir, progress=progress)
        out[method] = {s: encode(model, data.x_test if s == "test" else data.x_train)[0] for s in splits}
    return out
