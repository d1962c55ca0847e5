"""``encode``: pre-sign outputs and binary codes of a whole split, batched, without gradients."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..devices import resolve_device

__all__ = ["encode"]


def encode(model: nn.Module, data, batch_size: int = 1024, device: str | torch.device | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """``(h float32 (N, K), codes int8 (N, K) in {-1, +1})`` for a whole split, batched, without gradients.

    ``data``: a tensor / numpy array of inputs (raw images (N, C, H, W) or features (N, D): whatever the
    model was trained on) or a torch ``Dataset`` whose items are ``(input, ...)``. ``codes = sign(h)``
    with 0 -> +1 (:func:`semhash_lib.models.sign_codes`). The model runs in eval mode (its previous mode is
    restored); ``device=None`` uses the model's device.
    """
    from ..models import sign_codes

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if device is None:
        p = next(model.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
    device = resolve_device(device)
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(data)
    was_training = model.training
    model.eval()
    outs: list[torch.Tensor] = []
    try:
        with torch.inference_mode():
            if isinstance(data, torch.Tensor):
                if data.ndim < 2:
                    raise ValueError(f"encode needs a batch of inputs (N, ...), got shape {tuple(data.shape)}")
                for i in range(0, len(data), batch_size):
                    outs.append(model(data[i:i + batch_size].to(device))[0].float().cpu())
            elif isinstance(data, torch.utils.data.Dataset):
                loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False,
                                                     collate_fn=lambda items: torch.stack([it[0] for it in items]))
                for xb in loader:
                    outs.append(model(xb.to(device))[0].float().cpu())
            else:
                raise TypeError(f"encode takes a tensor, numpy array or torch Dataset, got {type(data).__name__}")
    finally:
        model.train(was_training)
    h = torch.cat(outs) if outs else torch.zeros(0, getattr(model, "bits", 0))
    codes = sign_codes(h).to(torch.int8)
    return h.numpy().astype(np.float32, copy=False), codes.numpy()
