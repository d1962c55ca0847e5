"""Grids of training runs: methods x bit lengths x seeds x protocols, one results row each.

:func:`run_grid` trains every run (:func:`semhash_lib.train.train`; a finished run is loaded from its
checkpoint, an interrupted one resumes), evaluates each protocol (:mod:`.protocols`) and appends the rows
atomically to a CSV, so an interrupted grid resumes where it stopped. :func:`config_key` names a run by
the settings that determine its result.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..io import atomic_write, cache_key
from ..train import RESUME_FREE_FIELDS, TrainConfig, encode, train
from .data import ExperimentData, prepare_data, stratified_subset
from .protocols import PROTOCOLS, evaluate, protocol_indices
from .workers import _read_results, check_workers, run_in_processes

__all__ = ["run_grid", "config_key", "evaluate_run", "RESULT_KEYS"]


def config_key(config: TrainConfig) -> str:
    """Hash of the settings that determine a run's result (not where it is written or run)."""
    return cache_key({k: v for k, v in config.effective().to_dict().items() if k not in RESUME_FREE_FIELDS})


def _append_rows(path: Path, rows: list[dict]) -> None:
    table = pd.concat([_read_results(path), pd.DataFrame(rows)], ignore_index=True)
    with atomic_write(path, "w") as f:
        table.to_csv(f, index=False)


#: columns that identify a row of a grid's results table (a run's protocol under one evaluation similarity)
RESULT_KEYS = ("config_key", "protocol", "eval_similarity")


def run_grid(methods: Sequence[str], bits_list: Sequence[int], seeds: Sequence[int], base_config: TrainConfig | dict,
             data: ExperimentData | None = None, protocols: Sequence[str] = ("train_db", "test_vs_test"),
             results_path: str | os.PathLike | None = None, *, eval_queries: int | None = None,
             continuous_rank: str = "euclidean", eval_similarity: dict[str, Any] | None = None,
             progress: bool = True, extra: dict | None = None, workers: int = 1) -> pd.DataFrame:
    """Train every (method, bits, seed) with ``base_config`` and evaluate each protocol: one row per
    (method, bits, seed, protocol) with the :func:`evaluate` metrics plus ``train_seconds``,
    ``images_per_s``, ``eval_seconds``, ``n_queries``, ``n_db``, ``epochs`` and ``config_key``.

    Runs are written to ``<base_config.out_dir>/<method>-<bits>b-s<seed>`` (or the default run folder),
    so a finished run is loaded from its checkpoint instead of retrained and an interrupted one resumes.
    With ``results_path`` every run's rows are appended atomically to that CSV as soon as they exist, and
    rows already there (same ``config_key``, protocol and ``eval_similarity``) are not recomputed.
    ``eval_queries``: evaluate on a fixed class-stratified subset of the queries (seed 0) to save time
    (not for ``test_vs_test``, whose queries are its database). ``eval_similarity``: ``{name: C x C matrix}``
    to compute mAHP under other similarities too (e.g. WordNet for a run trained on sentence targets;
    default: the training targets, named after ``config.similarity``), one row each, column
    ``eval_similarity``. ``extra``: constant columns added to every row (e.g. ``{"profile": "quick"}``).
    ``workers`` > 1 (CPU): the runs are dealt to that many processes, each on its own core
    (:mod:`semhash_lib.experiment.workers`; needs ``results_path``); a run on one core gives the same rows
    whichever process trains it.
    Returns this grid's rows (old and new), in grid order.
    """
    if isinstance(base_config, dict):
        base_config = TrainConfig.from_dict(base_config)
    for p in protocols:
        if p not in PROTOCOLS:
            raise ValueError(f"unknown protocol {p!r}; expected one of {list(PROTOCOLS)}")
    if not methods or not bits_list or not seeds:
        raise ValueError("methods, bits_list and seeds must each be non-empty")
    workers = check_workers(workers)
    if data is None:
        data = prepare_data(base_config, progress=progress)
    path = Path(results_path) if results_path is not None else None
    cells = [(m, int(b), int(s)) for m in methods for b in bits_list for s in seeds]
    sims = eval_similarity or {base_config.similarity: None}
    options = dict(base_config=base_config, protocols=tuple(protocols), eval_queries=eval_queries,
                   continuous_rank=continuous_rank, sims=sims, extra=extra)
    if workers > 1:
        if path is None:
            raise ValueError("run_grid(workers > 1) needs results_path: the workers' rows are merged there")
        done_keys = _done_keys(_read_results(path))
        todo = [c for c in cells if _missing(_run_key(c, base_config)[1], protocols, sims, done_keys)]
        if len(todo) > 1:
            run_in_processes(_grid_worker, todo, data, [(path, RESULT_KEYS)], workers, progress=progress,
                             total_rows=len(todo) * len(protocols) * len(sims), desc=f"{len(todo)} runs", **options)
    return _run_cells(cells, data, path, progress=progress, **options)


def _run_key(cell: tuple[str, int, int], base_config: TrainConfig) -> tuple[TrainConfig, str]:
    method, bits, seed = cell
    changes: dict[str, Any] = dict(method=method, bits=bits, seed=seed)
    if base_config.out_dir:
        changes["out_dir"] = str(Path(base_config.out_dir) / f"{method}-{bits}b-s{seed}")
    cfg = base_config.replace(**changes)
    return cfg, config_key(cfg)


def _done_keys(done: pd.DataFrame) -> set:
    """The :data:`RESULT_KEYS` of the rows a results table already holds."""
    return set(zip(*(done[c] for c in RESULT_KEYS))) if len(done) else set()


def _missing(key: str, protocols, sims, done_keys: set) -> list[tuple[str, str]]:
    """The (protocol, similarity name) rows of the run with config key ``key`` not in ``done_keys``."""
    return [(p, name) for p in protocols for name in sims if (key, p, name) not in done_keys]


def _grid_worker(cells, data: ExperimentData, path: Path, **options) -> None:
    """A worker process's share of :func:`run_grid` (:func:`semhash_lib.experiment.workers.run_in_processes`)."""
    _run_cells(cells, data, path, progress=False, **options)


def _run_cells(cells, data: ExperimentData, path: Path | None, base_config: TrainConfig, protocols, eval_queries,
               continuous_rank, sims, extra, progress: bool) -> pd.DataFrame:
    """:func:`run_grid` of ``cells`` in this process; rows in ``cells`` order."""
    done = _read_results(path)
    done_keys = _done_keys(done)
    rows_out: list[dict] = []
    for cell in cells:
        method, bits, seed = cell
        cfg, key = _run_key(cell, base_config)
        todo = _missing(key, protocols, sims, done_keys)
        old = done[(done["config_key"] == key) & done["protocol"].isin(protocols)
                   & done["eval_similarity"].isin(list(sims))].to_dict("records") if len(done) else []
        if not todo:
            rows_out += old
            continue
        result = train(cfg, data, progress=progress)
        new = []
        for row in evaluate_run(result.model, data, cfg, todo, sims, eval_queries, continuous_rank):
            tail = {k: row.pop(k) for k in ("eval_seconds", "n_queries", "n_db")}
            new.append({"config_key": key, "method": method, "bits": bits, "seed": seed, **row,
                        "train_seconds": result.train_seconds, "images_per_s": result.images_per_s,
                        **tail, "epochs": cfg.epochs, **(extra or {})})
        if path is not None:
            _append_rows(path, new)
        rows_out += old + new
    return pd.DataFrame(rows_out)


def evaluate_run(model, data: ExperimentData, config: TrainConfig, todo: Sequence[tuple[str, str]],
                 sims: dict[str, Any] | None = None, eval_queries: int | None = None,
                 continuous_rank: str = "euclidean") -> list[dict]:
    """The :func:`evaluate` rows of a trained ``model``: one per ``(protocol, similarity name)`` in ``todo``,
    with ``protocol``, ``eval_similarity``, ``dataset``, ``input``, ``similarity``, the metrics,
    ``eval_seconds``, ``n_queries`` and ``n_db``. ``sims``: ``{name: C x C matrix or None}`` (None: the
    training targets); ``eval_queries``: a fixed class-stratified query subset (seed 0), not for
    ``test_vs_test``-like protocols whose queries are their database."""
    sims = sims or {config.similarity: None}
    h = {"train": encode(model, data.x_train)[0], "test": encode(model, data.x_test)[0]}
    rows = []
    for protocol, sim_name in todo:
        q_split, q_rows, db_split, db_rows, excl = protocol_indices(protocol, data, config.train_classes)
        if eval_queries is not None and eval_queries < len(q_rows) and not excl:
            labels = data.y_test.numpy()[q_rows] if data.y_test is not None else np.zeros(len(q_rows))
            q_rows = q_rows[stratified_subset(labels, eval_queries)]
        t0 = time.perf_counter()
        scores = evaluate(h[q_split][q_rows], h[db_split][db_rows], data, q_rows, q_split, db_rows,
                          db_split, exclude_self=excl, continuous_rank=continuous_rank,
                          class_similarity=sims[sim_name])
        rows.append({"protocol": protocol, "eval_similarity": sim_name, "dataset": data.dataset,
                     "input": data.input, "similarity": config.similarity, **scores,
                     "eval_seconds": time.perf_counter() - t0, "n_queries": len(q_rows), "n_db": len(db_rows)})
    return rows
