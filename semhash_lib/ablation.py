"""A controlled ablation of the binarisation term: does the paper's empirical KL term help?

One base configuration is shared by every arm: the same similarity loss (form, exponent, temperatures,
weight), lr, weight decay, batch size, number of optimiser steps and training images; it is the one tuned
on the arm *without* a term (``semhash tune``'s ``semhash_no_kl`` entry). The arms differ only in the
binarisation term added to it (:data:`ARMS`):

- ``none``: no term (the base itself);
- ``quant``: the quantization penalty mean (|h| - 1)^2 (:func:`semhash_lib.losses.quantization_penalty`);
- ``kl_nearest_corner``, ``kl_mixture``, ``kl_sampled``: the empirical KL term with the target side of
  :func:`semhash_lib.losses.binary_kl_loss` (``nu``);
- ``spread``: the rho_k entropy term of the KL estimators alone (``nu="spread"``), a control that spreads
  the codes without pulling them to the corners.

Protocol (``docs/reconstruction.md``, "The KL ablation"):

1. **Selection on validation, per regime and code length.** The training subset is cut into ``fit`` and a
   class-stratified ``val`` split (:func:`semhash_lib.experiment.validation_data`); each arm trains on
   ``fit`` (seed 0) at every point of its grid (:func:`arm_grid`: the same number of points for every arm
   with a term; ``none`` has nothing to choose) and the point with the best validation mAHP@250 (val
   queries against the fit codes) is kept. The test split is not read.
2. **Final runs.** Each arm at its selected point trains with every seed on the same ``fit`` images for the
   same number of steps (the seed-0 model is the selection run itself) and is evaluated on the test split:
   test queries against the ``fit`` database (``train_db``) and test against test (``test_vs_test``).
3. **Paired comparison** (:func:`compare_arms`): per seed the difference of an arm to ``none`` and to
   ``quant`` (same seed: same initialisation and batch order), the mean difference with a 95 % Student-t
   interval over seeds, and the verdict "better" / "worse" when the interval excludes 0, else
   "no detectable difference".

Regimes are those of :mod:`semhash_lib.regimes` (``no_classifier``: similarity + term only, the primary
one; ``tanh_ce``; ``linear_ce``). Every table is appended to a CSV as runs finish, so an interrupted
ablation resumes.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .experiment import ExperimentData, config_key, run_grid, validation_data
from .experiment.grid import RESULT_KEYS, _append_rows, _read_results
from .experiment.workers import check_workers, run_in_processes
from .regimes import REGIMES, regime_config
from .train import TrainConfig, train

__all__ = ["ARMS", "arm_grid", "arm_loss", "base_config", "k_past_own_class", "resolve_grid", "ablation_splits",
           "ablation_cells", "select_arms", "selected_points", "selected_outputs", "validation_ranking",
           "run_ablation", "compare_arms", "paired_interval", "SELECTION_COLUMNS", "SUMMARY_METRICS"]

#: arm -> (the loss options of its term, with ``None`` where the grid fills in a value)
ARMS: dict[str, dict] = {
    "none": {},
    "quant": {"quant": None},
    "kl_nearest_corner": {"kl": None, "kl_kwargs": {"nu": "nearest_corner", "k": None}},
    "kl_mixture": {"kl": None, "kl_kwargs": {"nu": "mixture", "sigma": None}},
    "kl_sampled": {"kl": None, "kl_kwargs": {"nu": "sampled", "k": None}},
    "spread": {"kl": None, "kl_kwargs": {"nu": "spread", "k": None}},
}
SELECTION_COLUMNS = ("regime", "bits", "arm", "weight", "k", "sigma", "val_mahp@250", "val_map@1000",
                     "quant_error", "train_seconds", "config_key")
SUMMARY_METRICS = ("mahp@250", "map@1000", "drop_mahp@250", "quant_error", "bit_balance", "bit_corr")


def arm_grid(arm: str, weights: Sequence[float], k_values: Sequence[int], sigmas: Sequence[float]) -> list[dict]:
    """The selection points of ``arm``: ``{"weight", "k", "sigma"}`` dicts (``None`` where the arm has no such
    option). ``quant`` has one option (its weight), so it gets ``weights`` x ``len(k_values)`` weights
    between the smallest and largest weight (log-spaced), the same number of points as the KL arms
    (``weights`` x ``k_values``, or x ``sigmas`` for ``kl_mixture`` at the largest k); ``none``: one point."""
    if arm not in ARMS:
        raise ValueError(f"unknown ablation arm {arm!r}; choose from {list(ARMS)}")
    if arm == "none":
        return [{"weight": None, "k": None, "sigma": None}]
    weights, k_values, sigmas = list(weights), [int(k) for k in k_values], list(sigmas)
    if not weights or not k_values or not sigmas:
        raise ValueError("weights, k_values and sigmas must each be non-empty")
    n_points = len(weights) * len(k_values)
    if arm == "quant":
        lo, hi = math.log(min(weights)), math.log(max(weights))
        grid = [math.exp(lo + (hi - lo) * i / max(n_points - 1, 1)) for i in range(n_points)]
        return [{"weight": w, "k": None, "sigma": None} for w in dict.fromkeys(float(f"{w:.4g}") for w in grid)]
    if arm == "kl_mixture":
        if len(sigmas) != len(k_values):
            raise ValueError(f"equal budgets: kl_mixture chooses sigma where the other KL arms choose k, so sigmas "
                             f"and k_values need the same length, got {sigmas} and {k_values}")
        return [{"weight": float(w), "k": max(k_values), "sigma": float(s)} for w in weights for s in sigmas]
    return [{"weight": float(w), "k": k, "sigma": None} for w in weights for k in k_values]


def arm_loss(arm: str, point: dict) -> dict:
    """The loss options of ``arm`` at a grid ``point``: the term's weight (``kl`` or ``quant``; the other 0)
    and its ``kl_kwargs``. ``none``: kl = quant = 0."""
    if arm not in ARMS:
        raise ValueError(f"unknown ablation arm {arm!r}; choose from {list(ARMS)}")
    spec = ARMS[arm]
    loss: dict = {"kl": 0.0, "quant": 0.0}
    if "quant" in spec:
        loss["quant"] = float(point["weight"])
    if "kl" in spec:
        loss["kl"] = float(point["weight"])
        kw = dict(spec["kl_kwargs"])
        for key in ("k", "sigma"):
            if key in kw:
                kw[key] = int(point["k"]) if key == "k" else float(point["sigma"])
        loss["kl_kwargs"] = kw
    return loss


def base_config(train: TrainConfig, tuned_no_term: dict | None) -> TrainConfig:
    """The shared base: ``train`` (method ``semhash``, ``tuned`` emptied) with the parameters tuned on the arm
    without a term (``tuned_no_term``: ``semhash tune``'s ``semhash_no_kl`` entry, ``{"lr": ..,
    "loss.sim": .., "loss.sim_kwargs.form": ..}``) and no binarisation term (kl = quant = 0)."""
    from .methods import apply_params, merge_loss_options

    changes = apply_params(dict(tuned_no_term or {}))
    loss = merge_loss_options(changes.pop("loss", {}), {"kl": 0.0, "quant": 0.0})
    return train.replace(method="semhash", tuned={}, **changes, loss=loss)


def k_past_own_class(labels, batch_size: int, coverage: float = 0.9, n_batches: int = 200, seed: int = 0) -> int:
    """The smallest k such that, in random batches of ``batch_size`` drawn without replacement from
    ``labels``, a share >= ``coverage`` of the codes has fewer than k class-mates in its batch: then the
    k-th nearest other code lies outside its class even when the class's codes coincide, so the rho_k
    spread term stops repelling codes that the similarity loss wants identical. Measured on the labels,
    not assumed (at batch 256 and 100 balanced classes the class-mates of a code are close to
    Binomial(255, 1/100))."""
    y = np.asarray(labels)
    if not 0 < coverage <= 1 or batch_size < 2 or batch_size > len(y):
        raise ValueError(f"need 0 < coverage <= 1 and 2 <= batch_size <= {len(y)}, got {coverage}, {batch_size}")
    rng = np.random.default_rng(seed)
    mates = []
    for _ in range(n_batches):
        b = y[rng.choice(len(y), batch_size, replace=False)]
        _, inverse, counts = np.unique(b, return_inverse=True, return_counts=True)
        mates.append(counts[inverse] - 1)
    mates = np.concatenate(mates)
    return int(np.quantile(mates, coverage, method="inverted_cdf")) + 1


def resolve_grid(grid: dict, labels, batch_size: int) -> dict:
    """``grid`` with ``k_values: "auto"`` replaced by [1, :func:`k_past_own_class`] (the paper's k = 1 and the
    measured k that reaches past a code's class-mates); other grids are returned as they are."""
    grid = dict(grid)
    if grid.get("k_values") == "auto":
        grid["k_values"] = sorted({1, k_past_own_class(labels, batch_size)})
        if len(grid["k_values"]) == 1:
            grid["k_values"] = [1, 2]
    return grid


def ablation_splits(data: ExperimentData, n_val: int, seed: int = 0) -> tuple[ExperimentData, ExperimentData]:
    """``(val_data, test_data)``: both train on the same ``fit`` part of ``data``'s training split; the first
    has the ``val`` part as its queries (selection), the second ``data``'s test split (final runs)."""
    vdata = validation_data(data, n_val, seed)
    tdata = dataclasses.replace(vdata, x_test=data.x_test, y_test=data.y_test, test_embeddings=data.test_embeddings,
                                images_test=data.images_test, test_index=data.test_index,
                                meta={**vdata.meta, "n_test": len(data.x_test)})
    return vdata, tdata


def _arm_config(base: TrainConfig, regime: str, bits: int, arm: str, point: dict, runs_dir: Path) -> TrainConfig:
    from .methods import merge_loss_options

    cfg = regime_config(base, regime)
    cfg = cfg.replace(bits=int(bits), seed=0, loss=merge_loss_options(cfg.loss, arm_loss(arm, point)), out_dir=None)
    return cfg.replace(out_dir=str(runs_dir / regime / f"{arm}-{config_key(cfg)[:12]}"))


def ablation_cells(regimes: Sequence[str], bits: Sequence[int], regime_bits: dict | None = None
                   ) -> list[tuple[str, int]]:
    """The (regime, code length) cells of a study: every regime at ``bits``, or at ``regime_bits[regime]``."""
    for r in regimes:
        if r not in REGIMES:
            raise ValueError(f"unknown regime {r!r}; choose from {list(REGIMES)}")
    return [(r, int(b)) for r in regimes for b in (regime_bits or {}).get(r, bits)]


def select_arms(base: TrainConfig, vdata: ExperimentData, cells: Sequence[tuple[str, int]],
                arms: Sequence[str], grid: dict, runs_dir: str | os.PathLike,
                selection_path: str | os.PathLike | None = None, progress: bool = True) -> pd.DataFrame:
    """Every (regime, bits) cell x arm x grid point trained on ``vdata``'s fit split with seed 0 and scored on its
    val queries (:func:`semhash_lib.tuning.validation_scores`); one row each (:data:`SELECTION_COLUMNS`),
    appended to ``selection_path`` as it finishes (rows already there are not recomputed). ``grid``:
    ``{"weights": [...], "k_values": [...], "sigmas": [...]}`` (:func:`arm_grid`)."""
    return _select(base, vdata, _selection_runs(cells, arms, grid), runs_dir, selection_path, progress)


def _selection_runs(cells: Sequence[tuple[str, int]], arms: Sequence[str], grid: dict) -> list[tuple]:
    """The ``(regime, bits, arm, grid point)`` selection runs of a study, in :func:`select_arms`' order."""
    return [(r, b, a, p) for r, b in cells for a in arms for p in arm_grid(a, **grid)]


def _select(base: TrainConfig, vdata: ExperimentData, todo: Sequence[tuple], runs_dir: str | os.PathLike,
            selection_path: str | os.PathLike | None, progress: bool) -> pd.DataFrame:
    """:func:`select_arms` of the ``(regime, bits, arm, point)`` runs ``todo`` (with the rows already in
    ``selection_path``)."""
    from tqdm.auto import tqdm

    from .codes import code_statistics
    from .train import NonFiniteLossError, encode
    from .tuning import validation_scores

    path = Path(selection_path) if selection_path is not None else None
    done = _read_results(path)
    done_keys = set(done["config_key"]) if len(done) else set()
    rows = done.to_dict("records") if len(done) else []
    for regime, b, arm, point in tqdm(todo, desc="select (validation)", disable=not progress):
        cfg = _arm_config(base, regime, b, arm, point, Path(runs_dir))
        key = config_key(cfg)
        if key in done_keys:
            continue
        try:
            result = train(cfg.replace(out_dir=str(Path(cfg.out_dir) / f"{cfg.method}-{int(b)}b-s0")), vdata,
                           progress=False)
        except NonFiniteLossError as e:     # these settings diverge: a selection row that cannot win
            row = {"regime": regime, "bits": int(b), "arm": arm, **point, "val_mahp@250": float("nan"),
                   "val_map@1000": float("nan"), "quant_error": float("nan"), "train_seconds": float("nan"),
                   "config_key": key, "failure": str(e).splitlines()[0]}
        else:
            scores = validation_scores(result.model, vdata)
            q = float(code_statistics(encode(result.model, vdata.x_test)[0])["quantization_mse"])
            row = {"regime": regime, "bits": int(b), "arm": arm, **point, **scores, "quant_error": q,
                   "train_seconds": result.train_seconds, "config_key": key}
        if path is not None:
            _append_rows(path, [row])
        rows.append(row)
        done_keys.add(key)
    table = pd.DataFrame(rows)
    return table[list(SELECTION_COLUMNS) + [c for c in table.columns if c not in SELECTION_COLUMNS]]


def _point(row: dict) -> dict:
    """The grid point of a selection row (``None`` where the arm has no such option; NaN when read back)."""
    return {k: (None if pd.isna(row[k]) else row[k]) for k in ("weight", "k", "sigma")}


def selected_points(selection: pd.DataFrame) -> pd.DataFrame:
    """Per (regime, bits, arm) the selection row with the highest validation mAHP@250 (first on ties; rows
    of diverged runs, NaN, never win)."""
    ok = selection[selection["val_mahp@250"].notna()]
    missing = set(zip(selection["regime"], selection["bits"], selection["arm"])) - set(zip(ok["regime"], ok["bits"],
                                                                                          ok["arm"]))
    if missing:
        raise ValueError(f"every selection run of {sorted(missing)} diverged; widen the grid toward smaller weights")
    selection = ok
    idx = selection.groupby(["regime", "bits", "arm"], sort=False)["val_mahp@250"].idxmax()
    return selection.loc[idx].reset_index(drop=True)


def validation_ranking(selection: pd.DataFrame, arms: Sequence[str] | None = None) -> pd.DataFrame:
    """How ``arms`` (default: every arm in ``selection``) rank on the **validation** split: per arm the mean
    over (regime, bits) cells of its selected validation mAHP@250, the number of cells it wins among
    ``arms``, and its mean rank (1 = best). This is how the library's default KL variant is chosen; the test
    split plays no part."""
    chosen = selected_points(selection)
    if arms is not None:
        chosen = chosen[chosen["arm"].isin(list(arms))]
    wide = chosen.pivot_table(index=["regime", "bits"], columns="arm", values="val_mahp@250").dropna()
    ranks = wide.rank(axis=1, ascending=False, method="min")
    out = pd.DataFrame({"mean_val_mahp@250": wide.mean(), "cells_won": (ranks == 1).sum(),
                        "mean_rank": ranks.mean(), "n_cells": len(wide)})
    return out.sort_values(["mean_rank", "mean_val_mahp@250"], ascending=[True, False]).rename_axis("arm").reset_index()


def run_ablation(base: TrainConfig, data: ExperimentData, regimes: Sequence[str] = ("no_classifier",),
                 bits: Sequence[int] = (16, 64), arms: Sequence[str] = tuple(ARMS), seeds: Sequence[int] = (0, 1, 2),
                 grid: dict | None = None, regime_bits: dict | None = None, n_val: int = 2500,
                 runs_dir: str | os.PathLike = "data/runs/ablation",
                 results_path: str | os.PathLike | None = None, selection_path: str | os.PathLike | None = None,
                 eval_queries: int | None = 2000, progress: bool = True, workers: int | str = 1,
                 protocols: Sequence[str] = ("train_db", "test_vs_test")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The whole ablation (module docstring): ``(selection rows, per-seed test rows)`` of every regime at
    ``bits`` (or at ``regime_bits[regime]``) and arm. ``grid``: see :func:`arm_grid` (``k_values: "auto"``:
    :func:`resolve_grid`). The per-seed rows are
    :func:`semhash_lib.experiment.run_grid` rows (``protocols``, default ``train_db`` and ``test_vs_test``) plus
    ``regime``, ``arm``, ``weight``, ``k``, ``sigma``; appended to ``results_path`` as runs finish.

    ``workers`` > 1: the runs are dealt round-robin to that many single-core processes
    (:func:`semhash_lib.experiment.workers.run_in_processes`: its own copy of the tables each, merged into
    ``selection_path`` and ``results_path`` when all have finished), in two rounds: first every selection run of
    every cell, then -- once the selected points are known -- every (selected point, seed) final run; the
    study is then read back as from a finished one. Dealing runs rather than cells keeps every core busy
    however few cells a study has (one cell: the whole study in one process before). A run's rows are those of
    one process, up to the float rounding of another thread count. Needs both paths."""
    cells = ablation_cells(regimes, bits, regime_bits)
    for a in arms:
        if a not in ARMS:
            raise ValueError(f"unknown ablation arm {a!r}; choose from {list(ARMS)}")
    if 0 not in seeds:
        raise ValueError("seeds must include 0 (the seed of the selection runs)")
    workers = check_workers(workers)
    grid = grid or {"weights": (0.01, 0.1, 1.0), "k_values": (1, 5), "sigmas": (0.25, 0.5)}
    grid = resolve_grid(grid, ablation_splits(data, n_val)[0].y_train.numpy(), base.batch_size)
    study = dict(arms=list(arms), seeds=list(seeds), grid=grid, n_val=n_val, runs_dir=Path(runs_dir),
                 eval_queries=eval_queries, protocols=tuple(protocols))
    if workers > 1:
        if results_path is None or selection_path is None:
            raise ValueError("workers > 1 needs results_path and selection_path (the workers' rows are merged there)")
        _study_in_processes(base, data, cells, workers, Path(results_path), Path(selection_path), progress, **study)
    return _study(base, data, cells, results_path=results_path, selection_path=selection_path, progress=progress,
                  **study)


def _study(base: TrainConfig, data: ExperimentData, cells: Sequence[tuple[str, int]], arms: Sequence[str],
           seeds: Sequence[int], grid: dict, n_val: int, runs_dir: Path, results_path, selection_path,
           eval_queries: int | None, progress: bool, protocols: Sequence[str] = ("train_db", "test_vs_test")
           ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`run_ablation` of ``cells`` in this process (grid already resolved)."""
    from tqdm.auto import tqdm

    vdata, tdata = ablation_splits(data, n_val)
    selection = _of_study(select_arms(base, vdata, cells, arms, grid, runs_dir, selection_path, progress),
                          cells, arms)
    chosen = selected_points(selection)
    frames = [_final_run(base, tdata, row, seeds, runs_dir, results_path, eval_queries, protocols)
              for row in tqdm(chosen.to_dict("records"), desc="final runs (test)", disable=not progress)]
    table = pd.concat(frames, ignore_index=True)
    for c in ("weight", "k", "sigma"):               # None (fresh rows) and NaN (rows read back) alike
        table[c] = pd.to_numeric(table[c].astype(object).where(table[c].notna(), np.nan))
    lead = ["regime", "arm", "bits", "seed", "protocol", *SUMMARY_METRICS, "weight", "k", "sigma"]
    return selection, table[lead + [c for c in table.columns if c not in lead]]


def _of_study(selection: pd.DataFrame, cells: Sequence[tuple[str, int]], arms: Sequence[str]) -> pd.DataFrame:
    """The rows of ``selection`` in the study's (regime, bits) ``cells`` and ``arms`` (a selection table may hold
    other studies' rows too)."""
    in_study = pd.Series(list(zip(selection["regime"], selection["bits"].astype(int)))).isin(cells).to_numpy()
    return selection[in_study & selection["arm"].isin(arms).to_numpy()].reset_index(drop=True)


def _study_in_processes(base: TrainConfig, data: ExperimentData, cells: Sequence[tuple[str, int]], workers: int,
                        results_path: Path, selection_path: Path, progress: bool, arms: Sequence[str],
                        seeds: Sequence[int], grid: dict, n_val: int, runs_dir: Path, eval_queries: int | None,
                        protocols: Sequence[str]) -> None:
    """:func:`run_ablation`'s two rounds of runs dealt to ``workers`` processes (its docstring); the tables are
    complete afterwards, so :func:`_study` only reads them back."""
    todo = _selection_runs(cells, arms, grid)
    keys = {config_key(_arm_config(base, *run, runs_dir)) for run in todo}
    done = _read_results(selection_path)
    left = len(keys - set(done["config_key"] if len(done) else ()))
    run_in_processes(_selection_worker, todo, data, [(selection_path, ["config_key"])], workers, progress=progress,
                     total_rows=left, desc="select (validation)", base=base, runs_dir=runs_dir, n_val=n_val)
    chosen = selected_points(_of_study(_read_results(selection_path), cells, arms)).to_dict("records")
    finals = [(row, int(s)) for s in seeds for row in chosen]
    run_in_processes(_final_worker, finals, data, [(results_path, list(RESULT_KEYS))], workers, progress=progress,
                     total_rows=len(finals) * len(protocols), desc="final runs (test)", base=base, runs_dir=runs_dir,
                     n_val=n_val, eval_queries=eval_queries, protocols=tuple(protocols))


def _selection_worker(todo, data: ExperimentData, selection_path: Path, base: TrainConfig, runs_dir: Path,
                      n_val: int) -> None:
    """A worker process's share of the selection runs (:func:`semhash_lib.experiment.workers.run_in_processes`)."""
    _select(base, ablation_splits(data, n_val)[0], todo, runs_dir, selection_path, progress=False)


def _final_worker(finals, data: ExperimentData, results_path: Path, base: TrainConfig, runs_dir: Path, n_val: int,
                  eval_queries: int | None, protocols: Sequence[str]) -> None:
    """A worker process's share of the final runs, ``(selected row, seed)`` pairs."""
    tdata = ablation_splits(data, n_val)[1]
    for row, seed in finals:
        _final_run(base, tdata, row, [seed], runs_dir, results_path, eval_queries, protocols)


def _final_run(base: TrainConfig, tdata: ExperimentData, row: dict, seeds: Sequence[int], runs_dir: Path,
               results_path, eval_queries: int | None, protocols: Sequence[str]) -> pd.DataFrame:
    """The test rows of a selected ``row``'s arm at ``seeds`` (:func:`semhash_lib.experiment.run_grid`; a seed
    whose rows are in ``results_path`` is read back, seed 0 reuses the selection run's checkpoint)."""
    point = _point(row)
    cfg = _arm_config(base, row["regime"], row["bits"], row["arm"], point, runs_dir)
    return run_grid([cfg.method], [int(row["bits"])], list(seeds), cfg, tdata, protocols=tuple(protocols),
                    results_path=results_path, eval_queries=eval_queries, progress=False,
                    extra={"regime": row["regime"], "arm": row["arm"], **point})


def selected_outputs(base: TrainConfig, data: ExperimentData, selection: pd.DataFrame, bits: int, n_val: int = 2500,
                     runs_dir: str | os.PathLike = "data/runs/ablation", seed: int = 0) -> dict[str, np.ndarray]:
    """``{"<regime> · <arm>": h}``: the pre-sign outputs of ``data``'s test split from each arm's selected run
    at ``bits`` (seed ``seed``; read from the run folders :func:`run_ablation` wrote, trained there if
    missing), for histograms."""
    from .train import encode

    tdata = ablation_splits(data, n_val)[1]
    chosen = selected_points(selection)
    out = {}
    for row in chosen[chosen["bits"] == int(bits)].to_dict("records"):
        point = _point(row)
        cfg = _arm_config(base, row["regime"], int(bits), row["arm"], point, Path(runs_dir))
        run = cfg.replace(seed=int(seed), out_dir=str(Path(cfg.out_dir) / f"{cfg.method}-{int(bits)}b-s{int(seed)}"))
        out[f"{row['regime']} · {row['arm']}"] = encode(train(run, tdata, progress=False).model, data.x_test)[0]
    return out


def paired_interval(diffs: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of paired differences and its Student-t confidence interval
    (``level``) over the pairs; NaN bounds for fewer than 2 pairs."""
    from scipy import stats

    d = np.asarray(diffs, dtype=np.float64)
    mean = float(d.mean()) if len(d) else float("nan")
    if len(d) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
    return mean, mean - half, mean + half


def _verdict(low: float, high: float, higher_is_better: bool) -> str:
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 <= high:
        return "no detectable difference"
    better = low > 0 if higher_is_better else high < 0
    return "better" if better else "worse"


def compare_arms(table: pd.DataFrame, references: Sequence[str] = ("none", "quant"),
                 metrics: dict[str, bool] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Per regime x bits x protocol x arm x metric the mean of the arm, and against each reference arm (other
    than the references before it: ``quant`` is compared with ``none`` once) the paired difference over the seeds both have (same seed = same initialisation and batch order), its
    ``level`` interval (``ci_low``, ``ci_high``) and the ``verdict``. ``metrics``: name -> higher is better
    (default: mAHP@250 higher, the drop h -> sign(h) lower)."""
    metrics = metrics or {"mahp@250": True, "drop_mahp@250": False}
    rows = []
    for (regime, bits, protocol), cell in table.groupby(["regime", "bits", "protocol"], sort=False):
        per_arm = {a: g.set_index("seed") for a, g in cell.groupby("arm", sort=False)}
        for r_i, ref in enumerate(references):
            if ref not in per_arm:
                continue
            for arm, g in per_arm.items():
                if arm == ref or arm in references[:r_i]:    # quant vs none is already none's row, negated
                    continue
                seeds = sorted(set(g.index) & set(per_arm[ref].index))
                for metric, higher in metrics.items():
                    d = g.loc[seeds, metric].to_numpy() - per_arm[ref].loc[seeds, metric].to_numpy()
                    mean, low, high = paired_interval(d, level)
                    rows.append({"regime": regime, "bits": int(bits), "protocol": protocol, "arm": arm,
                                 "reference": ref, "metric": metric, "arm_mean": float(g.loc[seeds, metric].mean()),
                                 "reference_mean": float(per_arm[ref].loc[seeds, metric].mean()), "diff": mean,
                                 "ci_low": low, "ci_high": high, "n_seeds": len(seeds),
                                 "verdict": _verdict(low, high, higher)})
    return pd.DataFrame(rows)
