"""Differentiable k-nearest-neighbour estimate of KL(P || Q) from samples, and the paper's binary KL term.

Paper (Arponen & Bishop 2020, ``../shared/paper.md`` §4.4): a "differentiable estimate of the KL divergence
between network outputs and a binary target distribution"; keyword "Kozachenko-Leonenko". The estimator is
Wang, Kulkarni & Verdú (IEEE T-IT 55(5), 2009), built on the Kozachenko-Leonenko entropy estimator.
The exact variant the paper uses (k, target samples, symmetrisation, normalisation) is unknown:
**reconstruction**, each choice a named parameter.
"""

from __future__ import annotations

import math

import torch

from ._checks import check_finite, validate_batch

__all__ = ["empirical_kl", "binary_kl_loss", "sample_binary_targets", "KL_TARGETS", "NU_MODES"]

KL_TARGETS = ("uniform_corners", "noisy_corners")
NU_MODES = ("sampled", "nearest_corner")


def _kth_neighbour_distance(dist: torch.Tensor, k: int) -> torch.Tensor:
    """Distance to the k-th nearest neighbour along the last axis (k = 1 is the nearest)."""
    if k == 1:
        return dist.min(dim=-1).values
    return dist.topk(k, dim=-1, largest=False).values[..., k - 1]


def _self_knn_distance(x: torch.Tensor, k: int) -> torch.Tensor:
    """rho_k(i): exact Euclidean distance from x_i to its k-th nearest neighbour among the other x_j."""
    n = x.shape[-2]
    d_xx = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
    return _kth_neighbour_distance(d_xx.masked_fill(torch.eye(n, dtype=torch.bool, device=x.device), float("inf")), k)


def empirical_kl(x: torch.Tensor, y: torch.Tensor, k: int = 1, eps: float = 1e-8) -> torch.Tensor:
    r"""k-NN estimate of KL(P || Q) from samples ``x ~ P`` (n, d) and ``y ~ Q`` (m, d).

    Wang, Kulkarni & Verdú (2009), Eq. (5):

    .. math::
        \hat D(P\|Q) = \frac{d}{n}\sum_{i=1}^{n}\log\frac{\nu_k(i)}{\rho_k(i)} + \log\frac{m}{n-1}

    with :math:`\rho_k(i)` the Euclidean distance from :math:`x_i` to its k-th nearest neighbour in
    :math:`\{x_j\}_{j\ne i}` (self excluded by setting the diagonal to +inf) and :math:`\nu_k(i)` the
    distance from :math:`x_i` to its k-th nearest neighbour in :math:`\{y_j\}`. Consistent for densities
    P, Q on R^d as n, m -> inf.

    Differentiable in ``x`` (and ``y``): the neighbour choice is piecewise constant, gradients flow
    through the selected exact distances (``torch.cdist`` without the matrix-product shortcut, so that
    near-duplicate points keep accurate small distances). ``eps`` is added inside each log
    (``log(nu + eps) - log(rho + eps)``), which bounds the reward for coinciding points. Cost
    O((n + m) n d) time, O(n (n + m)) memory; runs on the inputs' device (CPU or CUDA).

    Leading batch dimensions are supported: ``x`` (..., n, d) and ``y`` (..., m, d) with equal leading
    shapes give an estimate per leading index. Requires n >= k + 1 and m >= k.
    """
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("x and y must be torch tensors of samples, shapes (..., n, d) and (..., m, d)")
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"x and y must be at least 2-d (samples, dims), got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[:-2] != y.shape[:-2] or x.shape[-1] != y.shape[-1]:
        raise ValueError(f"x {tuple(x.shape)} and y {tuple(y.shape)} must share leading dimensions and the "
                         "sample dimension d")
    if not x.is_floating_point() or not y.is_floating_point():
        raise TypeError(f"x and y must be floating point, got {x.dtype} and {y.dtype}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    n, m, d = x.shape[-2], y.shape[-2], x.shape[-1]
    if n < k + 1 or m < k:
        raise ValueError(f"the k={k} estimator needs n >= k + 1 samples of P and m >= k of Q, got n={n}, m={m}")
    check_finite("empirical_kl input", x, y)
    return _knn_kl(x, y.to(x.dtype), k, eps)


def _knn_kl(x: torch.Tensor, y: torch.Tensor, k: int, eps: float) -> torch.Tensor:
    """The estimator of :func:`empirical_kl` on already validated inputs."""
    n, m, d = x.shape[-2], y.shape[-2], x.shape[-1]
    rho = _self_knn_distance(x, k)
    nu = _kth_neighbour_distance(torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist"), k)
    log_ratio = torch.log(nu + eps) - torch.log(rho + eps)
    return d * log_ratio.mean(dim=-1) + math.log(m / (n - 1))


def sample_binary_targets(m: int, bits: int, target: str = "uniform_corners", noise_std: float = 0.1,
                          generator: torch.Generator | None = None, device=None,
                          dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``m`` i.i.d. samples of the binary target distribution Q on R^bits.

    - ``"uniform_corners"``: t uniform on {-1, +1}^K (independent fair bits);
    - ``"noisy_corners"``: the same plus N(0, noise_std^2) noise per coordinate (a density, so that the
      KL of Wang et al. is finite; reconstruction option).

    Drawn on ``generator``'s device when a generator is given (then moved to ``device``), else on ``device``.
    """
    if target not in KL_TARGETS:
        raise ValueError(f"unknown KL target {target!r}; choose one of {', '.join(KL_TARGETS)}")
    draw_on = generator.device if generator is not None else device
    t = torch.randint(0, 2, (m, bits), generator=generator, device=draw_on).to(dtype) * 2 - 1
    if target == "noisy_corners":
        if not noise_std > 0:
            raise ValueError(f"noise_std must be > 0 for 'noisy_corners', got {noise_std}")
        t = t + noise_std * torch.randn(m, bits, generator=generator, device=draw_on, dtype=dtype)
    return t.to(device) if device is not None else t


def binary_kl_loss(h: torch.Tensor, k: int = 1, num_target_samples: int | None = None, per_bit: bool = True,
                   generator: torch.Generator | None = None, target: str = "uniform_corners",
                   noise_std: float = 0.1, symmetric: bool = False, eps: float = 1e-8,
                   nu: str = "sampled") -> torch.Tensor:
    r"""The paper's KL term: :func:`empirical_kl` from the batch of codes ``h`` (n, K) to binary targets.

    .. math::
        \mathcal L_{KL} = \tfrac{1}{K}\,\hat D\big(P_h \,\|\, Q\big),\qquad t_1..t_m \sim Q

    with Q the uniform distribution on the corners {-1, +1}^K (``target="uniform_corners"``), the targets
    drawn fresh at every call, m = ``num_target_samples`` (default n). Minimising it pulls every h_i
    toward its nearest corner (the nu term: binarisation) and pushes the h_i apart (the -rho term:
    spread, hence balanced, decorrelated bits). Reconstruction (paper.md §4.4): ``k``, ``target``
    (``"noisy_corners"``: corners plus N(0, ``noise_std``^2)), ``symmetric`` (adds
    :math:`\hat D(Q\|P_h)`; with exact corners and m >> 2^K duplicate targets make its rho term a large
    constant without gradient, so prefer ``"noisy_corners"`` there), ``per_bit`` (divide by K so the
    weight does not scale with the code length, since the estimator carries a factor d = K).
    Note: for exact corners Q has no density and KL(P||Q) is infinite; the estimate is a finite,
    decreasing function of the distance to the corners, which is what the loss uses.

    ``nu="nearest_corner"`` (reconstruction option) replaces the sampled nu_k(i) by its m -> inf limit
    for uniform corners, the distance to the nearest corner ``||h_i - sign(h_i)||`` (every corner then
    holds infinitely many samples, so this holds for any k), and drops the diverging constant
    log(m / (n - 1)) (no gradient). Why it matters: with K >= ~16 bits and m ~ n samples of 2^K corners,
    the nearest *sampled* corner differs from sign(h_i) in many bits, so the sampled nu term also pulls
    those bits toward 0; the limit pulls every bit toward its own sign. No targets are drawn (``target``
    must be "uniform_corners"; not combinable with ``symmetric``).
    """
    validate_batch(h, min_batch=k + 1 if isinstance(k, int) else 2)
    return _binary_kl(h, k, num_target_samples, per_bit, generator, target, noise_std, symmetric, eps, nu)


def _binary_kl(h: torch.Tensor, k: int = 1, num_target_samples: int | None = None, per_bit: bool = True,
               generator: torch.Generator | None = None, target: str = "uniform_corners", noise_std: float = 0.1,
               symmetric: bool = False, eps: float = 1e-8, nu: str = "sampled") -> torch.Tensor:
    """:func:`binary_kl_loss` on an already validated ``h`` (no device read)."""
    if nu not in NU_MODES:
        raise ValueError(f"unknown nu mode {nu!r}; choose one of {', '.join(NU_MODES)}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    n, bits = h.shape
    if n < k + 1:
        raise ValueError(f"the k={k} estimator needs a batch of at least k + 1 = {k + 1} codes, got {n}")
    if nu == "nearest_corner":
        if target != "uniform_corners" or symmetric:
            raise ValueError("nu='nearest_corner' is the m -> inf limit for target='uniform_corners' and "
                             "symmetric=False only")
        rho = _self_knn_distance(h, k)
        nu_dist = (h - torch.where(h >= 0, 1.0, -1.0).to(h.dtype)).norm(dim=1)
        loss = bits * (torch.log(nu_dist + eps) - torch.log(rho + eps)).mean()
        return loss / bits if per_bit else loss
    m = n if num_target_samples is None else int(num_target_samples)
    if m < k + (1 if symmetric else 0):
        raise ValueError(f"num_target_samples must be >= {k + (1 if symmetric else 0)} for k={k}, got {m}")
    t = sample_binary_targets(m, bits, target=target, noise_std=noise_std, generator=generator,
                              device=h.device, dtype=h.dtype)
    loss = _knn_kl(h, t, k, eps)
    if symmetric:
        loss = loss + _knn_kl(t, h, k, eps)
    return loss / bits if per_bit else loss
