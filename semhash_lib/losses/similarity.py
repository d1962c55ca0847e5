"""The paper's similarity loss: relative hash-code distances matched to the target (semantic) distances.

Paper (Arponen & Bishop 2020, abstract): a loss "encouraging the relative hash code distances of learned
features to match those derived from their targets". Its exact form is unknown: **reconstruction**
(``docs/paper.md`` §4.3), selected by ``form=`` ("relative" = §4.3 A, "softmax" = §4.3 B), ``p=`` and
``code_distance=``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._checks import validate_batch
from .pairwise import off_diagonal_mask, off_diagonal_mean

__all__ = ["similarity_loss", "code_distances", "CODE_DISTANCES", "SIMILARITY_FORMS"]

CODE_DISTANCES = ("hamming_relaxed", "cosine", "l2")
SIMILARITY_FORMS = ("relative", "softmax")


def code_distances(h: torch.Tensor, kind: str = "hamming_relaxed", eps: float = 1e-8) -> torch.Tensor:
    r"""Pairwise code-space distances d_h(h_i, h_j), a (B, B) matrix.

    - ``"hamming_relaxed"``: :math:`\tfrac12(K - h_i^\top h_j)`; equals the Hamming distance for ±1 codes
      (non-negative for |h| <= 1, e.g. tanh outputs; use "cosine" or "l2" for unbounded outputs);
    - ``"cosine"``: :math:`\tfrac12(1 - \cos(h_i, h_j))` in [0, 1] (norms clamped at ``eps``);
    - ``"l2"``: :math:`\|h_i - h_j\|_2` (exact differences, no matrix-product shortcut).
    """
    if kind == "hamming_relaxed":
        return 0.5 * (h.shape[1] - h @ h.T)
    if kind == "cosine":
        u = F.normalize(h, dim=1, eps=eps)
        return 0.5 * (1.0 - u @ u.T)
    if kind == "l2":
        return torch.cdist(h, h, compute_mode="donot_use_mm_for_euclid_dist")
    raise ValueError(f"unknown code_distance {kind!r}; choose one of {', '.join(CODE_DISTANCES)}")


def _relative(m: torch.Tensor, eps: float) -> torch.Tensor:
    """``m / mean_{i != j} m``; where that mean is <= eps (all entries ~0) every entry becomes 1."""
    mean = off_diagonal_mean(m)
    return torch.where(mean > eps, m / mean.clamp_min(eps), torch.ones_like(m))


def similarity_loss(h: torch.Tensor, target_distance: torch.Tensor, form: str = "relative", p: float = 1,
                    code_distance: str = "hamming_relaxed", tau_target: float = 0.1, tau_code: float = 0.1,
                    eps: float = 1e-8) -> torch.Tensor:
    r"""Match the batch's relative code distances to its relative target distances.

    Both matrices are first made scale-free by their batch mean over i != j:
    :math:`\tilde d_{ij} = d_h(h_i,h_j)/\langle d_h\rangle`, :math:`\tilde T_{ij} = T_{ij}/\langle T\rangle`.

    - ``form="relative"`` (docs/paper.md §4.3 A, default):
      :math:`\mathcal L = \frac{1}{B(B-1)}\sum_{i\ne j}|\tilde d_{ij} - \tilde T_{ij}|^p`.
      Zero exactly when the code distances are a positive multiple of the target distances;
      invariant to rescaling either matrix.
    - ``form="softmax"`` (§4.3 B): per anchor i, distributions over j != i,
      :math:`q_{ij} = \mathrm{softmax}_j(-\tilde T_{ij}/\tau_T)`,
      :math:`p_{ij} = \mathrm{softmax}_j(-\tilde d_{ij}/\tau_h)`,
      and :math:`\mathcal L = \frac1B\sum_i \mathrm{KL}(q_i\|p_i) = \frac1B\sum_i[\mathrm{CE}(q_i,p_i) - H(q_i)]`
      (the cross-entropy of §4.3 B minus the target entropy, a constant without gradient, so that the
      loss is 0 at a perfect match). ``tau_target``/``tau_code`` act on the mean-normalised distances.

    ``target_distance`` T (B, B) is in [0, 1] with 0 on the diagonal (``semhash_lib.targets.pairwise_targets``).
    When all off-diagonal targets are 0 (the whole batch one class) their relative form is undefined; it is
    then taken as all ones, so the loss asks for equal code distances (the c -> 0 limit of T = c).
    Raises ``ValueError`` for B < 2, a T of the wrong size, NaN/inf inputs, unknown ``form`` or
    ``code_distance``, or p <= 0.
    """
    validate_batch(h, min_batch=2, target_distance=target_distance)
    return _similarity(h, target_distance, form, p, code_distance, tau_target, tau_code, eps)


def _similarity(h: torch.Tensor, target_distance: torch.Tensor, form: str = "relative", p: float = 1,
                code_distance: str = "hamming_relaxed", tau_target: float = 0.1, tau_code: float = 0.1,
                eps: float = 1e-8) -> torch.Tensor:
    """:func:`similarity_loss` on already validated ``h`` and ``target_distance`` (no device read)."""
    if form not in SIMILARITY_FORMS:
        raise ValueError(f"unknown similarity form {form!r}; choose one of {', '.join(SIMILARITY_FORMS)}")
    if code_distance not in CODE_DISTANCES:
        raise ValueError(f"unknown code_distance {code_distance!r}; choose one of {', '.join(CODE_DISTANCES)}")
    if not p > 0:
        raise ValueError(f"p must be > 0, got {p}")
    if form == "softmax" and not (tau_target > 0 and tau_code > 0):
        raise ValueError(f"tau_target and tau_code must be > 0, got {tau_target}, {tau_code}")
    b = h.shape[0]
    target = target_distance.to(h.dtype)

    d_rel = _relative(code_distances(h, code_distance, eps=eps), eps)
    t_rel = _relative(target, eps)
    off = off_diagonal_mask(b, h.device)
    if form == "relative":
        diff = (d_rel - t_rel).abs()
        return off_diagonal_mean(diff if p == 1 else diff.pow(p))
    neg_inf = torch.finfo(h.dtype).min
    log_q = F.log_softmax((-t_rel / tau_target).masked_fill(~off, neg_inf), dim=1)
    log_p = F.log_softmax((-d_rel / tau_code).masked_fill(~off, neg_inf), dim=1)
    kl = torch.where(off, log_q.exp() * (log_q - log_p), torch.zeros_like(log_q))
    return kl.sum(dim=1).mean()
