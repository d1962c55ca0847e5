"""Differentiable k-nearest-neighbour estimate of KL(P || Q) from samples, and the paper's binary KL term.

Paper (Arponen & Bishop 2020, ``docs/paper.md`` §4.4): a "differentiable estimate of the KL divergence
between network outputs and a binary target distribution"; keyword "Kozachenko-Leonenko". The estimator is
Wang, Kulkarni & Verdú (IEEE T-IT 55(5), 2009), built on the Kozachenko-Leonenko entropy estimator.
The exact variant the paper uses (k, target samples, symmetrisation, normalisation) is unknown:
**reconstruction**, each choice a named parameter.
"""

from __future__ import annotations

import math

import torch

from ._checks import check_finite, validate_batch

__all__ = ["empirical_kl", "binary_kl_loss", "sample_binary_targets", "kl_entropy", "mixture_cross_entropy",
           "KL_TARGETS", "NU_MODES"]

KL_TARGETS = ("uniform_corners", "noisy_corners")
NU_MODES = ("nearest_corner", "sampled", "grouped", "mixture", "spread")


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


def _log_unit_ball_volume(d: int) -> float:
    """log V_d, the volume of the unit Euclidean ball in R^d: (d/2) log pi - log Gamma(d/2 + 1)."""
    return 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1)


def kl_entropy(x: torch.Tensor, k: int = 1, eps: float = 1e-8) -> torch.Tensor:
    r"""Kozachenko-Leonenko k-NN estimate of the differential entropy H(P) (nats) from samples ``x`` (n, d).

    Kozachenko & Leonenko (1987); Kraskov, Stögbauer & Grassberger (PRE 69, 2004), Eq. (20):

    .. math::
        \hat H(P) = \psi(n) - \psi(k) + \log V_d + rac{d}{n}\sum_{i=1}^{n}\log
ho_k(i)

    with :math:`
ho_k(i)` the distance from :math:`x_i` to its k-th nearest neighbour among the other
    samples and :math:`V_d` the volume of the unit ball. Differentiable in ``x`` through the selected
    distances. Requires n >= k + 1.
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or not x.is_floating_point():
        raise ValueError(f"x must be a 2-d floating tensor (samples, dims), got {getattr(x, 'shape', x)!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1 or x.shape[0] < k + 1:
        raise ValueError(f"k must be a positive int with n >= k + 1 samples, got k={k!r}, n={x.shape[0]}")
    check_finite("kl_entropy input", x)
    return _kl_entropy(x, k, eps)


def _kl_entropy(x: torch.Tensor, k: int, eps: float) -> torch.Tensor:
    n, d = x.shape
    rho = _self_knn_distance(x, k)
    const = float(torch.special.digamma(torch.tensor(float(n))) - torch.special.digamma(torch.tensor(float(k))))
    return d * torch.log(rho + eps).mean() + const + _log_unit_ball_volume(d)


def mixture_cross_entropy(x: torch.Tensor, sigma: float = 0.25) -> torch.Tensor:
    r"""Exact cross-entropy H(P, Q) = -E_P log q(x) (nats, summed over dimensions, averaged over samples) of
    the product target density Q = prod_b [ N(x_b; +1, sigma^2) / 2 + N(x_b; -1, sigma^2) / 2 ]:

    .. math::
        -\log q(x) = \sum_b \Big[rac{x_b^2 + 1}{2\sigma^2} - \log\coshrac{x_b}{\sigma^2}
                     + \logig(\sigma\sqrt{2\pi}ig)\Big]

    (the two Gaussians' exponents share (x^2 + 1) / (2 sigma^2); their sum is 2 cosh(x / sigma^2) times the
    rest). Gradient per coordinate (x_b - tanh(x_b / sigma^2)) / sigma^2: zero at the modes x = +-1 (to
    within e^{-2/sigma^2}), a pull toward the nearest mode proportional to the distance near it, and a
    restoring force beyond it, so unbounded outputs are held at the corners' scale.
    """
    if not (isinstance(sigma, (int, float)) and not isinstance(sigma, bool) and sigma > 0):
        raise ValueError(f"sigma must be a number > 0 (the width of the target's Gaussians), got {sigma!r}")
    s2 = float(sigma) ** 2
    z = (x / s2).abs()
    log_cosh = z + torch.log1p(torch.exp(-2 * z)) - math.log(2.0)
    per_coord = (x * x + 1) / (2 * s2) - log_cosh + math.log(float(sigma) * math.sqrt(2 * math.pi))
    return per_coord.sum(dim=-1).mean()


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
                   nu: str = "mixture", group_bits: int = 3, sigma: float = 0.25) -> torch.Tensor:
    r"""The paper's KL term: a k-NN estimate of KL(P_h || Q) from the batch of codes ``h`` (n, K) to Q, the
    uniform distribution on the corners {-1, +1}^K, divided by K (``per_bit``).

    Five variants (``nu``; reconstruction, see ``docs/reconstruction.md``):

    - ``"nearest_corner"``: the m -> inf limit of :func:`empirical_kl` for uniform corners,

      .. math::
          \mathcal L_{KL} = \frac1K\cdot\frac{K}{n}\sum_i \log\frac{\|h_i - \mathrm{sign}(h_i)\|}{\rho_k(i)}

      With infinitely many target samples every corner holds infinitely many of them, so the k-th nearest
      target of h_i is its own corner sign(h_i) for every k; the constant log(m / (n - 1)) diverges and has
      no gradient, so it is dropped. The nu term pulls every bit toward its own sign (binarisation), the
      rho term (k-th neighbour among the other codes, in all K dimensions) pushes codes apart (spread).
      Right at every code length, because it never depends on how many of the 2^K corners were sampled.
    - ``"sampled"``: :func:`empirical_kl` against m = ``num_target_samples`` (default n) corners drawn
      fresh at every call (``target``, ``noise_std``, ``symmetric`` apply). Consistent only when m >> 2^K:
      with K >= ~16 bits and m ~ n the nearest *sampled* corner disagrees with sign(h_i) in many bits, and
      its gradient pulls those bits toward 0 instead of toward +-1 (measured: quantization error 0.53 /
      0.62 / 0.65 at 16 / 32 / 64 bits on the free-output toy of ``docs/reconstruction.md``, against
      0.005 / 0.003 / 0.001 for ``"nearest_corner"``).
    - ``"grouped"``: the bits are split into random groups of ``group_bits`` = g (a fresh random partition
      at every call; the last group may be smaller), and the estimate is the mean over groups of
      :func:`empirical_kl` between the g-dimensional projection of the batch and m = 4n fresh samples of
      the g-bit corners (2^g << m, so the target side is sampled well); the loss is the **sum** of the group
      estimates divided by K (``per_bit``), i.e. the mean per bit, not the mean over groups:

      .. math::
          \mathcal L_{KL} = \frac1K\sum_{G} \hat D\big(P_{h_G}\,\|\,Q_G\big)

      For a product target Q, KL(P||Q) = sum_G KL(P_G||Q_G) + (dependence between groups) >= the sum of
      the group marginals, so this is a lower bound that a fresh partition every step moves over all bit
      groups. With n >> 2^g many codes share a corner of the group; with k = 1 the estimator is then
      scale-invariant inside a corner's cloud (nu and rho shrink together) and does not binarise. Its
      default k is therefore the expected number of codes per corner, k = max(1, n // 2^g) (``k`` given
      explicitly > 1 is used as given): rho_k reaches into the next corner while nu_k stays inside the
      own corner's m / 2^g targets. Cost: ceil(K/g) estimates of n x 5n distances per call.
    - ``"mixture"`` (**default**): the decomposition KL(P||Q) = -H(P) + H(P, Q) with a *known* target density, so that only
      the entropy of the batch is estimated from samples (:func:`kl_entropy`, the rho_k term) and the
      cross-entropy is computed exactly (:func:`mixture_cross_entropy`): Q per bit the mixture
      N(+1, ``sigma``^2) / 2 + N(-1, ``sigma``^2) / 2,

      .. math::
          \mathcal L_{KL} = \frac1K\Big[-\hat H_{KL}(P_h) + \frac1n\sum_i -\log q(h_i)\Big]

      Unlike ``"nearest_corner"`` (whose log ||h - sign h|| pulls *harder* as h nears its corner, so through
      tanh its gradient grows as codes saturate while every other term's fades), the cross-entropy's pull
      (h - tanh(h / sigma^2)) / sigma^2 vanishes at the corners, and beyond them it pulls back, so it also
      binds the scale of unbounded (linear) outputs. A smoothed-uniform target ((1 - a) sign(u) + a u) has a
      density that is flat inside its support and zero outside: its cross-entropy has no gradient inside and
      is infinite outside, hence the Gaussian mixture. Q has a density, so the estimate is a real KL (nats
      per bit, constants included: psi(n) - psi(k) + log V_K). The default because it ranks first on the
      validation split of the KL ablation among the variants that pass the free-output binarisation test
      (``docs/reconstruction.md``, "The KL ablation"; ``"sampled"`` ranks higher there but does not
      binarise at >= 16 bits).
    - ``"spread"``: the entropy part alone, -H_KL(P_h) / K (the rho_k term of every variant): a control that
      spreads the codes without pulling them to the corners.

    ``k`` of the rho_k term: with k = 1 the spread term repels each code's nearest neighbour, usually a
    code of its own class that the similarity loss wants identical; a k larger than the number of its
    class-mates in the batch reaches past them (``semhash_lib.ablation.k_past_own_class`` measures it).

    Minimising the estimate pulls every h_i toward a corner and pushes the codes apart (hence balanced,
    decorrelated bits). For exact corners Q has no density and KL(P||Q) is infinite; every variant is a
    finite, decreasing function of the distance to the corners, which is what the loss uses.
    ``symmetric`` (``"sampled"`` only) adds :math:`\hat D(Q\|P_h)`; ``target="noisy_corners"`` (corners
    plus N(0, ``noise_std``^2), a density) applies to ``"sampled"`` and ``"grouped"``. Estimator:
    Wang, Kulkarni & Verdu (2009), Eq. (5).
    """
    validate_batch(h, min_batch=k + 1 if isinstance(k, int) else 2)
    return _binary_kl(h, k, num_target_samples, per_bit, generator, target, noise_std, symmetric, eps, nu,
                      group_bits, sigma)


def _nearest_corner_kl(h: torch.Tensor, k: int, eps: float) -> torch.Tensor:
    """K/n sum_i log(||h_i - sign h_i|| / rho_k(i)) (the m -> inf limit, constant dropped)."""
    rho = _self_knn_distance(h, k)
    nu_dist = (h - torch.where(h >= 0, 1.0, -1.0).to(h.dtype)).norm(dim=1)
    return h.shape[1] * (torch.log(nu_dist + eps) - torch.log(rho + eps)).mean()


def _grouped_kl(h: torch.Tensor, k: int | None, group_bits: int, m: int | None, target: str, noise_std: float,
                generator: torch.Generator | None, eps: float) -> torch.Tensor:
    """Sum over a random partition of the bits into groups of ``group_bits`` of the g-dim k-NN KL estimate.

    The groups are computed in one batched call: the last group is padded with zero columns in both the
    codes and the targets, which leaves every distance unchanged; each group's estimate carries its own
    dimension d_G."""
    n, bits = h.shape
    g = min(group_bits, bits)
    n_groups = math.ceil(bits / g)
    m = 4 * n if m is None else m
    k = max(1, n // 2 ** g) if k is None else k
    k = min(k, n - 1, m)
    draw_on = generator.device if generator is not None else h.device
    perm = torch.randperm(bits, generator=generator, device=draw_on).to(h.device)
    pad = n_groups * g - bits
    hg = torch.cat([h[:, perm], h.new_zeros(n, pad)], dim=1).reshape(n, n_groups, g).transpose(0, 1)
    t = sample_binary_targets(n_groups * m, g, target=target, noise_std=noise_std, generator=generator,
                              device=h.device, dtype=h.dtype).reshape(n_groups, m, g)
    dims = torch.full((n_groups,), float(g), dtype=h.dtype, device=h.device)
    if pad:
        t[-1, :, g - pad:] = 0.0
        dims[-1] = g - pad
    rho = _self_knn_distance(hg, k)
    nu_dist = _kth_neighbour_distance(torch.cdist(hg, t, compute_mode="donot_use_mm_for_euclid_dist"), k)
    log_ratio = (torch.log(nu_dist + eps) - torch.log(rho + eps)).mean(dim=-1)
    return (dims * log_ratio).sum() + n_groups * math.log(m / (n - 1))


def _binary_kl(h: torch.Tensor, k: int = 1, num_target_samples: int | None = None, per_bit: bool = True,
               generator: torch.Generator | None = None, target: str = "uniform_corners", noise_std: float = 0.1,
               symmetric: bool = False, eps: float = 1e-8, nu: str = "mixture",
               group_bits: int = 3, sigma: float = 0.25) -> torch.Tensor:
    """:func:`binary_kl_loss` on an already validated ``h`` (no device read)."""
    if nu not in NU_MODES:
        raise ValueError(f"unknown nu mode {nu!r}; choose one of {', '.join(NU_MODES)}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    n, bits = h.shape
    if n < k + 1:
        raise ValueError(f"the k={k} estimator needs a batch of at least k + 1 = {k + 1} codes, got {n}")
    if nu in ("mixture", "spread"):
        if symmetric or target != "uniform_corners":
            raise ValueError(f"nu={nu!r} uses its own target density (mixture of N(+-1, sigma^2)); target and "
                             "symmetric apply to nu='sampled' (or 'grouped'): pass nu='sampled'")
        loss = -_kl_entropy(h, k, eps)
        if nu == "mixture":
            loss = loss + mixture_cross_entropy(h, sigma)
        return loss / bits if per_bit else loss
    if nu == "nearest_corner":
        if target != "uniform_corners" or symmetric:
            raise ValueError("nu='nearest_corner' is the m -> inf limit for target='uniform_corners' and "
                             "symmetric=False only; pass nu='sampled' for noisy corners or the symmetric estimate")
        loss = _nearest_corner_kl(h, k, eps)
        return loss / bits if per_bit else loss
    if nu == "grouped":
        if symmetric:
            raise ValueError("nu='grouped' does not support symmetric=True; use nu='sampled'")
        if isinstance(group_bits, bool) or not isinstance(group_bits, int) or group_bits < 1:
            raise ValueError(f"group_bits must be a positive int, got {group_bits!r}")
        m = None if num_target_samples is None else int(num_target_samples)
        if m is not None and m < k:
            raise ValueError(f"num_target_samples must be >= k={k}, got {m}")
        loss = _grouped_kl(h, None if k == 1 else k, group_bits, m, target, noise_std, generator, eps)
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
