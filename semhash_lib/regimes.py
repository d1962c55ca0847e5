"""When does the KL term help? Training regimes in which rounding h to sign(h) can lose information.

With a tanh bottleneck and a classification head (the paper's setting as reconstructed, regime
``tanh_ce``) the outputs are already pushed to +-1 by the CE term, so any binarisation term has little to
do. Two further regimes give the KL claim room to show itself, or to fail honestly:

- ``linear_ce``: a linear bottleneck (``activation="none"``) with the CE head; h is unbounded, and the
  similarity loss compares codes by cosine distance (``code_distance="cosine"``, since the relaxed
  Hamming distance assumes |h| <= 1);
- ``no_classifier``: no classifier head and no CE (similarity + binarisation term only), tanh bottleneck.

Each regime is crossed with the binarisation terms (methods): none (``semhash_no_kl``), the quantization
penalty (``semhash_quant``) and the KL variants (``semhash`` = nearest-corner KL, the default;
``semhash_sampled_kl``; optionally ``semhash_grouped_kl``). :func:`run_kl_regimes` trains and evaluates
them with :func:`semhash_lib.experiment.run_grid` (one CSV row per run, resumable) and
:func:`regime_codes` returns the pre-sign outputs for the histograms.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import pandas as pd

from .experiment import ExperimentData, run_grid
from .train import TrainConfig, encode, train

__all__ = ["REGIMES", "REGIME_METHODS", "regime_config", "run_kl_regimes", "regime_codes", "REGIME_COLUMNS"]

REGIMES: dict[str, dict] = {
    "tanh_ce": {},
    "linear_ce": {"activation": "none", "loss": {"sim_kwargs": {"code_distance": "cosine"}}},
    "no_classifier": {"classifier": False, "loss": {"ce": 0.0}},
}
REGIME_METHODS = ("semhash_no_kl", "semhash_quant", "semhash", "semhash_sampled_kl")
REGIME_COLUMNS = ("regime", "method", "bits", "seed", "quant_error", "near_zero", "drop_mahp@250", "mahp@250",
                  "map@1000")


def regime_config(base: TrainConfig, regime: str) -> TrainConfig:
    """``base`` with the regime's bottleneck / classifier / loss changes (loss options merged over base's)."""
    from .methods import merge_loss_options

    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; choose from {list(REGIMES)}")
    changes = dict(REGIMES[regime])
    loss = merge_loss_options(base.loss, changes.pop("loss", {}))
    return base.replace(**changes, loss=loss)


def run_kl_regimes(base: TrainConfig, data: ExperimentData, regimes: Sequence[str] = tuple(REGIMES),
                   methods: Sequence[str] = REGIME_METHODS, bits: Sequence[int] = (16, 64),
                   seeds: Sequence[int] = (0, 1, 2), runs_dir: str | os.PathLike = "data/runs/regimes",
                   results_path: str | os.PathLike | None = None, eval_queries: int | None = None,
                   progress: bool = True) -> pd.DataFrame:
    """Every regime x method x code length x seed, trained and evaluated on the ``train_db`` protocol
    (queries = test, database = train). Returns the rows (all :func:`semhash_lib.experiment.evaluate`
    columns plus ``regime``); with ``results_path`` they are appended to that CSV as runs finish and a
    re-run resumes."""
    frames = []
    for regime in regimes:
        cfg = regime_config(base, regime).replace(out_dir=str(Path(runs_dir) / regime))
        frames.append(run_grid(list(methods), list(bits), list(seeds), cfg, data, protocols=("train_db",),
                               results_path=results_path, eval_queries=eval_queries, progress=progress,
                               extra={"regime": regime}))
    table = pd.concat(frames, ignore_index=True)
    return table[list(REGIME_COLUMNS) + [c for c in table.columns if c not in REGIME_COLUMNS]]


def regime_codes(base: TrainConfig, data: ExperimentData, regimes: Sequence[str] = tuple(REGIMES),
                 methods: Sequence[str] = REGIME_METHODS, bits: int = 64, seed: int = 0,
                 runs_dir: str | os.PathLike = "data/runs/regimes") -> dict[str, dict[str, "object"]]:
    """``{regime: {method: h_test}}``: the pre-sign outputs of the test split for one code length and seed,
    from the run folders :func:`run_kl_regimes` wrote (trained there if missing)."""
    out: dict[str, dict] = {}
    for regime in regimes:
        cfg = regime_config(base, regime)
        out[regime] = {}
        for m in methods:
            run = cfg.replace(method=m, bits=int(bits), seed=int(seed),
                              out_dir=str(Path(runs_dir) / regime / f"{m}-{int(bits)}b-s{int(seed)}"))
            out[regime][m] = encode(train(run, data, progress=False).model, data.x_test)[0]
    return out
