"""Atomic checkpoints with every RNG state, the default run folder, the per-epoch history files."""

from __future__ import annotations

import json
import os
import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..io import atomic_write, cache_key, project_root
from .config import RESUME_FREE_FIELDS, TrainConfig

__all__ = ["CHECKPOINT_NAME", "save_checkpoint", "load_checkpoint", "rng_state", "set_rng_state",
           "default_out_dir", "write_history"]

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """``torch.save(state)`` through :func:`semhash_lib.io.atomic_write`: a failure leaves the old file."""
    path = Path(path)
    with atomic_write(path) as f:
        torch.save(state, f)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` (tensors, numbers, strings and lists only).

    A missing file raises ``FileNotFoundError``; a damaged one (truncated, overwritten, not a checkpoint)
    raises ``ValueError`` naming the file and how to start the run afresh."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as e:
        raise ValueError(_damaged(path, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")) from e
    if not isinstance(state, dict):
        raise ValueError(_damaged(path, f"it holds a {type(state).__name__}, not a checkpoint mapping"))
    return state


def _damaged(path: Path, why: str) -> str:
    return (f"{path}: damaged or not a semhash checkpoint ({why}); delete it (or its run folder {path.parent}) "
            "or train with resume=False to start the run from the first epoch")


def rng_state(gen: torch.Generator) -> dict:
    """Every RNG state a run depends on: torch CPU and CUDA, numpy, python, and the data generator ``gen``
    (stored as tensors, strings and lists so that ``torch.load(weights_only=True)`` reads it back)."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    return {"torch": torch.get_rng_state(),
            "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
            "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *map(float, np_state[2:])],
            "python": [py_state[0], list(py_state[1]), py_state[2]],
            "data": gen.get_state()}


def set_rng_state(state: dict, gen: torch.Generator) -> None:
    """Restore what :func:`rng_state` saved (the data generator into ``gen``)."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), int(pos), int(has_gauss), float(cached)))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    gen.set_state(state["data"])


def default_out_dir(config: TrainConfig) -> Path:
    """``data/runs/<dataset>-<method>-<bits>b-s<seed>-<hash of the config>`` under the project."""
    d = {k: v for k, v in config.to_dict().items() if k not in RESUME_FREE_FIELDS}
    name = f"{config.dataset}-{config.method}-{config.bits}b-s{config.seed}-{cache_key(d)}"
    return project_root() / "data" / "runs" / name


def write_history(out_dir: Path, history: list[dict]) -> None:
    """``history.json`` and ``history.csv`` (one row per epoch) in ``out_dir``, each written atomically."""
    import pandas as pd

    with atomic_write(out_dir / "history.json", "w") as f:
        json.dump(history, f, indent=1)
    with atomic_write(out_dir / "history.csv", "w") as f:
        pd.DataFrame(history).to_csv(f, index=False)
