"""Run independent pieces of a grid in worker processes, one per core, and merge their result tables.

The runs of a grid (and the cells of the KL ablation) do not depend on each other. A head of a few hundred
thousand parameters does not keep two cores busy from one process (thread start-up and the B x B loss terms are
serial), so on a CPU machine one single-threaded process per core trains about twice as many runs per minute as
one process with two threads. Each worker is bound to its own cores (the trainer sizes its threads from the
cores its process may use, :func:`semhash_lib.devices.use_cpu_threads`; unbound workers would each take every
core and oversubscribe them -- measured 6x slower per run), works on its own copy of the result tables, and the
copies are merged into the real ones when all have finished (``docs/speed.md``). A run on one core computes the
same floats whichever worker runs it, so the rows equal those of one single-core process.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..io import atomic_write
from .data import ExperimentData

__all__ = ["run_in_processes", "merge_tables", "check_workers"]


def check_workers(workers: Any) -> int:
    """``workers`` as a positive int (``"auto"``: one per core this process may use), or an error saying what is
    accepted."""
    if workers == "auto":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive int or 'auto' (processes, one per core), got {workers!r}")
    return int(workers)


def _read_results(path: Path | None) -> pd.DataFrame:
    """A results table (empty where there is none yet); an unreadable one is an error naming it (nothing is
    overwritten)."""
    if path is None or not path.exists():
        return pd.DataFrame()
    try:
        return pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as e:
        raise ValueError(f"{path}: results file is unreadable ({e}); move it away to start the grid afresh") from e


def merge_tables(path: Path, parts: Sequence[Path], keys: Sequence[str]) -> None:
    """``path``'s rows and the parts' rows, each row once (by the ``keys`` the tables have), written atomically."""
    tables = [t for t in (_read_results(path), *(_read_results(p) for p in parts)) if len(t)]
    if not tables:
        return
    table = pd.concat(tables, ignore_index=True)
    table = table.drop_duplicates(subset=[k for k in keys if k in table.columns])
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as f:
        table.to_csv(f, index=False)


def _tensors_as(data: ExperimentData, convert) -> ExperimentData:
    """``data`` with every tensor field (or, back, every array field that was one) converted by ``convert``."""
    import torch

    fields = ("x_train", "y_train", "x_test", "y_test", "class_similarity", "train_embeddings", "test_embeddings")
    out = {}
    for name in fields:
        value = getattr(data, name)
        if isinstance(value, (torch.Tensor, np.ndarray)):
            out[name] = convert(value)
    return dataclasses.replace(data, **out)


def _worker(cores: list[int], target: Callable, data: ExperimentData, items: list, paths: list[Path],
            kwargs: dict) -> None:
    """One worker, bound to ``cores`` with as many torch threads: ``target(items, data, *paths, **kwargs)``."""
    import torch

    from ..devices import flush_denormals

    flush_denormals()                      # before torch starts its threads, so that they flush too
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(cores))
    torch.set_num_threads(len(cores))
    target(items, _tensors_as(data, torch.from_numpy), *paths, **kwargs)


def run_in_processes(target: Callable, items: Sequence, data: ExperimentData, tables: Sequence[tuple[Path, Sequence[str]]],
                     workers: int, progress: bool = False, total_rows: int | None = None, desc: str = "runs",
                     **kwargs) -> None:
    """Deal ``items`` round-robin to ``workers`` processes and merge their tables.

    ``target(items_part, data, *table_paths, **kwargs)`` runs in each worker (a module-level function, so it can
    be pickled) and appends its rows to its own copies of the ``tables`` -- ``(path, key columns)`` pairs; the
    copies start from the real tables (so finished rows are not recomputed: a resumed grid stays resumed) and are
    merged back, each row once by its keys, when every worker has finished. Workers get disjoint shares of this
    process's cores. A worker's exception is raised here after the others finished; the rows of the finished
    ones are merged first, so nothing computed is lost. ``progress``: a tqdm bar of the rows the workers have
    written to the first table (out of ``total_rows`` new rows), read from their copies every few seconds."""
    import concurrent.futures as cf
    import multiprocessing

    from ..devices import cpu_threads

    workers = check_workers(workers)
    groups = [list(g) for g in (items[i::workers] for i in range(workers)) if len(g)]
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(cpu_threads()))
    first = Path(tables[0][0])
    first.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=first.parent, prefix=".workers-") as tmp:
        jobs = []
        for i, group in enumerate(groups):
            paths = [Path(tmp) / f"{i}-{Path(p).name}" for p, _ in tables]
            for (src, _), dst in zip(tables, paths):
                if Path(src).exists():
                    shutil.copy(src, dst)
            jobs.append((group, paths))
        plain = _tensors_as(data, lambda t: t.numpy())          # plain pickling, not torch's shared memory
        own = [cores[i::len(jobs)] or cores for i in range(len(jobs))]
        error = None
        with cf.ProcessPoolExecutor(len(jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_worker, c, target, plain, group, paths, kwargs) for c, (group, paths) in zip(own, jobs)]
            _watch(futures, [paths[0] for _, paths in jobs], progress, total_rows, f"{desc} ({len(jobs)} processes)")
            for f in futures:
                try:
                    f.result()
                except BaseException as e:   # keep the others' rows; raise after merging
                    error = error or e
        for j, (path, keys) in enumerate(tables):
            merge_tables(Path(path), [paths[j] for _, paths in jobs], keys)
        if error is not None:
            raise error


def _watch(futures: list, parts: list[Path], progress: bool, total_rows: int | None, desc: str) -> None:
    """Wait for ``futures``; with ``progress``, show the growth of the workers' first tables in a tqdm bar."""
    import concurrent.futures as cf

    from tqdm.auto import tqdm

    if not progress:
        cf.wait(futures)
        return
    start = [len(_read_results(p)) for p in parts]
    with tqdm(total=total_rows, desc=desc, unit="row") as bar:
        while True:
            done, _ = cf.wait(futures, timeout=5)
            written = sum(max(0, _rows_in(p) - s) for p, s in zip(parts, start))
            bar.update(written - bar.n)
            if len(done) == len(futures):
                return


def _rows_in(path: Path) -> int:
    try:
        return len(_read_results(path))
    except Exception:   # a worker is replacing the file right now: count it next time
        return 0
