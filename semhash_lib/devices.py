"""Device and thread choices, in one place for every module that runs torch or a thread pool.

- :func:`resolve_device` — ``"auto"`` -> CUDA when present, else CPU; an explicit ``"cuda"`` without CUDA is
  an error (training, encoding and feature extraction all resolve their ``device`` argument here);
- :func:`cpu_threads` — the number of cores this process may use (its CPU affinity where the OS has one);
- :func:`use_cpu_threads` — on a CPU device, let torch use all of them;
- :func:`flush_denormals` — treat subnormal floats as zero on the CPU (before torch's threads start: see its
  docstring).

The bottom layer of the package: it imports nothing of semhash, and torch only when a function needs it
(the retrieval kernels, which are numpy only, size their thread pools with :func:`cpu_threads`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["resolve_device", "cpu_threads", "use_cpu_threads", "flush_denormals"]


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"``/``None`` -> CUDA when available else CPU; ``"cuda"`` without CUDA is an error."""
    import torch

    if isinstance(device, torch.device):
        return device
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if str(device).startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was requested but CUDA is not available; use 'auto' or 'cpu'")
        return torch.device(device)
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")


def cpu_threads() -> int:
    """Cores this process may run on: ``len(os.sched_getaffinity(0))`` where available, else ``os.cpu_count()``."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def use_cpu_threads(device: torch.device) -> None:
    """On a CPU ``device``, let torch use this process's share of the cores: ``cpu_threads()`` divided by the
    number of processes torchrun started on this node (``LOCAL_WORLD_SIZE``, 1 without torchrun), at least
    one, with subnormal floats flushed (:func:`flush_denormals`); nothing on a GPU."""
    import torch

    if device.type == "cpu":
        flush_denormals()
        try:
            local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
        except ValueError:
            local = 1
        torch.set_num_threads(max(1, cpu_threads() // local))


def flush_denormals() -> bool:
    """Flush subnormal floats (|x| < 1.2e-38 in float32) to zero on the CPU, in this thread and in every thread
    started after it (``torch.set_flush_denormal``: the x86 flush-to-zero and denormals-are-zero modes);
    returns whether the processor has them. (GPUs compute with subnormals at full speed.)

    Why: x86 processors compute with subnormal operands up to ~100x slower, and a hashing head trained for
    more than a few epochs produces them (Adam's second moments, the weights of dead units). Measured on the
    2-core development machine, ``classification``, 64 bits, 47,500 frozen-feature vectors: epochs 1-8 took
    ~1.1 s each and epochs 9-12 15-21 s each without the flush, ~1 s throughout with it (``docs/speed.md``).
    Flushing changes results by less than float32's smallest normal number; where no subnormal occurs they
    are bit for bit the same.

    The mode belongs to each thread and a new thread copies its creator's, so it reaches torch's (OpenMP /
    MKL) worker threads only when set before torch's first parallel operation creates them: semhash's entry
    points call it first (the ``semhash`` command, :func:`semhash_lib.notebook.setup`, each worker process),
    and so does :func:`use_cpu_threads` (training, feature extraction). In your own script, call it before
    your first torch operation. It stays on for the process (like ``torch.set_num_threads``)."""
    import torch

    return bool(torch.set_flush_denormal(True))
