"""The free-output toys: minimise a loss over a batch of free code vectors, no network, and read off the codes.

**The KL default's experiment** (``docs/reconstruction.md``, "The KL term at many bits"): n = 256 outputs
h ~ 0.3 N(0, 1) in R^K, Adam (lr 0.02) for 300 steps on the KL term alone
(:func:`semhash_lib.losses.binary_kl_loss`), then

- quantization error mean(| |h| - 1 |) (0 when every output is +-1),
- share of outputs with |h| < 0.1 (undecided bits),
- the worst bit's sign balance max_b |mean_i sign(h_ib)| (0 for perfectly balanced bits),
- the mean and max |Pearson correlation| between the sign bits of two different positions
  (chance level for n independent fair bits: E|r| ~ sqrt(2 / pi) / sqrt(n) ~ 0.05 at n = 256).

**The teaching toys of notebook 00** (``docs/paper.md`` §4.3-§4.4, §5.1):

- :func:`kl_geometry` — what the k-NN estimate of the KL term sees for each output h_i of a batch: nu_k(i),
  the distance to its k-th nearest target sample (for ``nu="nearest_corner"`` its own corner sign(h_i)),
  rho_k(i), the distance to its k-th nearest other output, and the descent direction -dL/dh_i of the
  library's loss; :func:`kl_gradient_field` the descent direction a new output would feel at each point of
  a 2-d grid; :func:`free_output_trajectory` the batch at every few optimisation steps.
- :func:`similarity_toy` — free outputs h = tanh(z) of a toy class hierarchy (:func:`toy_hierarchy`, e.g.
  6 classes in 2 superclasses, LCA-height similarity) trained with the relative similarity loss
  (:func:`semhash_lib.losses.similarity_loss`) plus ``kl_weight`` times the KL term;
  :func:`pair_distances` the code distance against the target distance of every pair.
- :func:`class_id_codes`, :func:`retrieval_table`, :func:`hp_curves` — the trivial solution of §5.1: a code
  that only encodes the class (one fixed code per class) has a perfect mAP and a lower mAHP than a code
  that also orders the classes by meaning.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import torch

from .losses import NU_MODES, binary_kl_loss, sample_binary_targets, similarity_loss
from .targets import ClassHierarchy, pairwise_targets

__all__ = ["optimise_free_outputs", "binarization_statistics", "chance_correlation", "default_k", "kl_term",
           "Trajectory", "free_output_trajectory", "KLGeometry", "kl_geometry", "kl_gradient_field", "KLToy", "kl_toy",
           "many_bits_outputs", "toy_hierarchy", "SimilarityToy", "similarity_toy", "pair_distances",
           "class_id_codes", "one_hot_codes", "retrieval_table", "hp_curves"]


def _initial_outputs(bits: int, n: int, init_scale: float, seed: int, init: torch.Tensor | None) -> torch.Tensor:
    if n < 2 or bits < 1:
        raise ValueError(f"need n >= 2 outputs and bits >= 1; got n={n}, bits={bits}")
    gen = torch.Generator().manual_seed(seed)
    return init_scale * torch.randn(n, bits, generator=gen) if init is None else init.detach().clone().float()


def _descend(loss_fn: Callable[[torch.Tensor], torch.Tensor], h0: torch.Tensor, steps: int, lr: float, seed: int,
             every: int = 0) -> tuple[torch.Tensor, list[int], list[np.ndarray], list[float]]:
    """Adam(``lr``) on ``loss_fn(h)`` from ``h0`` for ``steps`` steps, the global torch RNG seeded with ``seed``;
    with ``every > 0`` the outputs before steps 0, every, 2 every, ... and after the last step are recorded."""
    if steps < 0:
        raise ValueError(f"need steps >= 0, got {steps}")
    h = h0.requires_grad_(True)
    opt = torch.optim.Adam([h], lr=lr)
    torch.manual_seed(seed)
    at, snaps, losses = [], [], []
    for t in range(steps):
        if every and t % every == 0:
            at.append(t)
            snaps.append(h.detach().numpy().copy())
        opt.zero_grad()
        loss = loss_fn(h)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    if every:
        at.append(steps)
        snaps.append(h.detach().numpy().copy())
    return h.detach(), at, snaps, losses


def optimise_free_outputs(loss_fn: Callable[[torch.Tensor], torch.Tensor], bits: int, n: int = 256,
                          steps: int = 300, lr: float = 0.02, init_scale: float = 0.3, seed: int = 0,
                          init: torch.Tensor | None = None) -> torch.Tensor:
    """Minimise ``loss_fn(h)`` over free outputs h (n, bits), h_0 ~ ``init_scale`` * N(0, 1) drawn with
    ``seed`` (or ``init``), with Adam(``lr``) for ``steps`` steps; the global torch RNG (the loss's target
    draws) is seeded with ``seed`` too. Returns the final h (detached)."""
    if steps < 0 or n < 2 or bits < 1:
        raise ValueError(f"need steps >= 0, n >= 2, bits >= 1; got steps={steps}, n={n}, bits={bits}")
    return _descend(loss_fn, _initial_outputs(bits, n, init_scale, seed, init), steps, lr, seed)[0]


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


# -- the KL term, seen point by point ---------------------------------------------------------------------

def _check_variant(variant: str) -> None:
    if variant not in NU_MODES:
        raise ValueError(f"unknown KL variant {variant!r}; choose one of {', '.join(NU_MODES)}")


def default_k(n: int, bits: int) -> int:
    """max(1, n // 2^bits): the expected number of outputs per corner of a balanced batch. In 2 or 3
    dimensions a batch of n >> 2^K outputs crowds every corner; with k = 1 the estimate is then scale-free
    inside a corner's cloud (nu and rho shrink together) and only spreads the cloud, while rho_k with this k
    reaches into the next corner and the term pulls the cloud onto its corner (``binary_kl_loss``, "grouped")."""
    return max(1, int(n) // 2 ** min(int(bits), 62))


def kl_term(variant: str = "nearest_corner", k: int = 1, **options) -> Callable[[torch.Tensor], torch.Tensor]:
    """``h -> binary_kl_loss(h, nu=variant, k=k, **options)`` (a picklable partial)."""
    _check_variant(variant)
    return functools.partial(binary_kl_loss, nu=variant, k=int(k), **options)


@dataclass(frozen=True)
class Trajectory:
    """Outputs of a free-output optimisation: ``steps`` (T,) the step before which ``h[t]`` (T, n, K) was
    recorded (the last entry: after the last step), ``loss`` (number of steps,) the loss at every step."""

    steps: np.ndarray
    h: np.ndarray
    loss: np.ndarray
    label: str = ""


def free_output_trajectory(loss_fn: Callable[[torch.Tensor], torch.Tensor], bits: int, n: int = 32,
                           steps: int = 150, lr: float = 0.02, init_scale: float = 0.3, seed: int = 0,
                           every: int = 10, init: torch.Tensor | None = None, label: str = "") -> Trajectory:
    """:func:`optimise_free_outputs` that records the batch every ``every`` steps (and at the end); its last
    frame equals the result of :func:`optimise_free_outputs` with the same arguments."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    _, at, snaps, losses = _descend(loss_fn, _initial_outputs(bits, n, init_scale, seed, init), steps, lr, seed,
                                    every)
    return Trajectory(np.asarray(at), np.stack(snaps), np.asarray(losses), label)


@dataclass(frozen=True)
class KLGeometry:
    """One batch as the k-NN KL estimate sees it (all numpy, d = K dimensions):

    ``h`` (n, d); ``targets`` (m, d): the target samples (``"sampled"``) or the 2^d corners
    (``"nearest_corner"``, where every corner holds infinitely many samples); ``nu_points`` (n, d): each
    output's k-th nearest target (its own corner sign(h_i) for ``"nearest_corner"``); ``rho_points`` (n, d):
    its k-th nearest other output; ``nu``, ``rho`` (n,): the distances to them; ``descent`` (n, d):
    -dL/dh_i of :func:`semhash_lib.losses.binary_kl_loss`; ``loss``: its value."""

    variant: str
    k: int
    h: np.ndarray
    targets: np.ndarray
    nu_points: np.ndarray
    rho_points: np.ndarray
    nu: np.ndarray
    rho: np.ndarray
    descent: np.ndarray
    loss: float


def _kth(dist: torch.Tensor, k: int) -> torch.Tensor:
    return dist.topk(k, dim=1, largest=False).indices[:, k - 1]


def _corners(d: int) -> torch.Tensor:
    if d > 10:
        raise ValueError(f"drawing all 2^d corners is meant for d <= 10 dimensions, got d={d}")
    grid = torch.cartesian_prod(*[torch.tensor([-1.0, 1.0], dtype=torch.float64)] * d)
    return grid.reshape(-1, d)


def kl_geometry(h, variant: str = "nearest_corner", k: int = 1, seed: int = 0,
                num_target_samples: int | None = None) -> KLGeometry:
    """The :class:`KLGeometry` of the batch ``h`` (n, d) under the KL variant ``variant`` (``"nearest_corner"``
    or ``"sampled"``) with neighbour order ``k``.

    The loss and its gradient are those of :func:`semhash_lib.losses.binary_kl_loss` (float64) with a
    generator seeded ``seed``; for ``"sampled"`` the m = ``num_target_samples`` (default n) target samples
    are drawn again from a generator with the same seed, so they are the ones the loss used."""
    if variant not in ("nearest_corner", "sampled"):
        raise ValueError(f"kl_geometry draws 'nearest_corner' or 'sampled', got {variant!r} (the 'grouped' "
                         "variant has its own targets per random group of bits)")
    x = torch.as_tensor(np.asarray(h), dtype=torch.float64)
    if x.ndim != 2 or x.shape[0] < k + 1:
        raise ValueError(f"h must be (n >= k + 1, d), got shape {tuple(x.shape)} with k={k}")
    n, d = x.shape
    m = n if num_target_samples is None else int(num_target_samples)
    xg = x.clone().requires_grad_(True)
    loss = binary_kl_loss(xg, k=k, nu=variant, num_target_samples=m,
                          generator=torch.Generator().manual_seed(seed))
    loss.backward()
    if variant == "sampled":
        targets = sample_binary_targets(m, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        nu_points = targets[_kth(torch.cdist(x, targets), k)]
    else:
        targets = _corners(d)
        nu_points = torch.where(x >= 0, 1.0, -1.0).to(torch.float64)
    d_xx = torch.cdist(x, x).masked_fill(torch.eye(n, dtype=torch.bool), float("inf"))
    rho_points = x[_kth(d_xx, k)]
    return KLGeometry(variant, int(k), x.numpy(), targets.numpy(), nu_points.numpy(), rho_points.numpy(),
                      (x - nu_points).norm(dim=1).numpy(), (x - rho_points).norm(dim=1).numpy(),
                      (-xg.grad).numpy(), float(loss.detach()))


def kl_gradient_field(h, variant: str = "nearest_corner", k: int = 1, seed: int = 0, grid: int = 13,
                      lim: float = 1.6) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The descent direction -dL/dp that a new output p would feel, p on a ``grid`` x ``grid`` lattice of
    [-lim, lim]^2, L the KL term of the batch ``h`` (n, 2) plus p (the same m = n target samples as
    :func:`kl_geometry` for ``"sampled"``). Returns ``(X, Y, U, V)`` for ``matplotlib``'s ``quiver``."""
    x = torch.as_tensor(np.asarray(h), dtype=torch.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"the gradient field is drawn in 2 dimensions; h must be (n, 2), got {tuple(x.shape)}")
    _check_variant(variant)
    n = x.shape[0]
    xs = np.linspace(-lim, lim, grid)
    X, Y = np.meshgrid(xs, xs)
    U, V = np.zeros_like(X), np.zeros_like(Y)
    for idx in np.ndindex(X.shape):
        p = torch.tensor([[X[idx], Y[idx]]], dtype=torch.float64, requires_grad=True)
        loss = binary_kl_loss(torch.cat([x, p]), k=k, nu=variant, num_target_samples=n,
                              generator=torch.Generator().manual_seed(seed))
        (g,) = torch.autograd.grad(loss, p)
        U[idx], V[idx] = -float(g[0, 0]), -float(g[0, 1])
    return X, Y, U, V


@dataclass(frozen=True)
class KLToy:
    """:func:`kl_toy`'s result: per variant its :class:`Trajectory`, the :class:`KLGeometry` of the batch at
    step ``at_step`` and (2-d only) its :func:`kl_gradient_field`; ``k`` the neighbour order used."""

    k: int
    at_step: int
    trajectories: dict
    geometries: dict
    fields: dict


def kl_toy(bits: int = 2, n: int = 32, steps: int = 150, lr: float = 0.02, k: int | None = None,
           variants: Sequence[str] = ("nearest_corner", "sampled"), seed: int = 0, every: int = 5,
           at_step: int = 10, init_scale: float = 0.5, grid: int = 11) -> KLToy:
    """The KL term alone on n free outputs in ``bits`` (2 or 3) dimensions, for each variant: the trajectory
    (:func:`free_output_trajectory`), and the geometry (and 2-d field) of the batch at the recorded step
    nearest ``at_step``. ``k`` defaults to :func:`default_k` (n // 2^bits)."""
    k = default_k(n, bits) if k is None else int(k)
    trajs, geoms, fields = {}, {}, {}
    for v in variants:
        trajs[v] = free_output_trajectory(kl_term(v, k=k), bits, n=n, steps=steps, lr=lr, init_scale=init_scale,
                                          seed=seed, every=every, label=v)
        f = int(np.argmin(np.abs(trajs[v].steps - at_step)))
        geoms[v] = kl_geometry(trajs[v].h[f], v, k=k, seed=seed)
        if bits == 2:
            fields[v] = kl_gradient_field(trajs[v].h[f], v, k=k, seed=seed, grid=grid)
    return KLToy(k, int(trajs[variants[0]].steps[int(np.argmin(np.abs(trajs[variants[0]].steps - at_step)))]),
                 trajs, geoms, fields)


def many_bits_outputs(bits: int = 32, n: int = 128, steps: int = 200, lr: float = 0.02,
                      variants: Sequence[str] = ("nearest_corner", "sampled", "grouped"), seed: int = 0,
                      k: int = 1) -> dict[str, np.ndarray]:
    """``{variant: h}`` after :func:`optimise_free_outputs` on the KL term alone at ``bits`` bits: the
    experiment of ``docs/reconstruction.md`` at notebook size (the sampled variant's nearest sampled corner
    disagrees with sign(h_i) in many bits when 2^K >> m, so its pull on those bits points to the other side of 0
    and the outputs stay spread instead of settling on +-1: :func:`semhash_lib.narrative.many_bits_spread`)."""
    return {v: optimise_free_outputs(kl_term(v, k=k), bits, n=n, steps=steps, lr=lr, seed=seed).numpy()
            for v in variants}


# -- the similarity loss on a toy hierarchy -------------------------------------------------------------

def toy_hierarchy(n_super: int = 2, classes_per_super: int = 3) -> ClassHierarchy:
    """A two-level tree: ``n_super`` superclasses "A", "B", ... under one root, each with
    ``classes_per_super`` classes "a1", "a2", ... Its LCA-height similarity is 1 within a class, 1/2 within a
    superclass and 0 across superclasses."""
    if not 1 <= n_super <= 26 or classes_per_super < 1:
        raise ValueError(f"need 1 <= n_super <= 26 and classes_per_super >= 1, got {n_super}, {classes_per_super}")
    parent, classes = {}, []
    for s in range(n_super):
        sup = chr(ord("A") + s)
        parent[sup] = "root"
        for j in range(classes_per_super):
            c = f"{sup.lower()}{j + 1}"
            parent[c] = sup
            classes.append(c)
    return ClassHierarchy(parent, classes)


@dataclass(frozen=True)
class SimilarityToy:
    """Result of :func:`similarity_toy`: ``labels`` (n,), ``class_names``, ``S`` (C, C) the class similarity,
    ``T`` (n, n) the target distances 1 - S[y_i, y_j], ``h_before`` / ``h_after`` (n, K) the outputs tanh(z)
    before and after training, ``loss`` per step and the ``settings`` used."""

    labels: np.ndarray
    class_names: list
    S: np.ndarray
    T: np.ndarray
    h_before: np.ndarray
    h_after: np.ndarray
    loss: np.ndarray
    settings: dict = field(default_factory=dict)


class _ToyLoss:
    """similarity_loss(tanh z, T) + kl_weight * binary_kl_loss(tanh z) (the paper's two terms, no network)."""

    def __init__(self, T: torch.Tensor, kl_weight: float, variant: str, k: int, p: float):
        self.T, self.kl_weight, self.variant, self.k, self.p = T, kl_weight, variant, k, p

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(z)
        loss = similarity_loss(h, self.T, form="relative", p=self.p)
        if self.kl_weight:
            loss = loss + self.kl_weight * binary_kl_loss(h, nu=self.variant, k=self.k)
        return loss


def similarity_toy(per_class: int = 8, bits: int = 16, steps: int = 300, lr: float = 0.05, kl_weight: float = 0.0,
                   k: int = 1, variant: str = "nearest_corner", n_super: int = 2, classes_per_super: int = 3,
                   p: float = 1, init_scale: float = 0.3, seed: int = 0) -> SimilarityToy:
    """Train free outputs h = tanh(z) (n = ``per_class`` x classes, ``bits``) of the :func:`toy_hierarchy`
    with the relative similarity loss (``form="relative"``, ``p``, relaxed Hamming distance; targets
    :func:`semhash_lib.targets.pairwise_targets` of the LCA-height similarity) plus ``kl_weight`` x the KL
    term (``variant``, ``k``), Adam(``lr``) for ``steps`` steps, z_0 ~ ``init_scale`` N(0, 1) (seed ``seed``)."""
    _check_variant(variant)
    if per_class < 1 or bits < 1 or kl_weight < 0:
        raise ValueError(f"need per_class >= 1, bits >= 1, kl_weight >= 0; got {per_class}, {bits}, {kl_weight}")
    tree = toy_hierarchy(n_super, classes_per_super)
    S = tree.similarity_matrix("lca_height")
    labels = np.repeat(np.arange(len(tree.classes)), per_class)
    T = pairwise_targets(torch.as_tensor(labels), S).to(torch.float32)
    z0 = _initial_outputs(bits, len(labels), init_scale, seed, None)
    z, _, _, losses = _descend(_ToyLoss(T, kl_weight, variant, int(k), p), z0.clone(), steps, lr, seed)
    settings = dict(per_class=per_class, bits=bits, steps=steps, lr=lr, kl_weight=kl_weight, k=int(k),
                    variant=variant, p=p, seed=seed)
    return SimilarityToy(labels, list(tree.classes), S, T.numpy().astype(np.float64), torch.tanh(z0).numpy(),
                         torch.tanh(z).numpy(), np.asarray(losses), settings)


def pair_distances(h: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(target, hamming)`` over all pairs i < j: the target distance T_ij and the Hamming distance between
    the codes sign(h_i) and sign(h_j) (sign(0) = +1)."""
    b = np.where(np.asarray(h) >= 0, 1, -1)
    iu = np.triu_indices(len(b), 1)
    hamming = 0.5 * (b.shape[1] - b @ b.T)
    return np.asarray(T)[iu], hamming[iu]


# -- the trivial solution -----------------------------------------------------------------------------

def class_id_codes(labels: np.ndarray, bits: int, seed: int = 0) -> np.ndarray:
    """One random +-1 code per class (distinct; a classifier's output written as bits, e.g. hash centres),
    and every item gets its class's code: (n, bits)."""
    labels = np.asarray(labels)
    C = int(labels.max()) + 1
    if bits < 1 or 2 ** min(bits, 62) < C:
        raise ValueError(f"{bits} bits cannot give {C} classes distinct codes")
    rng = np.random.default_rng(seed)
    while True:
        centres = rng.choice([-1.0, 1.0], size=(C, bits))
        if len(np.unique(centres, axis=0)) == C:
            return centres[labels]


def one_hot_codes(labels: np.ndarray) -> np.ndarray:
    """The one-hot class code as +-1 (C bits): every two classes are at Hamming distance 2."""
    labels = np.asarray(labels)
    C = int(labels.max()) + 1
    return np.where(np.eye(C, dtype=bool)[labels], 1.0, -1.0)


def retrieval_table(codes: Mapping[str, np.ndarray], labels: np.ndarray, S: np.ndarray, k: int | None = None):
    """A pandas table, one row per code: mAP over the whole ranking and mAHP@k (``k`` default: all), every item
    a query against all the others (``exclude_self``), ties in Hamming distance averaged (``ties="average"``,
    the expected value under a random order within ties)."""
    import pandas as pd

    from .metrics import mean_average_hierarchical_precision, mean_average_precision

    labels = np.asarray(labels)
    kk = len(labels) - 1 if k is None else int(k)
    rows = []
    for name, c in codes.items():
        rows.append({"code": name, "bits": int(np.asarray(c).shape[1]),
                     "mAP": mean_average_precision(c, c, labels, labels, ties="average", exclude_self=True),
                     f"mAHP@{kk}": mean_average_hierarchical_precision(c, c, labels, labels, S, k=kk,
                                                                       exclude_self=True, ties="average")})
    return pd.DataFrame(rows)


def hp_curves(codes: Mapping[str, np.ndarray], labels: np.ndarray, S: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{name: (ks, hP@k)}`` for k = 1 .. n - 1, every item a query against the others, ties averaged."""
    from .metrics import hierarchical_precision_curve

    labels = np.asarray(labels)
    ks = np.arange(1, len(labels))
    return {name: (ks, hierarchical_precision_curve(c, c, labels, labels, S, ks=ks, exclude_self=True,
                                                    ties="average")) for name, c in codes.items()}
