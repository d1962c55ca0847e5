"""Per-batch target distance matrices T (B x B) for the similarity loss (paper §3)."""

from __future__ import annotations

import numpy as np
import torch

from .sentence_similarity import cosine_to_similarity

__all__ = ["pairwise_targets"]


def pairwise_targets(x: torch.Tensor, class_similarity=None, mapping: str = "linear") -> torch.Tensor:
    """The B x B target **distance** ``T = 1 − S`` of a batch, on ``x``'s device.

    - ``x`` int64 labels (B,) with ``class_similarity`` (C x C, numpy or torch): ``T[i, j] = 1 − S[y_i, y_j]``
      (index lookup);
    - ``x`` float embeddings (B, D): ``T = 1 − map(cos(e_i, e_j))`` with the sentence mapping ``mapping``
      (per-sample targets, e.g. captions).
    """
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    if x.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
        if class_similarity is None:
            raise ValueError("integer labels need class_similarity (a C x C matrix)")
        S = torch.as_tensor(class_similarity, dtype=torch.float32, device=x.device)
        if S.ndim != 2 or S.shape[0] != S.shape[1]:
            raise ValueError(f"class_similarity must be square (C x C), got shape {tuple(S.shape)}")
        if x.ndim != 1:
            raise ValueError(f"labels must be 1-D (B,), got shape {tuple(x.shape)}")
        if len(x) and (int(x.min()) < 0 or int(x.max()) >= S.shape[0]):
            raise ValueError(f"labels must lie in [0, {S.shape[0] - 1}] (the similarity matrix has {S.shape[0]} "
                             f"classes), got range [{int(x.min())}, {int(x.max())}]")
        x = x.long()
        return 1.0 - S[x[:, None], x[None, :]]
    if x.is_floating_point():
        if x.ndim != 2:
            raise ValueError(f"embeddings must be 2-D (B, D), got shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError("embeddings contain NaN or inf")
        e = torch.nn.functional.normalize(x.float(), dim=1)
        T = 1.0 - cosine_to_similarity((e @ e.T).clamp(-1.0, 1.0), mapping)
        T.fill_diagonal_(0.0)
        return T
    raise TypeError(f"pairwise_targets takes int labels or float embeddings, got dtype {x.dtype}")
