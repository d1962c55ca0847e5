"""The free-output toy: minimise a loss over a batch of free code vectors, no network, and read off the codes.

This is the experiment that chooses the default of :func:`semhash_lib.losses.binary_kl_loss`
(``docs/reconstruction.md``, "The KL term at many bits"): n = 256 outputs h ~ 0.3 N(0, 1) in R^K,
Adam (lr 0.02) for 300 steps on the KL term alone, then

- quantization error mean(| |h| - 1 |) (0 when every output is +-1),
- share of outputs with |h| < 0.1 (undecided bits),
- the worst bit's sign balance max_b |mean_i sign(h_ib)| (0 for perfectly balanced bits),
- the mean and max |Pearson correlation| between the sign bits of two different positions
  (chance level for n independent fair bits: E|r| ~ sqrt(2 / pi) / sqrt(n) ~ 0.05 at n = 256).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

__all__ = ["optimise_free_outputs", "binarization_statistics", "chance_correlation"]


def optimise_free_outputs(loss_fn: Callable[[torch.Tensor], torch.Tensor], bits: int, n: int = 256,
                          steps: int = 300, lr: float = 0.02, init_scale: float = 0.3, seed: int = 0,
                          init: torch.Tensor | None = None) -> torch.Tensor:
    """Minimise ``loss_fn(h)`` over free outputs h (n, bits), h_0 ~ ``init_scale`` * N(0, 1) drawn with
    ``seed`` (or ``init``), with Adam(``lr``) for ``steps`` steps; the global torch RNG (the loss's target
    draws) is seeded with ``seed`` too. Returns the final h (detached)."""
    if steps < 0 or n < 2 or bits < 1:
        raise ValueError(f"need steps >= 0, n >= 2, bits >= 1; got steps={steps}, n={n}, bits={bits}")
    gen = torch.Generator().manual_seed(seed)
    h0 = init_scale * torch.randn(n, bits, generator=gen) if init is None else init.detach().clone().float()
    h = h0.requires_grad_(True)
    opt = torch.optim.Adam([h], lr=lr)
    torch.manual_seed(seed)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(h).backward()
        opt.step()
    return h.detach()


def chance_correlation(n: int) -> float:
    """Expected |r| of two independent fair sign vectors of length n (normal approximation): sqrt(2/(pi n))."""
    return float(np.sqrt(2.0 / (np.pi * n)))


def binarization_statistics(h: torch.Tensor | np.ndarray, near: float = 0.1) -> dict[str, float]:
    """``quant_error``, ``near_zero``, ``max_sign_balance``, ``mean_abs_corr`` and ``max_abs_corr`` of codes
    h (n, K) as defined in the module docstring (sign(0) = +1, as :func:`semhash_lib.models.sign_codes`)."""
    h = torch.as_tensor(h, dtype=torch.float64)
    if h.ndim != 2 or h.shape[0] < 2:
        raise ValueError(f"h must be (n >= 2, K), got {tuple(h.shape)}")
    s = torch.where(h >= 0, 1.0, -1.0).to(torch.float64)
    out = {"quant_error": float((h.abs() - 1).abs().mean()), "near_zero": float((h.abs() < near).double().mean()),
           "max_sign_balance": float(s.mean(0).abs().max())}
    K = h.shape[1]
    if K >= 2:
        c = s - s.mean(0)
        std = c.pow(2).mean(0).sqrt()
        ok = std > 0                                       # a constant bit has no correlation
        cs = c[:, ok] / std[ok]
        r = (cs.T @ cs) / h.shape[0]
        off = r[~torch.eye(r.shape[0], dtype=torch.bool)].abs()
        out.update(mean_abs_corr=float(off.mean()) if off.numel() else 0.0,
                   max_abs_corr=float(off.max()) if off.numel() else 0.0)
    return out
