"""The training loop shared by every method.

Per step: ``h, logits = model(x)``; ``T = targets.pairwise_targets(labels, S)`` (or of per-sample
embeddings, caption data); ``total, terms = loss(h, logits, labels, T)``; backward; optimizer and
lr-scheduler step. Data order and augmentation draws come from an explicit ``torch.Generator`` seeded
with ``config.seed``, the KL target samples from a second one; both, and every global RNG, are
checkpointed, so an interrupted run resumes bit-identically (same machine, same thread count; on a GPU up
to cuDNN's nondeterministic kernels).

Devices (:mod:`semhash_lib.devices`): CUDA when present (mixed precision via ``torch.autocast``: bf16 where
supported, else fp16 with a ``GradScaler``; the whole training tensor lives on the GPU and is augmented
there; channels-last images), else CPU with every available core.

:func:`train` is given its data: an ``ExperimentData`` or a function ``config -> ExperimentData``
(:func:`semhash_lib.experiment.prepare_data`); it never loads a dataset itself. The optimisation
settings are reconstructions (``docs/reconstruction.md``; ``docs/paper.md`` §6).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..devices import resolve_device, use_cpu_threads
from ..io import atomic_write
from .augment import augment_batch
from .checkpoint import (CHECKPOINT_NAME, default_out_dir, load_checkpoint, rng_state, save_checkpoint,
                         set_rng_state, write_history)
from .config import RESUME_FREE_FIELDS, TrainConfig
from .distributed import Distributed, check_batch_split, setup as setup_distributed
from .model import build_model, num_train_classes
from .optim import lr_factor, make_optimizer

__all__ = ["train", "TrainResult", "NonFiniteLossError", "training_arrays"]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN/inf; the message names the epoch, the step and the offending loss term."""


@dataclass
class TrainResult:
    """What :func:`train` returns: the trained ``model`` (eval mode, on its training device), the
    per-epoch ``history`` rows, the run's ``out_dir`` and its ``config``."""

    model: nn.Module
    history: list[dict]
    out_dir: Path
    config: TrainConfig

    @property
    def train_seconds(self) -> float:
        """Total training wall time over all epochs (also across resumptions)."""
        return float(sum(r["seconds"] for r in self.history))

    @property
    def images_per_s(self) -> float:
        """Mean training throughput over all epochs."""
        n = sum(r["images"] for r in self.history)
        return float(n / max(self.train_seconds, 1e-9))


def training_arrays(config: TrainConfig, data) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None,
                                                        torch.Tensor | None]:
    """``(x, labels, class_similarity, embeddings)`` the trainer sees.

    With ``config.train_classes`` (zero-shot) only those classes' training samples are kept, their labels
    renumbered ``0..len(train_classes)-1`` in the given order and the similarity matrix restricted to them.
    ``embeddings`` (per-sample target embeddings, caption data) replace labels where the data has them.
    """
    x, y, S, emb = data.x_train, data.y_train, data.class_similarity, data.train_embeddings
    if config.train_classes is not None:
        if y is None:
            raise ValueError("train_classes needs labelled data; this dataset has none")
        classes = torch.as_tensor(config.train_classes, dtype=torch.long)
        if classes.min() < 0 or classes.max() >= data.num_classes:
            raise ValueError(f"train_classes must lie in 0..{data.num_classes - 1}, got "
                             f"{int(classes.min())}..{int(classes.max())}")
        remap = torch.full((data.num_classes,), -1, dtype=torch.long)
        remap[classes] = torch.arange(len(classes))
        keep = remap[y] >= 0
        x, y = x[keep], remap[y[keep]]
        if S is not None:
            S = S[classes][:, classes]
        if emb is not None:
            emb = emb[keep]
    if y is None and emb is None:
        raise ValueError("the training data has neither labels nor per-sample target embeddings")
    if S is None and emb is None:
        raise ValueError("labelled data needs a class_similarity matrix for the target distances")
    return x, y, S, emb


def _give_generator(loss_fn: nn.Module, gen: torch.Generator) -> None:
    """Let the paper's loss draw its KL target samples (uniform {-1, +1}^K corners) from ``gen``.

    ``SemanticHashingLoss`` takes a ``generator`` in its ``kl_kwargs``; without one it would use the global
    torch RNG (also checkpointed, so resumption stays exact either way)."""
    from ..losses import SemanticHashingLoss

    if isinstance(loss_fn, SemanticHashingLoss) and "generator" not in loss_fn.kl_kwargs:
        loss_fn.kl_kwargs["generator"] = gen


def _config_mismatch(saved: dict, config: TrainConfig) -> list[str]:
    now = config.to_dict()
    return sorted(k for k in now if k not in RESUME_FREE_FIELDS and saved.get(k) != now[k])


def train(config: TrainConfig | dict, data, progress: bool = True, resume: bool = True,
          on_epoch_end: Callable[[int, dict], None] | None = None,
          on_step: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    """Train ``config.method`` on ``data``: an ``ExperimentData``, or a function ``config -> ExperimentData``
    (e.g. :func:`semhash_lib.experiment.prepare_data`), called with the effective config.

    Per step: ``h, logits = model(x)``; ``T = targets.pairwise_targets(labels, S)`` (or of the per-sample
    embeddings); ``total, terms = loss(h, logits, labels, T)``; backward; optimizer and lr-scheduler step.
    The loss's ``on_epoch_start(epoch, model)`` runs before every epoch when present.

    Writes ``out_dir/checkpoint.pt`` (atomically, every ``checkpoint_every`` epochs and at the end),
    ``history.csv``/``history.json`` (one row per epoch: mean loss and terms, lr, share of |h| < 0.1,
    seconds, images/s) and ``config.json``. With ``resume=True`` an existing checkpoint of the same
    configuration is continued (a finished run returns at once); a checkpoint of a different
    configuration, or a damaged one, is an error naming the file. ``on_epoch_end(epoch, row)`` /
    ``on_step(epoch, step, terms)`` are hooks (raising from them interrupts the run, as a crash would). A
    NaN/inf loss raises :class:`NonFiniteLossError` naming the epoch, step and term; the last checkpoint
    stays as it was.
    """
    from .. import methods

    # set-up: the effective config, the device, the run folder, the data on the device, the seeded run
    config = _effective_config(config)
    device = resolve_device(config.device)
    ddp = setup_distributed(device)          # one process, or this rank of a torchrun group
    check_batch_split(config.batch_size, ddp.world_size)
    data = _given_data(data, config)
    use_cpu_threads(device)
    out_dir = Path(config.out_dir) if config.out_dir else default_out_dir(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / CHECKPOINT_NAME
    spec = methods.get_method(config.method)
    x, y, S, emb = training_arrays(config, data)
    if spec.needs_labels and y is None:
        raise ValueError(f"method {config.method!r} needs class labels; this dataset has only captions")
    channels_last = device.type == "cuda" and config.input == "images"  # faster convolutions under AMP
    batches = _Batches(x, y, S, emb, config.batch_size, device, augment=config.augment and config.input == "images",
                       channels_last=channels_last, ddp=ddp)
    run = _Run.start(config, data, spec, device, batches.steps, channels_last,
                     num_classes=num_train_classes(config, data) if y is not None else None, ddp=ddp)

    # resume: continue a checkpoint of the same configuration
    history: list[dict] = []
    start_epoch = 0
    if resume and ckpt_path.exists():
        history, start_epoch = run.restore(ckpt_path, config)
    ddp.barrier()                           # every rank has read the checkpoint before rank 0 writes one
    if ddp.is_main:
        with atomic_write(out_dir / "config.json", "w") as f:
            json.dump(config.to_dict(), f, indent=1)

    # the epochs, each followed by its checkpoint when one is due
    bar = _progress_bar((config.epochs - start_epoch) * batches.steps, f"{config.method} {config.bits}b",
                        progress and ddp.is_main)
    for epoch in range(start_epoch, config.epochs):
        if bar is not None:
            bar.set_description(f"{config.method} {config.bits}b epoch {epoch + 1}/{config.epochs}", refresh=False)
        row = _train_epoch(run, batches, epoch, config.grad_clip, ckpt_path, on_step, bar)
        history.append(row)
        if ddp.is_main and ((epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs):
            save_checkpoint(ckpt_path, run.checkpoint(epoch + 1, history, config))
            write_history(out_dir, history)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)
    if bar is not None:
        bar.close()
    ddp.barrier()                           # rank 0's last checkpoint is on disk for every rank
    run.model.eval()
    return TrainResult(model=run.model, history=history, out_dir=out_dir, config=config)


def _effective_config(config: TrainConfig | dict) -> TrainConfig:
    """A :class:`TrainConfig` (from a dict too) with the method's tuned parameters applied."""
    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig or dict, got {type(config).__name__}")
    return config.effective()


def _given_data(data, config: TrainConfig):
    """``data`` itself, or what the function ``data(config)`` makes; ``None`` is an error saying what to pass."""
    if data is None:
        raise TypeError("train(config, data) needs its data: an ExperimentData, e.g. "
                        "semhash_lib.experiment.prepare_data(config), or a function config -> ExperimentData "
                        "such as semhash_lib.experiment.prepare_data itself")
    if callable(data):
        data = data(config)
    if not hasattr(data, "x_train"):
        raise TypeError(f"train: data must be an ExperimentData (or a function that returns one), "
                        f"got {type(data).__name__}")
    return data


def _seed_everything(seed: int) -> None:
    """The global torch, numpy and python RNGs (weight initialisation, anything a module draws globally)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _amp_setup(enabled: bool, device: torch.device):
    """``(use autocast, its dtype, GradScaler)``: mixed precision on CUDA only; the scaler only for fp16."""
    use = bool(enabled) and device.type == "cuda"
    dtype = torch.bfloat16 if use and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use and dtype == torch.float16)
    return use, dtype, scaler


class _Batches:
    """The training set on the training device once; a batch is an index gather (no DataLoader, no
    workers), then augmentation (images) and its B x B target distances. ``drop_last``: every batch has
    the same size ``size`` (B x B targets), ``steps`` batches per epoch."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None, S, emb: torch.Tensor | None, batch_size: int,
                 device: torch.device, augment: bool, channels_last: bool, ddp: Distributed = Distributed()):
        from ..targets import pairwise_targets

        self.n = len(x)
        self.size = min(batch_size, self.n)
        self.steps = self.n // self.size
        self.rows = ddp.local_rows(self.size)   # this rank's rows of every global batch (all of it: one process)
        self.device, self.augment, self.channels_last = device, augment, channels_last
        self._targets = pairwise_targets
        self.x = x.to(device)
        self.y = y.to(device) if y is not None else None
        self.S = torch.as_tensor(S, dtype=torch.float32).to(device) if S is not None else None
        self.emb = emb.to(device=device, dtype=torch.float32) if emb is not None else None

    def get(self, order: torch.Tensor, step: int, gen: torch.Generator):
        """``(x, labels or None, target distances T)`` of batch ``step`` of the epoch's ``order``: ``x`` this
        rank's rows (augmented like the whole global batch, so the draws match one process), labels and the
        B x B targets of the global batch."""
        idx = order[step * self.size:(step + 1) * self.size].to(self.device)
        xb = self.x[idx]
        if self.augment:
            xb = augment_batch(xb, gen)
        xb = xb[self.rows]
        if self.channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        yb = self.y[idx] if self.y is not None else None
        T = self._targets(self.emb[idx], None) if self.emb is not None else self._targets(yb, self.S)
        return xb, yb, T


@dataclass
class _Run:
    """What a run updates and checkpoints: the network, the loss (its state, e.g. HashNet's beta), the
    optimizer, the lr schedule, the AMP scaler, and the generators of the data order / augmentation
    (``gen``) and of the KL target samples (``target_gen``)."""

    model: nn.Module
    net: nn.Module
    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    gen: torch.Generator
    target_gen: torch.Generator
    device: torch.device
    use_amp: bool
    amp_dtype: torch.dtype
    ddp: Distributed

    @classmethod
    def start(cls, config: TrainConfig, data, spec, device: torch.device, steps_per_epoch: int,
              channels_last: bool, num_classes: int | None, ddp: Distributed = Distributed()) -> "_Run":
        """Seed, then make model, loss, target generator, optimizer and schedule, in this order (it fixes
        which random draws each of them gets). ``model`` is the plain network (checkpoints, evaluation);
        ``net`` the one that runs the forward pass (the same, or it in DistributedDataParallel)."""
        _seed_everything(config.seed)
        gen = torch.Generator().manual_seed(config.seed)
        model = build_model(config, data).to(device)
        if channels_last:  # (cuDNN autotuning: on GPU, resumption is exact up to cuDNN's own nondeterminism)
            model = model.to(memory_format=torch.channels_last)
            torch.backends.cudnn.benchmark = True
        net = ddp.wrap(model, device)
        if config.compile:
            net = torch.compile(net)
        loss_fn = spec.make_loss(bits=config.bits, num_classes=num_classes, **config.loss)
        loss_fn = loss_fn.to(device)
        target_gen = torch.Generator().manual_seed(config.seed + 1)
        _give_generator(loss_fn, target_gen)
        optimizer = make_optimizer(model, config)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: lr_factor(s, steps_per_epoch, config))
        use_amp, amp_dtype, scaler = _amp_setup(config.amp, device)
        return cls(model, net, loss_fn, optimizer, scheduler, scaler, gen, target_gen, device, use_amp, amp_dtype, ddp)

    def forward(self, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(h, logits)`` of the global batch in float32 (the forward pass of this rank's rows ``xb`` under
        autocast when AMP is on, then gathered from every rank: differentiable, see :mod:`.distributed`)."""
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
            h, logits = self.net(xb)
        h, logits = self.ddp.gather(h.float()), self.ddp.gather(logits.float() if logits is not None else None)
        return h, logits

    def update(self, total: torch.Tensor, grad_clip: float | None) -> None:
        """Backward, optional gradient clipping, optimizer, scaler and lr-schedule step."""
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        if grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()

    def checkpoint(self, epoch: int, history: list[dict], config: TrainConfig) -> dict:
        """The checkpoint of the run after ``epoch`` epochs (read back by :meth:`restore`)."""
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "loss": self.loss_fn.state_dict(), "epoch": epoch, "history": json.dumps(history),
                "config": json.dumps(config.to_dict()),
                "rng": {**rng_state(self.gen), "targets": self.target_gen.get_state()}}

    def restore(self, path: Path, config: TrainConfig) -> tuple[list[dict], int]:
        """Load the checkpoint at ``path`` into the run; ``(history, epochs done)``. A checkpoint of other
        settings is an error (naming them)."""
        state = load_checkpoint(path)
        bad = _config_mismatch(json.loads(state["config"]), config)
        if bad:
            raise ValueError(f"{path} belongs to a run with different settings ({bad}); use another "
                             "out_dir, or resume=False to start over")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.loss_fn.load_state_dict(state["loss"])
        set_rng_state(state["rng"], self.gen)
        self.target_gen.set_state(state["rng"]["targets"])
        return json.loads(state["history"]), int(state["epoch"])


def _train_epoch(run: _Run, batches: _Batches, epoch: int, grad_clip: float | None, ckpt_path: Path,
                 on_step: Callable[[int, int, dict], None] | None, bar) -> dict:
    """One epoch over a fresh random order of the training set; its history row."""
    run.net.train()
    if hasattr(run.loss_fn, "on_epoch_start"):
        run.loss_fn.on_epoch_start(epoch, run.model)
    order = torch.randperm(batches.n, generator=run.gen)
    t0 = time.perf_counter()
    log = _LossLog(epoch, batches.steps, run.device, ckpt_path)
    for step in range(batches.steps):
        xb, yb, T = batches.get(order, step, run.gen)
        h, logits = run.forward(xb)
        try:
            total, terms = run.loss_fn(h, logits, yb, T)
        except ValueError as err:  # the losses reject non-finite h: name the step that diverged
            if bool(torch.isfinite(h).all()):
                raise
            raise log.diverged(step) from err
        run.update(total, grad_clip)
        log.add(total, terms, h)
        if on_step is not None:
            on_step(epoch, step, terms)
        rows = log.check(step)
        if rows is not None and bar is not None:  # the postfix is shown at tqdm's own (rate-limited) refreshes
            done = step + 1
            bar.set_postfix({"loss": f"{float(log.sums[0]) / done:.4f}",
                             **{k: f"{float(log.sums[i + 1]) / done:.3f}" for i, k in enumerate(log.names)},
                             "img/s": f"{done * batches.size / (time.perf_counter() - t0):.0f}"}, refresh=False)
            bar.update(len(rows))
    if run.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    named = list(run.model.named_parameters())  # one device sync for all of them, not one per tensor
    finite = torch.stack([torch.isfinite(p).all() for _, p in named]).cpu().tolist() if named else []
    bad = [n for (n, _), ok in zip(named, finite) if not ok]
    if bad:                      # the epoch's last update: no later forward pass would notice it
        raise _diverged(epoch, batches.steps - 1, batches.steps, log.names, log.last_row, ckpt_path,
                        what=f"weights ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''})")
    means = (log.sums / batches.steps).tolist()
    images = batches.steps * batches.size
    return {"epoch": epoch + 1, "lr": float(run.scheduler.get_last_lr()[0]), "loss": means[0],
            **{k: means[i + 1] for i, k in enumerate(log.names)}, "near_zero": means[-1],
            "seconds": seconds, "images": images, "images_per_s": images / max(seconds, 1e-9),
            "world_size": run.ddp.world_size}


class _LossLog:
    """An epoch's loss rows ``[total, *terms, share of |h| < 0.1]``, kept on the device and checked for
    NaN/inf every ``check_every`` steps and at the epoch's end (each check syncs the GPU: on CPU every
    step), then summed for the epoch means (``sums``)."""

    def __init__(self, epoch: int, steps_per_epoch: int, device: torch.device, ckpt_path: Path):
        self.epoch, self.steps_per_epoch, self.device, self.ckpt_path = epoch, steps_per_epoch, device, ckpt_path
        self.check_every = 1 if device.type == "cpu" else 25
        self.names: list[str] | None = None
        self.window: list[torch.Tensor] = []
        self.last_row: torch.Tensor | None = None
        self.sums: torch.Tensor | None = None

    def add(self, total: torch.Tensor, terms: dict, h: torch.Tensor) -> None:
        """Record one step (the term names are those of the epoch's first step)."""
        if self.names is None:
            self.names = list(terms)
        self.last_row = torch.stack([total.detach().float().reshape(())] +
                                    [torch.as_tensor(terms.get(k, 0.0)).detach().float().reshape(()).to(self.device)
                                     for k in self.names] +
                                    [(h.detach().abs() < 0.1).float().mean()])
        self.window.append(self.last_row)

    def check(self, step: int) -> torch.Tensor | None:
        """When a check is due after ``step``: raise :class:`NonFiniteLossError` at the first non-finite
        row, else add the rows to ``sums`` and return them; ``None`` when no check is due."""
        if len(self.window) < self.check_every and step != self.steps_per_epoch - 1:
            return None
        rows = torch.stack(self.window).cpu()
        _check_finite(rows, self.names, self.epoch, step - len(self.window) + 1, self.steps_per_epoch, self.ckpt_path)
        self.sums = rows.sum(0) if self.sums is None else self.sums + rows.sum(0)
        self.window = []
        return rows

    def diverged(self, step: int) -> NonFiniteLossError:
        """The error for a non-finite network output at ``step``: a non-finite loss among the unchecked
        steps before it is raised first (it is the earlier cause)."""
        if self.window:
            _check_finite(torch.stack(self.window).cpu(), self.names, self.epoch, step - len(self.window),
                          self.steps_per_epoch, self.ckpt_path)
        return _diverged(self.epoch, step, self.steps_per_epoch, self.names, self.last_row, self.ckpt_path)


def _check_finite(rows: torch.Tensor, names: list[str], epoch: int, first_step: int, steps_per_epoch: int,
                  ckpt_path: Path) -> None:
    """Raise :class:`NonFiniteLossError` at the first step whose total or a term is NaN/inf."""
    bad = ~torch.isfinite(rows[:, :-1])
    if not bad.any():
        return
    i = int(bad.any(1).nonzero()[0, 0])
    cols = bad[i].nonzero().flatten().tolist()
    labels = ["total"] + names
    culprits = [labels[c] for c in cols if c > 0] or ["total"]
    step = first_step + i
    values = ", ".join(f"{labels[c]}={float(rows[i, c])}" for c in cols)
    kept = (f"the last good checkpoint {ckpt_path} is kept" if ckpt_path.exists()
            else "no checkpoint had been written yet")
    raise NonFiniteLossError(
        f"non-finite loss at epoch {epoch + 1}, step {step + 1}/{steps_per_epoch} "
        f"(global step {epoch * steps_per_epoch + step + 1}): loss term {culprits[0]!r} ({values}); {kept}. "
        "Lower the lr or that term's weight.")


def _diverged(epoch: int, step: int, steps_per_epoch: int, names: list[str] | None,
              last_row: torch.Tensor | None, ckpt_path: Path, what: str = "network output h") -> NonFiniteLossError:
    """The error for a network output ``h`` (or weights) that became NaN/inf (an update blew the weights up)."""
    last = ""
    if last_row is not None and names is not None:
        row = last_row.cpu().tolist()
        last = "; the previous step's loss terms were " + ", ".join(
            f"{k}={v:.4g}" for k, v in zip(["total"] + names, row[:-1]))
    kept = (f"the last good checkpoint {ckpt_path} is kept" if ckpt_path.exists()
            else "no checkpoint had been written yet")
    return NonFiniteLossError(
        f"non-finite {what} at epoch {epoch + 1}, step {step + 1}/{steps_per_epoch} "
        f"(global step {epoch * steps_per_epoch + step + 1}): an update made the weights diverge{last}; "
        f"{kept}. Lower the lr or the loss weights.")


def _progress_bar(total: int, desc: str, enabled: bool):
    if not enabled or total <= 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)
