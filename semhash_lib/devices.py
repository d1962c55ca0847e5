"""Device and thread choices, in one place for every module that runs torch or a thread pool.

- :func:`resolve_device` — ``"auto"`` -> CUDA when present, else CPU; an explicit ``"cuda"`` without CUDA is
  an error (training, encoding and feature extraction all resolve their ``device`` argument here);
- :func:`cpu_threads` — the number of cores this process may use (its CPU affinity where the OS has one);
- :func:`use_cpu_threads` — on a CPU device, let torch use all of them;
- :func:`flush_denormals` — on a CPU device, treat subnormal floats as zero for the duration of a block
  (training: see its docstring).

The bottom layer of the package: it imports nothing of semhash, and torch only when a function needs it
(the retrieval kernels, which are numpy only, size their thread pools with :func:`cpu_threads`).
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Iterator

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
    one; nothing on a GPU."""
    import torch

    if device.type == "cpu":
        try:
            local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
        except ValueError:
            local = 1
        torch.set_num_threads(max(1, cpu_threads() // local))


@contextlib.contextmanager
def flush_denormals(device: torch.device) -> Iterator[None]:
    """On a CPU ``device``, flush subnormal floats (|x| < 1.2e-38 in float32) to zero inside the block
    (``torch.set_flush_denormal``: the processor's flush-to-zero and denormals-are-zero modes), and switch
    it off again afterwards (torch's default); nothing on a GPU, whose kernels flush them anyway.

    Why: x86 processors compute with subnormal operands up to ~100x slower. Training a hashing head for
    longer than a few epochs makes some of Adam's second-moment estimates (and the gradients of saturated
    units) subnormal; measured on the 2-core development machine, an epoch of ``classification`` on 47,500
    frozen-feature vectors took ~1 s for 8 epochs and then 15-21 s from the 9th on, against ~1 s throughout
    with the flush (``docs/speed.md``). The values flushed are below float32's normal range, so the results
    change by less than that; where no subnormal occurs they are bit for bit the same."""
    import torch

    if device.type != "cpu" or not torch.set_flush_denormal(True):
        yield
        return
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
