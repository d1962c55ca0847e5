"""Input validation shared by the losses: shapes, finiteness, label ranges, with errors that say what to do.

:func:`validate_batch` checks everything a loss receives with a single read from the device (one
synchronisation per loss call on CUDA): shape and dtype checks are free, the value checks (NaN/inf,
label range) are stacked into one boolean vector.
"""

from __future__ import annotations

import torch

__all__ = ["validate_batch", "check_finite"]


def check_finite(name: str, *tensors: torch.Tensor | None) -> None:
    """Raise ``ValueError`` when any of ``tensors`` holds NaN or +-inf (``None`` entries are skipped)."""
    present = [t for t in tensors if t is not None]
    if present and not bool(torch.stack([torch.isfinite(t).all() for t in present]).all()):
        raise ValueError(f"{name} contains NaN or inf values; check the network outputs and targets "
                         "(a diverged model or a corrupt target matrix)")


def _check_codes_shape(h, min_batch: int, bits: int | None) -> None:
    if not isinstance(h, torch.Tensor):
        raise TypeError(f"h must be a torch.Tensor, got {type(h).__name__}")
    if h.ndim != 2:
        raise ValueError(f"h must be 2-d (batch, bits), got shape {tuple(h.shape)}")
    if not h.is_floating_point():
        raise TypeError(f"h must be a floating-point tensor, got {h.dtype}")
    if h.shape[0] < min_batch:
        raise ValueError(f"h needs at least {min_batch} rows (samples), got {h.shape[0]}")
    if h.shape[1] < 1:
        raise ValueError(f"h needs at least one bit (column), got shape {tuple(h.shape)}")
    if bits is not None and h.shape[1] != bits:
        raise ValueError(f"h has {h.shape[1]} bits, the loss was built for {bits}")


def validate_batch(h: torch.Tensor, *, min_batch: int = 1, bits: int | None = None,
                   logits: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                   num_classes: int | None = None, target_distance: torch.Tensor | None = None) -> None:
    """Check a loss's inputs; raise ``TypeError``/``ValueError`` naming the first problem found.

    - ``h``: floating (B, K), B >= ``min_batch``, K == ``bits`` when given, finite;
    - ``logits``: (B, C), finite; ``labels``: integer (B,), in [0, C) (C = ``num_classes`` or the
      logits' width), ``target_distance``: (B, B), finite. ``None`` arguments are not checked.
    """
    _check_codes_shape(h, min_batch, bits)
    b = h.shape[0]
    checks: list[tuple[torch.Tensor, str]] = [(torch.isfinite(h).all(), "h contains NaN or inf values; the network "
                                                                       "output diverged (lower the learning rate)")]
    if logits is not None:
        if not isinstance(logits, torch.Tensor) or logits.ndim != 2 or logits.shape[0] != b:
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            raise ValueError(f"logits must be a ({b}, C) tensor, got {shape}")
        checks.append((torch.isfinite(logits).all(), "logits contain NaN or inf values"))
        num_classes = num_classes if num_classes is not None else logits.shape[1]
    if target_distance is not None:
        if not isinstance(target_distance, torch.Tensor):
            raise TypeError("target_distance must be a (B, B) torch.Tensor (semhash_lib.targets.pairwise_targets), "
                            f"got {type(target_distance).__name__}")
        if target_distance.shape != (b, b):
            raise ValueError(f"target_distance must be ({b}, {b}) to match the batch of codes, got "
                             f"{tuple(target_distance.shape)}; build it from the same batch's labels or embeddings")
        checks.append((torch.isfinite(target_distance).all(),
                       "target_distance contains NaN or inf values (a corrupt target matrix?)"))
    if labels is not None:
        if not isinstance(labels, torch.Tensor):
            raise TypeError(f"labels must be an int64 torch.Tensor of shape ({b},), got {type(labels).__name__}")
        if labels.shape != (b,):
            raise ValueError(f"labels must have shape ({b},) to match the batch, got {tuple(labels.shape)}")
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise TypeError(f"labels must be integer class indices, got {labels.dtype}")
        bound = f"[0, {num_classes})" if num_classes is not None else "[0, inf)"
        in_range = (labels >= 0).all() if num_classes is None else ((labels >= 0) & (labels < num_classes)).all()
        checks.append((in_range, f"labels must lie in {bound}; pass the number of training classes as num_classes"))
    ok = torch.stack([c.to(h.device) for c, _ in checks]).tolist()  # the one device read
    for good, (_, message) in zip(ok, checks):
        if not good:
            raise ValueError(message)
