"""The training loop shared by every method (issue 6).

Per step: ``h, logits = model(x)``; ``T = targets.pairwise_targets(labels, S)`` (or of per-sample
embeddings, caption data); ``total, terms = loss(h, logits, labels, T)``; backward; optimizer and
lr-scheduler step. Data order and augmentation draws come from an explicit ``torch.Generator`` seeded
with ``config.seed``, the KL target samples from a second one; both, and every global RNG, are
checkpointed, so an interrupted run resumes bit-identically (same machine, same thread count; on a GPU up
to cuDNN's nondeterministic kernels).

Devices: CUDA when present (mixed precision via ``torch.autocast``: bf16 where supported, else fp16 with a
``GradScaler``; the whole training tensor lives on the GPU and is augmented there; channels-last images),
else CPU with every available core.
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


def _amp_setup(config: TrainConfig, device: torch.device):
    use = bool(config.amp) and device.type == "cuda"
    dtype = torch.bfloat16 if use and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use and dtype == torch.float16)
    return use, dtype, scaler


def train(config: TrainConfig | dict, data=None, progress: bool = True, resume: bool = True,
          on_epoch_end: Callable[[int, dict], None] | None = None,
          on_step: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    """Train ``config.method`` on ``data`` (an ``ExperimentData``; prepared from ``config`` when ``None``).

    Per step: ``h, logits = model(x)``; ``T = targets.pairwise_targets(labels, S)`` (or of the per-sample
    embeddings); ``total, terms = loss(h, logits, labels, T)``; backward; optimizer and lr-scheduler step.
    The loss's ``on_epoch_start(epoch, model)`` runs before every epoch when present.

    Writes ``out_dir/checkpoint.pt`` (atomically, every ``checkpoint_every`` epochs and at the end),
    ``history.csv``/``history.json`` (one row per epoch: mean loss and terms, lr, share of |h| < 0.1,
    seconds, images/s) and ``config.json``. With ``resume=True`` an existing checkpoint of the same
    configuration is continued (a finished run returns at once); a checkpoint of a different
    configuration is an error. ``on_epoch_end(epoch, row)`` / ``on_step(epoch, step, terms)`` are hooks
    (raising from them interrupts the run, as a crash would). A NaN/inf loss raises
    :class:`NonFiniteLossError` naming the epoch, step and term; the last checkpoint stays as it was.
    """
    from .. import methods, targets

    if isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig or dict, got {type(config).__name__}")
    config = config.effective()   # the method's tuned parameters applied
    if data is None:
        from ..experiment import prepare_data
        data = prepare_data(config, progress=progress)
    device = resolve_device(config.device)
    use_cpu_threads(device)
    out_dir = Path(config.out_dir) if config.out_dir else default_out_dir(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / CHECKPOINT_NAME

    spec = methods.get_method(config.method)
    x_all, y_all, S, emb = training_arrays(config, data)
    if spec.needs_labels and y_all is None:
        raise ValueError(f"method {config.method!r} needs class labels; this dataset has only captions")
    n = len(x_all)
    batch = min(config.batch_size, n)
    steps_per_epoch = n // batch  # drop_last: every batch has the same size (B x B targets)

    torch.manual_seed(config.seed)
    np.random.seed(config.seed % 2**32)
    random.seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model = build_model(config, data).to(device)
    channels_last = device.type == "cuda" and config.input == "images"  # faster convolutions under AMP
    if channels_last:  # (cuDNN autotuning: on GPU, resumption is exact up to cuDNN's own nondeterminism)
        model = model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    loss_fn = spec.make_loss(bits=config.bits, num_classes=num_train_classes(config, data) if y_all is not None
                             else None, **config.loss)
    loss_fn = loss_fn.to(device)
    target_gen = torch.Generator().manual_seed(config.seed + 1)
    _give_generator(loss_fn, target_gen)
    optimizer = make_optimizer(model, config)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, steps_per_epoch, config))
    use_amp, amp_dtype, scaler = _amp_setup(config, device)

    history: list[dict] = []
    start_epoch = 0
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        bad = _config_mismatch(json.loads(state["config"]), config)
        if bad:
            raise ValueError(f"{ckpt_path} belongs to a run with different settings ({bad}); use another "
                             "out_dir, or resume=False to start over")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        loss_fn.load_state_dict(state["loss"])
        history, start_epoch = json.loads(state["history"]), int(state["epoch"])
        set_rng_state(state["rng"], gen)
        target_gen.set_state(state["rng"]["targets"])
    with atomic_write(out_dir / "config.json", "w") as f:
        json.dump(config.to_dict(), f, indent=1)

    # Data on the training device once; batches are index gathers (no DataLoader, no workers).
    x_dev = x_all.to(device)
    y_dev = y_all.to(device) if y_all is not None else None
    S_dev = torch.as_tensor(S, dtype=torch.float32).to(device) if S is not None else None
    emb_dev = emb.to(device=device, dtype=torch.float32) if emb is not None else None
    augment = config.augment and config.input == "images"
    check_every = 1 if device.type == "cpu" else 25  # NaN checks sync the GPU: batch them

    def save(epoch: int) -> None:
        save_checkpoint(ckpt_path, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "loss": loss_fn.state_dict(),
            "epoch": epoch, "history": json.dumps(history), "config": json.dumps(config.to_dict()),
            "rng": {**rng_state(gen), "targets": target_gen.get_state()}})

    bar = _progress_bar((config.epochs - start_epoch) * steps_per_epoch, f"{config.method} {config.bits}b", progress)
    for epoch in range(start_epoch, config.epochs):
        model.train()
        if hasattr(loss_fn, "on_epoch_start"):
            loss_fn.on_epoch_start(epoch, model)
        order = torch.randperm(n, generator=gen)
        t0 = time.perf_counter()
        names: list[str] | None = None
        window: list[torch.Tensor] = []
        last_row: torch.Tensor | None = None
        sums: torch.Tensor | None = None
        if bar is not None:
            bar.set_description(f"{config.method} {config.bits}b epoch {epoch + 1}/{config.epochs}", refresh=False)
        for step in range(steps_per_epoch):
            idx = order[step * batch:(step + 1) * batch].to(device)
            xb = x_dev[idx]
            if augment:
                xb = augment_batch(xb, gen)
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            yb = y_dev[idx] if y_dev is not None else None
            with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                h, logits = model(xb)
            h = h.float()
            logits = logits.float() if logits is not None else None
            T = targets.pairwise_targets(emb_dev[idx], None) if emb_dev is not None else \
                targets.pairwise_targets(yb, S_dev)
            try:
                total, terms = loss_fn(h, logits, yb, T)
            except ValueError as err:  # the losses reject non-finite h: name the step that diverged
                if bool(torch.isfinite(h).all()):
                    raise
                first = step - len(window)
                if window:
                    _check_finite(torch.stack(window).cpu(), names, epoch, first, steps_per_epoch, ckpt_path)
                raise _diverged(epoch, step, steps_per_epoch, names, last_row, ckpt_path) from err
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(total).backward()
            if config.grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            if names is None:
                names = list(terms)
            last_row = torch.stack([total.detach().float().reshape(())] +
                                   [torch.as_tensor(terms.get(k, 0.0)).detach().float().reshape(()).to(device)
                                    for k in names] +
                                   [(h.detach().abs() < 0.1).float().mean()])
            window.append(last_row)
            if on_step is not None:
                on_step(epoch, step, terms)
            if len(window) >= check_every or step == steps_per_epoch - 1:
                rows = torch.stack(window).cpu()
                first = step - len(window) + 1
                _check_finite(rows, names, epoch, first, steps_per_epoch, ckpt_path)
                sums = rows.sum(0) if sums is None else sums + rows.sum(0)
                window = []
                if bar is not None:  # the postfix is shown at tqdm's own (rate-limited) refreshes
                    done = step + 1
                    bar.set_postfix({"loss": f"{float(sums[0]) / done:.4f}",
                                     **{k: f"{float(sums[i + 1]) / done:.3f}" for i, k in enumerate(names)},
                                     "img/s": f"{done * batch / (time.perf_counter() - t0):.0f}"}, refresh=False)
                    bar.update(len(rows))
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        means = (sums / steps_per_epoch).tolist()
        row = {"epoch": epoch + 1, "lr": float(scheduler.get_last_lr()[0]), "loss": means[0],
               **{k: means[i + 1] for i, k in enumerate(names)}, "near_zero": means[-1],
               "seconds": seconds, "images": steps_per_epoch * batch,
               "images_per_s": steps_per_epoch * batch / max(seconds, 1e-9)}
        history.append(row)
        if (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs:
            save(epoch + 1)
            write_history(out_dir, history)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)
    if bar is not None:
        bar.close()
    model.eval()
    return TrainResult(model=model, history=history, out_dir=out_dir, config=config)


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
              last_row: torch.Tensor | None, ckpt_path: Path) -> NonFiniteLossError:
    """The error for a network output ``h`` that became NaN/inf (the previous update blew the weights up)."""
    last = ""
    if last_row is not None and names is not None:
        row = last_row.cpu().tolist()
        last = "; the previous step's loss terms were " + ", ".join(
            f"{k}={v:.4g}" for k, v in zip(["total"] + names, row[:-1]))
    kept = (f"the last good checkpoint {ckpt_path} is kept" if ckpt_path.exists()
            else "no checkpoint had been written yet")
    return NonFiniteLossError(
        f"non-finite network output h at epoch {epoch + 1}, step {step + 1}/{steps_per_epoch} "
        f"(global step {epoch * steps_per_epoch + step + 1}): the weights diverged at the previous update{last}; "
        f"{kept}. Lower the lr or the loss weights.")


def _progress_bar(total: int, desc: str, enabled: bool):
    if not enabled or total <= 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True)
