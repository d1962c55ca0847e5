"""Input validation shared by the losses: shapes, finiteness, label ranges, with errors that say what to do.

Finiteness checks read one boolean back from the device (one synchronisation per call on CUDA).
"""

from __future__ import annotations

import torch

__all__ = ["check_codes", "check_target_distance", "check_labels", "check_logits", "check_finite"]


def check_finite(name: str, *tensors: torch.Tensor | None) -> None:
    """Raise ``ValueError`` when any of ``tensors`` holds NaN or +-inf (``None`` entries are skipped)."""
    present = [t for t in tensors if t is not None]
    if not present:
        return
    ok = torch.stack([torch.isfinite(t).all() for t in present]).all()
    if not bool(ok):
        raise ValueError(f"{name} contains NaN or inf values; check the network outputs and targets "
                         "(a diverged model or a corrupt target matrix)")


def check_codes(h: torch.Tensor, min_batch: int = 1, name: str = "h") -> torch.Tensor:
    """``h`` must be a floating (B, K) tensor with B >= ``min_batch``, K >= 1 and finite values."""
    if not isinstance(h, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(h).__name__}")
    if h.ndim != 2:
        raise ValueError(f"{name} must be 2-d (batch, bits), got shape {tuple(h.shape)}")
    if not h.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {h.dtype}")
    if h.shape[0] < min_batch:
        raise ValueError(f"{name} needs at least {min_batch} rows (samples), got {h.shape[0]}")
    if h.shape[1] < 1:
        raise ValueError(f"{name} needs at least one bit (column), got shape {tuple(h.shape)}")
    check_finite(name, h)
    return h


def check_target_distance(target_distance: torch.Tensor, batch: int, name: str = "target_distance") -> torch.Tensor:
    """``target_distance`` must be a finite (B, B) tensor matching the batch of the codes."""
    if not isinstance(target_distance, torch.Tensor):
        raise TypeError(f"{name} must be a (B, B) torch.Tensor (semhash_lib.targets.pairwise_targets), "
                        f"got {type(target_distance).__name__}")
    if target_distance.shape != (batch, batch):
        raise ValueError(f"{name} must be ({batch}, {batch}) to match the batch of codes, got "
                         f"{tuple(target_distance.shape)}; build it from the same batch's labels or embeddings")
    check_finite(name, target_distance)
    return target_distance


def check_labels(labels: torch.Tensor, batch: int, num_classes: int | None = None) -> torch.Tensor:
    """``labels`` must be an integer (B,) tensor, in ``[0, num_classes)`` when ``num_classes`` is given."""
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be an int64 torch.Tensor of shape ({batch},), got {type(labels).__name__}")
    if labels.shape != (batch,):
        raise ValueError(f"labels must have shape ({batch},) to match the batch, got {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be integer class indices, got {labels.dtype}")
    if batch:
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or (num_classes is not None and hi >= num_classes):
            bound = f"[0, {num_classes})" if num_classes is not None else "[0, inf)"
            raise ValueError(f"labels must lie in {bound}, got range [{lo}, {hi}]; pass the number of "
                             "training classes as num_classes")
    return labels


def check_logits(logits: torch.Tensor, batch: int) -> torch.Tensor:
    """``logits`` must be a finite (B, C) floating tensor."""
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != batch:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a ({batch}, C) tensor, got {shape}")
    check_finite("logits", logits)
    return logits
