"""Data-parallel training under ``torchrun``: the same global batches as one process, split over ranks.

``torchrun --nproc_per_node N ... semhash train --config F`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` set; :func:`setup` joins them into a ``torch.distributed`` process group
(NCCL on GPU, gloo on CPU) and returns a :class:`Distributed` describing this rank. Without those
variables (or with ``WORLD_SIZE=1``) training is a single process and nothing here changes it.

What makes N processes train exactly like one (same weights up to float rounding):

- **Same global batches.** Every rank holds the whole training set and draws the same data order and
  augmentation from the same seeded generator; batch ``s`` of the epoch is the same ``B`` samples as in one
  process, and rank ``r`` feeds rows ``r*B/N .. (r+1)*B/N`` of it (:meth:`Distributed.local_rows`).
- **Batch-level terms over the global batch.** The similarity loss, the KL term and the DSH/DPSH/HashNet
  pair terms depend on the whole batch. Each rank gathers the codes (and logits) of all ranks with
  ``torch.distributed.nn.functional.all_gather``, which is differentiable, and evaluates the loss of the
  global batch against the global targets (the B x B targets are known on every rank). The gradient reaches
  each rank's own rows through all_gather's backward, which sums over ranks: rank ``r`` receives
  ``N * dL/dh_r``; DistributedDataParallel then averages the parameter gradients over the N ranks, which
  gives exactly ``dL/dtheta`` of one process. (The loss itself is computed N times: a B x B computation,
  small next to the network's forward and backward pass.)
- **BatchNorm over the global batch.** On GPU ``torch.nn.SyncBatchNorm``; torch's SyncBatchNorm refuses
  CPU tensors, so on CPU :class:`GlobalBatchNorm` does the same with a differentiable all_reduce of the
  per-channel sums (Ioffe & Szegedy 2015 statistics over all ranks' rows).
- Weights start equal (same seed on every rank; DDP also broadcasts rank 0's), the optimizer steps on equal
  gradients, so they stay equal. Rank 0 alone writes checkpoints (atomically), history and config; every
  rank resumes from the same checkpoint. Checkpoints hold the plain model's state dict (no ``module.``
  prefix), so a checkpoint written by any number of processes resumes under any other that divides the
  batch size.

Multi-node is the same code path: torchrun's rendezvous flags (``--nnodes``, ``--node_rank``,
``--rdzv_backend c10d --rdzv_endpoint HOST:PORT``) set the same variables.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["Distributed", "setup", "environment_world_size", "check_batch_split", "GlobalBatchNorm",
           "sync_batch_norm", "WorldSizeError"]


class WorldSizeError(ValueError):
    """The global batch cannot be split evenly over the processes."""


def environment_world_size() -> int:
    """``WORLD_SIZE`` as torchrun sets it (1 when not launched by torchrun)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        raise ValueError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not an integer") from None


def check_batch_split(batch_size: int, world_size: int) -> int:
    """The per-rank batch ``batch_size / world_size``; a world size that does not divide it is an error."""
    if batch_size % world_size:
        divisors = [d for d in range(1, min(batch_size, 64) + 1) if batch_size % d == 0]
        raise WorldSizeError(f"batch_size {batch_size} is not divisible by the {world_size} torchrun processes "
                             f"(each must take an equal share of every global batch); use --nproc_per_node in "
                             f"{divisors} or a batch_size that is a multiple of {world_size}")
    return batch_size // world_size


@dataclass(frozen=True)
class Distributed:
    """This process's place in the run: ``rank`` of ``world_size`` (``local_rank`` on its node)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes checkpoints, history and results."""
        return self.rank == 0

    def local_rows(self, batch_size: int) -> slice:
        """This rank's rows of a global batch of ``batch_size`` rows."""
        b = check_batch_split(batch_size, self.world_size)
        return slice(self.rank * b, (self.rank + 1) * b)

    def gather(self, t: torch.Tensor | None) -> torch.Tensor | None:
        """The global batch of ``t`` (rank order), differentiable: gradients flow back to each rank's rows."""
        if t is None or not self.active:
            return t
        with warnings.catch_warnings():    # the differentiable collectives are marked for a future move
            warnings.simplefilter("ignore", FutureWarning)
            from torch.distributed.nn.functional import all_gather

            return torch.cat(all_gather(t.contiguous()), dim=0)

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """``model`` with BatchNorm over the global batch, in DistributedDataParallel (itself when single)."""
        if not self.active:
            return model
        model = sync_batch_norm(model, device)
        ids = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def setup(device: torch.device | None = None) -> Distributed:
    """Join the torchrun process group (once per process) and return this rank; single process otherwise.

    NCCL when the device is CUDA (``LOCAL_RANK`` chooses the GPU), else gloo."""
    world = environment_world_size()
    if world == 1:
        return Distributed()
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    import torch.distributed as dist

    if not dist.is_initialized():
        cuda = device is not None and device.type == "cuda"
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return Distributed(rank=rank, world_size=world, local_rank=local)


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics are those of the global batch over all ranks (CPU, gloo).

    With per-channel sums over every rank's rows and positions (``n`` values in all;
    ``torch.distributed.nn.functional.all_reduce``, differentiable), in two passes like one process's
    BatchNorm: ``mean = sum x / n``, ``var = sum (x - mean)^2 / n`` (biased, for normalisation); the running variance is
    updated with the unbiased ``var * n / (n - 1)``, as ``torch.nn.BatchNorm2d`` does on one process.
    In eval mode, or without a process group, it is ordinary BatchNorm."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-d input, got {input.dim()}-d")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        dims = [0] + list(range(2, x.dim()))
        xf = x.float()
        c = x.shape[1]
        count = torch.tensor([float(xf.numel() // c)], dtype=torch.float32, device=x.device)
        sums = _all_reduce(torch.cat([xf.sum(dims), count]))       # two passes, as precise as one process's
        n = sums[-1]
        mean = sums[:c] / n
        shape = [1, c] + [1] * (x.dim() - 2)
        centred = xf - mean.view(shape)
        var = _all_reduce((centred * centred).sum(dims)) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * n / (n - 1), alpha=m)
        y = centred / torch.sqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def _all_reduce(t: torch.Tensor) -> torch.Tensor:
    """Differentiable sum over ranks (the backward pass sums the gradients over ranks too)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from torch.distributed.nn.functional import all_reduce

        return all_reduce(t)


def sync_batch_norm(model: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm layer of ``model`` computing its statistics over the global batch: torch's
    ``SyncBatchNorm`` on GPU, :class:`GlobalBatchNorm` on CPU (same parameters and buffers, same state dict)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return _convert(model)


def _convert(module: nn.Module) -> nn.Module:
    out = module
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, GlobalBatchNorm):
        out = GlobalBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                              module.track_running_stats)
        if module.affine:
            with torch.no_grad():
                out.weight = module.weight
                out.bias = module.bias
        out.running_mean, out.running_var = module.running_mean, module.running_var
        out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
    for name, child in module.named_children():
        out.add_module(name, _convert(child))
    return out
