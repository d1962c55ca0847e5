"""Exercises that check themselves: a student writes a small function, ``check_<name>(their_function)``
compares it with the library's, first on a small input worked out by hand, then on random inputs.

Each exercise is a stub here whose docstring is the specification (the formula, the inputs, what to
return); its body raises ``NotImplementedError``. A notebook's exercise cell holds the same skeleton for the
student to fill in, followed by the check. A check stops at the first input on which the student's function
raises (shown with its traceback), returns the wrong type or shape (checked before any value), returns nan
or inf, or returns a different value; it prints that input (as Python that can be pasted back when it is
small), the expected and the returned value and, when the returned value equals what a known mistake gives
on the same input (:data:`MISTAKES`: off-by-one k, the point counted as its own neighbour, the missing
factor d, ...), a hint naming that mistake. It returns a :class:`CheckResult`, truthy exactly when every
input agrees, that holds the failing input (``res.failing_input``, ``res.failing_input_code``), the
expected and returned values, the hint and the traceback. A skeleton that still raises
``NotImplementedError`` is reported, not raised, so notebooks with unsolved exercises still run end to end.
Solutions: ``docs/solutions.md``.

- :func:`ahp_at_k` — AHP@k of one ranking (``docs/paper.md`` §5.1; :mod:`semhash_lib.metrics.hierarchical`);
- :func:`similarity_loss` — the relative similarity loss of a batch (§4.3 A; :func:`semhash_lib.losses.similarity_loss`);
- :func:`knn_kl` — the k-nearest-neighbour KL estimate (§4.4; :func:`semhash_lib.losses.empirical_kl`);
- :func:`lca_similarity` — the LCA-height class similarity of a tree (§4.3;
  :meth:`semhash_lib.targets.ClassHierarchy.similarity_matrix`).
"""

from __future__ import annotations

import contextlib
import io
import textwrap
import traceback
import warnings
from typing import Callable, Iterator

import numpy as np
import torch

from .losses import empirical_kl
from .losses import similarity_loss as _library_similarity_loss
from .metrics import average_hierarchical_precision
from .targets import ClassHierarchy

__all__ = ["EXERCISES", "ahp_at_k", "similarity_loss", "knn_kl", "lca_similarity", "reference_ahp_at_k",
           "reference_similarity_loss", "reference_knn_kl", "reference_lca_similarity", "check_ahp_at_k",
           "check_similarity_loss", "check_knn_kl", "check_lca_similarity", "check", "CheckResult", "Mistake",
           "MISTAKES", "input_code"]

EXERCISES = ("ahp_at_k", "similarity_loss", "knn_kl", "lca_similarity")


# -- the specifications (what the student writes) --------------------------------------------------------

def ahp_at_k(similarities: np.ndarray, k: int) -> float:
    r"""AHP@k of one query's ranking.

    ``similarities`` (N,) float: s(q, r_j), the similarity of the query to the database item at rank j
    (j = 1..N, best-ranked first; the whole database). ``k``: 1 <= k <= N.

    hP@i = (sum_{j<=i} s(q, r_j)) / (sum of the i largest values of ``similarities``), 0 where that
    denominator is 0. Return the trapezoidal area under hP@1..hP@k divided by k:

    .. math:: \mathrm{AHP@}k = \frac1k\Big[\sum_{i=1}^{k}\mathrm{hP@}i - \frac{\mathrm{hP@}1 + \mathrm{hP@}k}{2}\Big]

    (0 for k = 1). Library: :func:`semhash_lib.metrics.average_hierarchical_precision`.
    """
    raise NotImplementedError("write ahp_at_k (specification: this docstring)")


def similarity_loss(h: np.ndarray, target_distance: np.ndarray, p: float = 1) -> float:
    r"""The relative similarity loss of a batch of codes.

    ``h`` (B, K) float outputs in [-1, 1], ``target_distance`` T (B, B), symmetric, 0 on the diagonal, not
    all 0 off it. Code distance d_ij = (K - h_i . h_j) / 2 (the relaxed Hamming distance). Make both
    matrices scale-free by their mean over the B(B-1) pairs i != j, d~ = d / <d>, T~ = T / <T>, and return

    .. math:: \mathcal L = \frac{1}{B(B-1)}\sum_{i\ne j}|\tilde d_{ij} - \tilde T_{ij}|^p

    Library: :func:`semhash_lib.losses.similarity_loss` (``form="relative"``, ``code_distance="hamming_relaxed"``).
    """
    raise NotImplementedError("write similarity_loss (specification: this docstring)")


def knn_kl(x: np.ndarray, y: np.ndarray, k: int = 1) -> float:
    r"""The k-nearest-neighbour estimate of KL(P || Q) from samples ``x`` (n, d) of P and ``y`` (m, d) of Q
    (Wang, Kulkarni & Verdu 2009, Eq. 5):

    .. math:: \hat D = \frac{d}{n}\sum_{i=1}^{n}\log\frac{\nu_k(i)}{\rho_k(i)} + \log\frac{m}{n-1}

    with rho_k(i) the Euclidean distance from x_i to its k-th nearest neighbour among the *other* x_j, and
    nu_k(i) the distance from x_i to its k-th nearest neighbour among the y_j. n >= k + 1, m >= k.
    Library: :func:`semhash_lib.losses.empirical_kl`.
    """
    raise NotImplementedError("write knn_kl (specification: this docstring)")


def lca_similarity(parent: dict, classes: list) -> np.ndarray:
    r"""The LCA-height similarity matrix (C, C) of the ``classes`` (a list of C nodes) of the tree given by
    ``parent`` (child -> parent; the one node without a parent is the root):

    .. math:: s(a, b) = 1 - \frac{\mathrm{height}(\mathrm{lca}(a, b))}{\mathrm{height}(\mathrm{root})}

    with height(leaf) = 0 and height(n) = 1 + the largest height of n's children, lca(a, b) the deepest node
    that is an ancestor of both (a node is its own ancestor). The diagonal is 1.
    Library: :meth:`semhash_lib.targets.ClassHierarchy.similarity_matrix` (``"lca_height"``).
    """
    raise NotImplementedError("write lca_similarity (specification: this docstring)")


# -- the library's answers, in the exercises' signatures ---------------------------------------------------

def reference_ahp_at_k(similarities: np.ndarray, k: int) -> float:
    """:func:`ahp_at_k` computed by the library: a query at 0 and database items at 1, 2, ..., N on a line,
    ranked by Euclidean distance (so rank j is item j), ``pair_similarity`` = ``similarities``."""
    s = np.asarray(similarities, dtype=np.float64)
    db = np.arange(1, len(s) + 1, dtype=np.float64)[:, None]
    return float(average_hierarchical_precision(np.zeros((1, 1)), db, None, None, k=int(k),
                                                pair_similarity=s[None, :], rank="euclidean")[0])


def reference_similarity_loss(h: np.ndarray, target_distance: np.ndarray, p: float = 1) -> float:
    """:func:`similarity_loss` computed by :func:`semhash_lib.losses.similarity_loss` in float64."""
    return float(_library_similarity_loss(torch.as_tensor(np.asarray(h, dtype=np.float64)),
                                          torch.as_tensor(np.asarray(target_distance, dtype=np.float64)),
                                          form="relative", p=p, code_distance="hamming_relaxed"))


def reference_knn_kl(x: np.ndarray, y: np.ndarray, k: int = 1) -> float:
    """:func:`knn_kl` computed by :func:`semhash_lib.losses.empirical_kl` in float64."""
    return float(empirical_kl(torch.as_tensor(np.asarray(x, dtype=np.float64)),
                              torch.as_tensor(np.asarray(y, dtype=np.float64)), k=int(k)))


def reference_lca_similarity(parent: dict, classes: list) -> np.ndarray:
    """:func:`lca_similarity` computed by :class:`semhash_lib.targets.ClassHierarchy`."""
    return ClassHierarchy(parent, classes).similarity_matrix("lca_height")


# -- the known mistakes: each a wrong version of the exercise, computed on the same input --------------------

class Mistake:
    """A known wrong version of an exercise: ``name`` (short, stable: tests and code refer to it), ``hint``
    (the mistake in words, shown to the student) and ``wrong(**inputs)``, the value that mistake gives on
    the inputs: one value, a list of equally plausible values (e.g. with and without the diagonal set to 1),
    or ``None`` where the mistake does not apply to these inputs (k - 1 for k = 1, ...)."""

    def __init__(self, name: str, hint: str, wrong: Callable):
        self.name, self.hint, self.wrong = name, hint, wrong

    def __repr__(self) -> str:
        return f"Mistake({self.name!r})"


def _ahp_variant(similarities, k, *, ranks: int = 0, intervals: bool = False, trapezoid: bool = True,
                 ideal: str = "sorted", nan_for_zero: bool = False):
    """AHP@k with one mistake: ``ranks`` extra ranks (AHP@(k + ranks)), the area divided by the k - 1
    ``intervals``, the plain mean (no ``trapezoid``), the ``ideal`` denominators from the whole database
    sorted in decreasing order (right), ``"first_k"`` ranks only, ``"ascending"`` order or the rank i
    (``"rank"``, plain precision), and 0/0 = nan (``nan_for_zero``)."""
    s = np.asarray(similarities, dtype=np.float64)
    kk = int(k) + ranks
    if kk < 1 or kk > len(s):
        return None
    best = {"sorted": lambda: np.cumsum(np.sort(s)[::-1]), "first_k": lambda: np.cumsum(np.sort(s[:int(k)])[::-1]),
            "ascending": lambda: np.cumsum(np.sort(s)),
            "rank": lambda: np.arange(1.0, len(s) + 1)}[ideal]()[:kk]
    if len(best) < kk:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        hp = np.cumsum(s)[:kk] / best
    if not nan_for_zero:
        hp = np.where(best > 0, hp, 0.0)
    area = hp.sum() - (hp[0] + hp[-1]) / 2 if trapezoid else hp.sum()
    divisor = kk - 1 if intervals else kk
    return None if divisor < 1 else float(area / divisor)


def _similarity_variant(h, target_distance, p=1, *, diag_in_means: bool = False, diag_in_loss: bool = False,
                        normalise: str = "mean", distance: str = "hamming", power: str = "inside"):
    """The relative similarity loss with one mistake: the diagonal i = j counted in the two means
    (``diag_in_means``) or in the loss (``diag_in_loss``), ``normalise`` by the mean (right), by the K bits
    (``"bits"``) or not at all (``"none"``), the ``distance`` relaxed Hamming (right), of sign(h)
    (``"sign"``) or Euclidean, and ``power`` |.|^p inside the mean (right), p ignored, (mean |.|)^p
    (``"outside"``) or the p-th root of the mean (``"root"``)."""
    h, T = np.asarray(h, dtype=np.float64), np.asarray(target_distance, dtype=np.float64)
    B, K = h.shape
    if distance == "sign":
        g = np.where(h >= 0, 1.0, -1.0)
        d = (K - g @ g.T) / 2
    elif distance == "euclidean":
        d = np.linalg.norm(h[:, None] - h[None], axis=-1)
    else:
        d = (K - h @ h.T) / 2
    off = ~np.eye(B, dtype=bool)
    every = np.ones((B, B), dtype=bool)
    means = every if diag_in_means else off
    if normalise == "mean":
        dn, Tn = d / d[means].mean(), T / T[means].mean()
    else:
        dn, Tn = (d / K if normalise == "bits" else d), T
    diff = np.abs(dn - Tn)[every if diag_in_loss else off]
    q = float(p)
    value = {"inside": lambda: np.mean(diff ** q), "ignored": lambda: np.mean(diff),
             "outside": lambda: np.mean(diff) ** q, "root": lambda: np.mean(diff ** q) ** (1 / q)}[power]()
    return float(value)


def _knn_kl_variant(x, y, k=1, *, rho_shift: int = 0, nu_shift: int = 0, self_counted: bool = False,
                    dim_factor: bool = True, squared: bool = False, constant: str = "m/(n-1)",
                    reduce: str = "mean", flipped: bool = False):
    """The k-NN KL estimate with one mistake: rho from the (k + ``rho_shift``)-th and nu from the
    (k + ``nu_shift``)-th neighbour, the point itself among its own neighbours (``self_counted``: rho is
    then the k-th smallest distance with the 0 to itself included), no factor d, squared distances, the
    ``constant`` log(m/(n-1)) (right), log(m/n), log((n-1)/m) or none, the sum instead of the mean
    (``reduce="sum"``), log(rho/nu) (``flipped``)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    (n, d), m, k = x.shape, len(y), int(k)
    d_xx = np.linalg.norm(x[:, None] - x[None], axis=-1)
    if not self_counted:
        np.fill_diagonal(d_xx, np.inf)
    k_rho, k_nu = k + rho_shift, k + nu_shift
    if k_rho < 1 or k_nu < 1 or k_rho > (n if self_counted else n - 1) or k_nu > m:
        return None
    rho = np.sort(d_xx, axis=1)[:, k_rho - 1]
    nu = np.sort(np.linalg.norm(x[:, None] - y[None], axis=-1), axis=1)[:, k_nu - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(nu) - np.log(rho)
    log_ratio = (-1 if flipped else 1) * (2 if squared else 1) * log_ratio
    term = (log_ratio.sum() if reduce == "sum" else log_ratio.mean()) * (d if dim_factor else 1)
    const = {"m/(n-1)": np.log(m / (n - 1)), "m/n": np.log(m / n), "(n-1)/m": np.log((n - 1) / m),
             "none": 0.0}[constant]
    return float(term + const)


def _lca_variant(parent, classes, *, leaf_height: int = 0, shortest: bool = False, levels: bool = False,
                 own_ancestor: bool = True, highest: bool = False, measure: str = "height",
                 distance: bool = False, diagonal: str = "formula"):
    """The LCA-height similarity with one mistake: leaves of height ``leaf_height``, heights along the
    ``shortest`` path to a leaf, height(root) counted in ``levels`` (nodes, = height + 1), a node not
    its ``own_ancestor``, the ``highest`` common ancestor (the root), ``measure`` the LCA's height (right),
    ``"one_minus_depth"`` 1 - depth(lca)/height(root), ``"depth"`` depth(lca)/height(root) or ``"wup"``
    depth(lca)/max(depth(a), depth(b)); the distance height/height(root) (``distance``), and the
    ``diagonal`` from the formula or ``"zero"``. Returns the matrix with its diagonal as computed and, when
    that is not all 1, also with the diagonal set to 1 (both are plausible student answers)."""
    children: dict = {}
    for c, p in parent.items():
        children.setdefault(p, []).append(c)
    pick = min if shortest else max
    memo: dict = {}

    def height(node):
        if node not in memo:
            memo[node] = 1 + pick(height(c) for c in children[node]) if node in children else leaf_height
        return memo[node]

    def chain(node):                                   # node, its parent, ..., the root
        out = [node]
        while out[-1] in parent:
            out.append(parent[out[-1]])
        return out

    def ancestors(node):
        return chain(node) if own_ancestor or node not in parent else chain(node)[1:]

    root = chain(classes[0])[-1]
    H = height(root) + (1 if levels else 0)
    if H == 0:
        return None
    C = len(classes)
    S = np.empty((C, C))
    for i, a in enumerate(classes):
        anc_a = set(ancestors(a))
        for j, b in enumerate(classes):
            common = [n for n in ancestors(b) if n in anc_a]
            lca = common[-1] if highest else common[0]
            depth = len(chain(lca)) - 1
            if measure == "height":
                S[i, j] = height(lca) / H if distance else 1 - height(lca) / H
            elif measure == "one_minus_depth":
                S[i, j] = 1 - depth / H
            elif measure == "depth":
                S[i, j] = depth / H
            else:
                S[i, j] = depth / max(len(chain(a)) - 1, len(chain(b)) - 1, 1)
    if diagonal == "zero":
        np.fill_diagonal(S, 0.0)
    if np.allclose(np.diag(S), 1.0):
        return S
    one = S.copy()
    np.fill_diagonal(one, 1.0)
    return [S, one]


def _mistakes(fn: Callable, cases: list) -> list:
    """``[Mistake(name, hint, lambda **inputs: fn(**inputs, **options)), ...]`` from
    ``(name, hint, options)`` triples."""
    return [Mistake(name, hint, (lambda options: lambda **inputs: fn(**inputs, **options))(options))
            for name, hint, options in cases]


#: the mistakes each check recognises, in the order their hints are listed
MISTAKES: dict[str, list] = {
    "ahp_at_k": _mistakes(_ahp_variant, [
        ("k - 1 ranks", "off by one: you integrated hP over ranks 1..k-1 (AHP@(k-1)); the area runs over "
         "hP@1..hP@k, all k ranks (check range(k) / slicing [:k]).", {"ranks": -1}),
        ("k + 1 ranks", "off by one: you integrated hP over ranks 1..k+1 (AHP@(k+1)); the area runs over "
         "hP@1..hP@k only.", {"ranks": 1}),
        ("divided by k - 1", "you divided the trapezoid area by k - 1 (the number of intervals between the k "
         "points) instead of by k: your value is the expected x k/(k-1).", {"intervals": True}),
        ("plain mean", "you took the plain mean of hP@1..hP@k; AHP@k is the trapezoid: subtract "
         "(hP@1 + hP@k)/2 from the sum before dividing by k.", {"trapezoid": False}),
        ("ideal from the first k ranks", "your ideal denominator comes from the first k ranks of this "
         "ranking; the ideal is the best any ranking of the whole database could do: sort ALL similarities "
         "in decreasing order, then take the cumulative sums.", {"ideal": "first_k"}),
        ("ideal sorted ascending", "your ideal cumulative similarity is sorted in increasing order "
         "(np.sort without [::-1]); the ideal ranking puts the largest similarities first.",
         {"ideal": "ascending"}),
        ("divided by the rank", "you normalised the cumulative similarity at rank i by i (plain precision); "
         "hP@i divides by the ideal cumulative similarity, the sum of the i largest similarities.",
         {"ideal": "rank"}),
        ("0/0 is nan", "hP@i is 0 where the ideal cumulative similarity is 0 (no relevant item at all); "
         "your 0/0 gave nan (use np.divide(..., out=np.zeros(k), where=ideal > 0)).", {"nan_for_zero": True}),
    ]),
    "similarity_loss": _mistakes(_similarity_variant, [
        ("diagonal counted", "you counted the diagonal i = j (an item with itself) in the means and in the "
         "loss; both run over the B(B-1) pairs i != j only.", {"diag_in_means": True, "diag_in_loss": True}),
        ("diagonal in the means", "you counted the diagonal i = j in the means <d> and <T> that normalise "
         "the distances; they run over the B(B-1) pairs i != j only.", {"diag_in_means": True}),
        ("diagonal in the loss", "you averaged |d~ - T~|^p over all B^2 entries, the diagonal included; the "
         "loss averages over the B(B-1) pairs i != j only.", {"diag_in_loss": True}),
        ("not normalised by the mean", "you compared the distances without dividing each matrix by its mean "
         "over the pairs i != j; the loss is scale-free: d~ = d/<d>, T~ = T/<T>.", {"normalise": "none"}),
        ("not normalised by the mean", "you divided the code distances by the number of bits K instead of "
         "dividing each matrix by its mean over the pairs i != j (d~ = d/<d>, T~ = T/<T>).",
         {"normalise": "bits"}),
        ("p ignored", "your value is the loss for p = 1 whatever p is: raise |d~ - T~| to the power p "
         "before averaging.", {"power": "ignored"}),
        ("p outside the mean", "you raised the mean to the power p, (mean |d~ - T~|)^p; the power goes "
         "inside: mean(|d~ - T~|^p).", {"power": "outside"}),
        ("p-th root", "you took the p-th root of the mean (an L_p norm); the loss is mean(|d~ - T~|^p) "
         "without a root.", {"power": "root"}),
        ("distance of sign(h)", "you computed the distances of the rounded codes sign(h); the loss uses the "
         "relaxed Hamming distance of the real outputs, d_ij = (K - h_i . h_j)/2.", {"distance": "sign"}),
        ("Euclidean distance", "you used the Euclidean distance ||h_i - h_j||; the loss uses the relaxed "
         "Hamming distance d_ij = (K - h_i . h_j)/2.", {"distance": "euclidean"}),
    ]),
    "knn_kl": _mistakes(_knn_kl_variant, [
        ("self counted", "you counted each point x_i as its own nearest neighbour (distance 0) in rho; "
         "rho_k(i) is the k-th nearest among the OTHER x_j (set the diagonal of the x-x distances to inf, "
         "or skip the first sorted column).", {"self_counted": True}),
        ("(k-1)-th neighbour", "off by one: you used the (k-1)-th nearest neighbour; with 0-based indexing "
         "the k-th nearest is column k - 1 of the sorted distances (self excluded).",
         {"rho_shift": -1, "nu_shift": -1}),
        ("(k+1)-th neighbour", "off by one: you used the (k+1)-th nearest neighbour for rho and nu; with "
         "0-based indexing the k-th nearest is column k - 1 of the sorted distances (self excluded).",
         {"rho_shift": 1, "nu_shift": 1}),
        ("(k+1)-th neighbour in y", "off by one in nu: you skipped a first column of the x-y distances as if "
         "it were the point itself; x_i is not among the y_j, so nu_k(i) is column k - 1 of the sorted x-y "
         "distances.", {"nu_shift": 1}),
        ("no factor d", "you left out the factor d (the dimension, x.shape[1]) in front of the mean of the "
         "log ratios.", {"dim_factor": False}),
        ("squared distances", "you used squared distances (e.g. without the square root): log(nu^2/rho^2) "
         "is twice log(nu/rho); use Euclidean distances.", {"squared": True}),
        ("log(m/n)", "your constant is log(m/n); it is log(m/(n-1)): each x_i has n - 1 other samples of P "
         "to find its neighbours among.", {"constant": "m/n"}),
        ("log((n-1)/m)", "your constant is log((n-1)/m), upside down; it is log(m/(n-1)).",
         {"constant": "(n-1)/m"}),
        ("no constant", "you left out the constant log(m/(n-1)).", {"constant": "none"}),
        ("sum instead of mean", "you summed the log ratios over i; the estimate averages them: (d/n) sum_i.",
         {"reduce": "sum"}),
        ("log(rho/nu)", "your ratio is upside down: the estimate uses log(nu_k(i)/rho_k(i)) (distance to Q's "
         "samples over the distance to P's).", {"flipped": True}),
    ]),
    "lca_similarity": _mistakes(_lca_variant, [
        ("leaf height 1", "off by one: your leaves have height 1; a leaf has height 0 (and a node 1 + the "
         "largest height of its children).", {"leaf_height": 1}),
        ("depth instead of height", "you used the depth of the LCA (edges from the root) where the formula "
         "has its height (edges down to its deepest leaf); they differ when leaves sit at different depths.",
         {"measure": "one_minus_depth"}),
        ("depth instead of height", "you used the depth of the LCA (edges from the root), "
         "depth(lca)/height(root); the formula is 1 - height(lca)/height(root), heights from the leaves up.",
         {"measure": "depth"}),
        ("depth instead of height", "you used depths from the root, depth(lca)/max(depth(a), depth(b)); the "
         "formula is 1 - height(lca)/height(root), heights from the leaves up.", {"measure": "wup"}),
        ("shortest path to a leaf", "your height follows the shortest path down to a leaf (min over the "
         "children); height(n) = 1 + the LARGEST height of n's children.", {"shortest": True}),
        ("height(root) in levels", "off by one: you divided by the number of levels (nodes on the longest "
         "path, height(root) + 1); divide by height(root), counted in edges.", {"levels": True}),
        ("not its own ancestor", "a node is its own ancestor: start the list of a's ancestors at a itself "
         "(then lca(a, a) = a and the diagonal is 1).", {"own_ancestor": False}),
        ("highest common ancestor", "you took the highest common ancestor (the root) instead of the lowest "
         "(deepest) one: walk up from b and stop at the first node that is also an ancestor of a.",
         {"highest": True}),
        ("distance, not similarity", "you returned the distance height(lca)/height(root); the similarity is "
         "1 minus it.", {"distance": True}),
        ("diagonal 0", "the diagonal s(a, a) is 1 (a class is its own LCA, of height 0), not 0.",
         {"diagonal": "zero"}),
    ]),
}


# -- the inputs: a small case worked out by hand first, then random ones, smallest first -----------------

class _Worked(dict):
    """A case's inputs (a dict) with ``note``: how its expected value is worked out by hand."""

    def __init__(self, inputs: dict, note: str):
        super().__init__(inputs)
        self.note = note


#: AHP@3 of the ranking [0.5, 1, 0, 1]: cumulative sums 0.5, 1.5, 1.5; the ideal ranking (1, 1, 0.5, 0)
#: 1, 2, 2.5; hP@1..3 = 0.5, 0.75, 0.6; AHP@3 = (0.5 + 0.75 + 0.6 - (0.5 + 0.6)/2) / 3 = 1.3/3 = 0.4333.
AHP_WORKED = _Worked({"similarities": np.array([0.5, 1.0, 0.0, 1.0]), "k": 3},
                     "the ranking's cumulative sums are 0.5, 1.5, 1.5; the ideal ranking 1, 1, 0.5, 0 gives "
                     "1, 2, 2.5; hP@1..3 = 0.5, 0.75, 0.6; AHP@3 = (0.5 + 0.75 + 0.6 - (0.5 + 0.6)/2) / 3 "
                     "= 1.3/3 = 0.43333")

#: Three 2-bit codes, p = 2: relaxed Hamming d_01, d_02, d_12 = 1, 2, 1 (mean 4/3, so d~ = 0.75, 1.5, 0.75);
#: T = 0.5, 1, 1 (mean 5/6, so T~ = 0.6, 1.2, 1.2); |d~ - T~| = 0.15, 0.3, 0.45; L = (0.0225 + 0.09 +
#: 0.2025)/3 = 0.105 (each pair counted twice, i < j and j < i, which leaves the mean unchanged).
SIMILARITY_WORKED = _Worked(
    {"h": np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0]]),
     "target_distance": np.array([[0.0, 0.5, 1.0], [0.5, 0.0, 1.0], [1.0, 1.0, 0.0]]), "p": 2},
    "code distances d_01, d_02, d_12 = (2 - h_i.h_j)/2 = 1, 2, 1, mean 4/3, so d~ = 0.75, 1.5, 0.75; targets "
    "T = 0.5, 1, 1, mean 5/6, so T~ = 0.6, 1.2, 1.2; |d~ - T~| = 0.15, 0.3, 0.45; L = (0.15^2 + 0.3^2 + "
    "0.45^2)/3 = 0.105 (the pairs j, i repeat the pairs i, j: the mean over i != j is the same)")

#: d = 2, n = 3, m = 4, k = 1: rho (nearest other x) = 1, 1, 2; nu (nearest y) = 2, 2, 2;
#: D = 2 (log 2 + log 2 + log 1)/3 + log(4/2) = (7/3) log 2 = 1.61734.
KNN_KL_WORKED = _Worked(
    {"x": np.array([[0.0, 0.0], [0.0, 1.0], [2.0, 0.0]]),
     "y": np.array([[-2.0, 0.0], [0.0, 3.0], [2.0, 2.0], [4.0, 4.0]]), "k": 1},
    "d = 2, n = 3, m = 4; rho (distance to the nearest OTHER x) = 1, 1, 2; nu (distance to the nearest y) "
    "= 2, 2, 2; D = 2 (log 2/1 + log 2/1 + log 2/2)/3 + log(4/(3-1)) = (7/3) log 2 = 1.61734")

#: root -> A, B; A -> a1, a2; B -> b1, B2; B2 -> b2. Heights: leaves 0, A 1, B2 1, B 2, root 3.
#: s(a1, a2) = 1 - 1/3 = 2/3, s(b1, b2) = 1 - height(B)/3 = 1/3, a's with b's 0 (their LCA is the root).
LCA_WORKED = _Worked(
    {"parent": {"a1": "A", "a2": "A", "b1": "B", "B2": "B", "b2": "B2", "A": "root", "B": "root"},
     "classes": ["a1", "a2", "b1", "b2"]},
    "root -> A, B; A -> a1, a2; B -> b1, B2; B2 -> b2. Heights: leaves 0, A 1, B2 1, B 2, root 3; "
    "s(a1, a2) = 1 - 1/3 = 2/3, s(b1, b2) = 1 - height(B)/3 = 1/3, an a with a b: 1 - 3/3 = 0 (LCA the root), "
    "diagonal 1: [[1, 2/3, 0, 0], [2/3, 1, 0, 0], [0, 0, 1, 1/3], [0, 0, 1/3, 1]]")


def _size(case: dict) -> int:
    """How big an input is to read: the number of array entries, or of tree edges."""
    return sum(np.size(v) for v in case.values() if isinstance(v, np.ndarray)) or len(case.get("parent", ()))


def _ahp_cases(rng: np.random.Generator, trials: int) -> Iterator[dict]:
    levels = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    yield AHP_WORKED
    yield {"similarities": np.array([1.0, 0.0, 0.5, 1.0, 0.25]), "k": 1}     # one point: no area, 0
    yield {"similarities": np.array([0.0, 0.0, 0.0, 0.0]), "k": 3}            # no relevant item: 0/0 -> 0
    random = []
    for _ in range(trials):
        n = int(rng.integers(3, 40))
        random.append({"similarities": rng.choice(levels, size=n), "k": int(rng.integers(2, n + 1))})
    yield from sorted(random, key=_size)


def _similarity_cases(rng: np.random.Generator, trials: int) -> Iterator[dict]:
    yield SIMILARITY_WORKED
    random = []
    for t in range(trials):
        b, K, C = int(rng.integers(3, 12)), int(rng.integers(2, 24)), int(rng.integers(2, 5))
        S = rng.uniform(0, 1, (C, C))
        S = (S + S.T) / 2
        np.fill_diagonal(S, 1.0)
        y = rng.integers(0, C, b)
        y[:2] = [0, 1]                                  # at least two classes: T is not all 0
        random.append({"h": np.tanh(rng.normal(0, 1, (b, K))), "target_distance": 1.0 - S[y[:, None], y[None, :]],
                       "p": (1, 2, 1.5)[t % 3]})
    yield from sorted(random, key=_size)


def _kl_cases(rng: np.random.Generator, trials: int) -> Iterator[dict]:
    yield KNN_KL_WORKED
    random = []
    for _ in range(trials):
        k, d = int(rng.integers(1, 4)), int(rng.integers(1, 5))
        n, m = int(rng.integers(k + 1, 30)), int(rng.integers(k, 30))
        random.append({"x": rng.normal(0, 1, (n, d)), "y": rng.normal(0.5, 1.5, (m, d)), "k": k})
    yield from sorted(random, key=_size)


def _random_tree(rng: np.random.Generator, n_classes: int) -> tuple[dict, list]:
    """A random rooted tree whose leaves are the classes "c0", "c1", ...; inner nodes "n0", "n1", ... may
    form chains (one child) and have different depths."""
    parent: dict = {}
    counter = [0]

    def inner() -> str:
        counter[0] += 1
        return f"n{counter[0] - 1}"

    def grow(items: list, node: str, depth: int) -> None:
        if len(items) == 1 and (depth >= 4 or rng.random() < 0.6):
            parent[items[0]] = node
            return
        groups = 1 if len(items) == 1 or rng.random() < 0.15 else int(rng.integers(2, min(3, len(items)) + 1))
        cuts = np.sort(rng.choice(np.arange(1, len(items)), size=groups - 1, replace=False)) if groups > 1 else []
        for part in np.split(np.array(items, dtype=object), cuts):
            if len(part) == 1 and rng.random() < 0.5:
                parent[part[0]] = node
            else:
                child = inner()
                parent[child] = node
                grow(list(part), child, depth + 1)

    classes = [f"c{i}" for i in range(n_classes)]
    order = list(rng.permutation(classes))
    grow(order, inner(), 0)
    return parent, classes


def _tree_cases(rng: np.random.Generator, trials: int) -> Iterator[dict]:
    yield LCA_WORKED
    yield {"parent": {"a1": "A", "a2": "A", "b1": "B", "A": "root", "B": "root"}, "classes": ["a1", "a2", "b1"]}
    random = []
    for _ in range(trials):
        parent, classes = _random_tree(rng, int(rng.integers(2, 9)))
        random.append({"parent": parent, "classes": classes})
    yield from sorted(random, key=_size)


# -- the result of a check ---------------------------------------------------------------------------------

def _copy(inputs: dict) -> dict:
    return {k: (v.copy() if isinstance(v, np.ndarray) else dict(v) if isinstance(v, dict) else
                list(v) if isinstance(v, list) else v) for k, v in inputs.items()}


def _literal(value) -> str:
    """Python source that rebuilds ``value`` exactly (floats by their shortest round-trip repr)."""
    if isinstance(value, np.ndarray):
        return _array_literal(value, [_literal(value.tolist())])
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return repr(v) if np.isfinite(v) else f"float('{v}')"
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _array_literal(value: np.ndarray, parts: list, indent: int = 0) -> str:
    """``np.array(...)`` around ``parts`` (the whole list, or one row each, one per line under the first)."""
    dtype = "" if value.dtype in (np.float64, np.int64) else f", dtype=np.{value.dtype.name}"
    if len(parts) == 1:
        return f"np.array({parts[0]}{dtype})"
    return "np.array([" + (",\n" + " " * (indent + 10)).join(parts) + f"]{dtype})"


def input_code(inputs: dict, width: int = 110) -> str:
    """Python source, one ``name = value`` statement per input after ``import numpy as np``, that rebuilds
    the inputs exactly: paste it, then call your function with them. A 2-d array too wide for ``width``
    characters is written one row per line."""
    lines = ["import numpy as np"]
    for key, value in inputs.items():
        line = f"{key} = {_literal(value)}"
        if len(line) > width and isinstance(value, np.ndarray) and value.ndim == 2 and len(value) > 1:
            line = f"{key} = " + _array_literal(value, [_literal(row) for row in value.tolist()], len(key) + 3)
        lines.append(line)
    return "\n".join(lines)


class CheckResult:
    """What a ``check_*`` found. Truthy exactly when every case agreed with the library, so
    ``assert check_knn_kl(f)`` and ``if check_knn_kl(f):`` work as with a bool.

    On a failure it holds the first failing case, so that it can be run again::

        res = check_knn_kl(knn_kl)
        knn_kl(**res.failing_input)           # the same input, a fresh copy each time
        print(res.failing_input_code)          # the same input as Python source (exact values)

    Attributes: ``passed``, ``name`` (the exercise), ``message`` (what was printed), ``case_number``
    (1-based, of ``cases_checked`` run), ``failing_input`` (dict of the arguments), ``failing_input_code``,
    ``expected`` (the library's value), ``got`` (what the function returned), ``problem`` (``"value"``,
    ``"shape"``, ``"not finite"``, ``"raised"`` or ``"not written"``), ``hint`` (the likely mistake in words,
    or that a wrongly shaped value holds the right numbers; ``None`` when no known mistake matches),
    ``mistakes`` (the short names of the known mistakes found, :data:`MISTAKES`), ``note`` (when none
    matches: how the value differs, e.g. its ratio to the expected one), ``traceback`` (formatted, when the
    function raised). ``None`` where it does not apply (a passed check has no failing input).
    """

    def __init__(self, name: str, passed: bool, message: str, cases_checked: int, *, case_number=None,
                 failing_input=None, expected=None, got=None, problem=None, hint=None, note=None, mistakes=(),
                 traceback=None):
        self.name, self.passed, self.message, self.cases_checked = name, bool(passed), message, cases_checked
        self.case_number, self._failing_input, self.expected, self.got = case_number, failing_input, expected, got
        self.problem, self.hint, self.note, self.mistakes = problem, hint, note, tuple(mistakes)
        self.traceback = traceback

    def __bool__(self) -> bool:
        return self.passed

    @property
    def failing_input(self):
        """The arguments of the first failing case (a fresh copy each time), ``None`` if all passed."""
        return None if self._failing_input is None else _copy(self._failing_input)

    @property
    def failing_input_code(self):
        """:func:`input_code` of :attr:`failing_input`: Python source that rebuilds it exactly."""
        return None if self._failing_input is None else input_code(self._failing_input)

    def __repr__(self) -> str:
        if self.passed:
            return f"CheckResult({self.name}: passed, {self.cases_checked} inputs)"
        return (f"CheckResult({self.name}: failed on input {self.case_number}, {self.problem}; see .message, "
                f".hint, .failing_input)")


# -- the checks ------------------------------------------------------------------------------------------

def _show(value, threshold: int = 64) -> str:
    """``value`` rounded for reading: arrays to 4 decimals, summarised (``...``) beyond ``threshold``
    entries; dicts to their first 12 items."""
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=4, suppress_small=True, max_line_width=100, threshold=threshold,
                               edgeitems=3)
    if isinstance(value, dict) and len(value) > 12:
        return repr(dict(list(value.items())[:12]))[:-1] + ", ...}"
    return repr(value)


def _describe(value) -> str:
    """What a returned value is, in words: its type and, for arrays, shape and dtype."""
    if value is None:
        return "None"
    if isinstance(value, torch.Tensor):
        return f"a torch tensor of shape {tuple(value.shape)} ({value.dtype})"
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape} (dtype {value.dtype})"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of length {len(value)}"
    if isinstance(value, (str, bytes)):
        text = repr(value)
        return f"the {type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"
    return f"a {type(value).__name__} ({value!r})" if np.isscalar(value) else f"a {type(value).__name__}"


def _as_numbers(value):
    """``(float64 array, None)`` or ``(None, why it is not numbers)``."""
    if value is None:
        return None, "returned None: is the `return` statement missing?"
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes, dict)):
        return None, f"returned {_describe(value)}; it should return numbers"
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        return None, f"returned {_describe(value)}, which is not an array of numbers ({err})"
    if arr.dtype.kind not in "iuf":
        what = {"b": "booleans", "c": "complex numbers"}.get(arr.dtype.kind, f"values of dtype {arr.dtype}")
        return None, f"returned {what} ({_describe(value)}); it should return real numbers (float)"
    return arr.astype(np.float64), None


def _form_problem(got, expected) -> tuple:
    """``(got as a float64 array or None, the problem with its type or shape or None)``, checked before
    any value is compared."""
    arr, why = _as_numbers(got)
    exp = np.asarray(expected, dtype=np.float64)
    want = "a single number (a float)" if exp.ndim == 0 else f"a float array of shape {exp.shape}"
    if arr is None:
        return None, f"expected {want}; the function {why}"
    if arr.shape == exp.shape:
        return arr, None
    if exp.ndim == 0:
        fix = ("return its only element, e.g. float(value) or value.item()" if arr.size == 1 else
               "the exercise returns one number for the whole input (a mean over its items)")
        return arr, f"expected {want}, got {_describe(got)}: {fix}"
    if arr.ndim == 0:
        return arr, f"expected {want}, got a single number ({float(arr)!r})"
    return arr, f"expected {want}, got {_describe(got)}"


def _matches(value: np.ndarray, wrong, rtol: float, atol: float) -> bool | None:
    """Whether ``value`` is one of the ``wrong`` values (a value or a list of them; ``None``: does not
    apply). nan matches nan and inf matches inf, so that a mistake that divides by 0 is recognised."""
    if wrong is None:
        return None
    for w in (wrong if isinstance(wrong, list) else [wrong]):
        w = np.asarray(w, dtype=np.float64)
        if w.shape == value.shape and np.allclose(value, w, rtol=rtol, atol=atol, equal_nan=True):
            return True
    return False


def _which_mistakes(student_fn: Callable, reference_fn: Callable, mistakes, cases: list, index: int,
                    got: np.ndarray, rtol: float, atol: float, look_ahead: int = 8) -> tuple[list, bool]:
    """``(mistakes, on_this_input)``: the known mistakes whose value equals the student's ``got`` on the
    failing case ``index`` (``on_this_input`` True); when several do, the next ``look_ahead`` cases keep
    those that still agree with the student. When none does (a mistake may not apply to this input, e.g.
    the (k-1)-th neighbour for k = 1), the mistakes that agree with the student on every one of the next
    ``look_ahead`` cases where the student is wrong and the mistake applies, at least one
    (``on_this_input`` False)."""
    def agree(mistake, inputs, value):
        try:
            return _matches(value, mistake.wrong(**_copy(inputs)), rtol, atol)
        except Exception:                                    # noqa: BLE001 - a variant that does not apply
            return None

    def student_value(inputs):                               # quietly: the student's prints were seen once
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value, _ = _as_numbers(student_fn(**_copy(inputs)))
        except Exception:                                    # noqa: BLE001 - the student's function
            return None
        return value if value is not None and value.ndim == got.ndim else None

    later = cases[index + 1:index + 1 + look_ahead]
    found = [m for m in mistakes if agree(m, cases[index], got)]
    if found:
        for inputs in later:
            if len(found) <= 1:
                break
            value = student_value(inputs)
            if value is not None:
                found = [m for m in found if agree(m, inputs, value) is not False] or found
        return found, True
    seen = {m.name: 0 for m in mistakes}
    alive = list(mistakes)
    for inputs in later:
        value = student_value(inputs)
        if value is None:
            continue
        expected = np.asarray(reference_fn(**_copy(inputs)), dtype=np.float64)
        if value.shape == expected.shape and np.allclose(value, expected, rtol=rtol, atol=atol):
            continue                                         # right here: no evidence either way
        verdict = {m.name: agree(m, inputs, value) for m in alive}
        alive = [m for m in alive if verdict[m.name] is not False]
        for m in alive:
            seen[m.name] += verdict[m.name] is True
    return [m for m in alive if seen[m.name] > 0], False


def _hint_text(found: list, on_this_input: bool, expected, got: np.ndarray) -> str | None:
    """The hints of the mistakes found, or, when none is known, how the value differs."""
    hints = list(dict.fromkeys(m.hint for m in found))
    where = "" if on_this_input else ("on the next inputs your values are exactly what this mistake gives (on "
                                      "this one it shows differently): ")
    if len(hints) == 1:
        return where + hints[0]
    if hints:
        each = "each gives exactly your value on this input" if on_this_input else "seen on the next inputs"
        return f"one of these ({each}):\n" + "\n".join(f"- {h}" for h in hints)
    exp = np.asarray(expected, dtype=np.float64)
    if exp.shape != got.shape or not np.all(np.isfinite(got)):
        return None
    if exp.ndim == 0:
        e, g = float(exp), float(got)
        ratio = f"{g / e:.6g} x the expected, " if e != 0 else ""
        return f"no known mistake gives this value; yours is {ratio}difference {g - e:+.6g}."
    wrong = np.argwhere(~np.isclose(got, exp, rtol=1e-6, atol=1e-9))
    where = ", ".join(str(tuple(int(i) for i in w)) for w in wrong[:6]) + (", ..." if len(wrong) > 6 else "")
    diagonal = " (all on the diagonal)" if exp.ndim == 2 and all(len(set(w)) == 1 for w in wrong) else ""
    return f"no known mistake gives this value; {len(wrong)} of {exp.size} entries differ{diagonal}, at {where}"


def _wrap(text: str, lead: str, width: int = 110) -> str:
    """``text`` after ``lead``, each of its lines wrapped to ``width`` and indented under the first."""
    pad = " " * len(lead)
    out = []
    for i, line in enumerate(text.split("\n")):
        bullet = len(line) - len(line.lstrip(" -"))
        out.append(textwrap.fill(line.strip(), width=width, initial_indent=(lead if i == 0 else pad) + line[:bullet],
                                 subsequent_indent=pad + " " * bullet))
    return "\n".join(out)


def _input_lines(inputs: dict, width: int = 110, max_lines: int = 12) -> list:
    """The input as Python statements that can be pasted back when they fit in ``max_lines`` lines of
    ``width`` characters, else a rounded summary of each argument."""
    code = input_code(inputs, width - 4).splitlines()[1:]
    if len(code) <= max_lines and all(len(line) <= width - 4 for line in code):
        return [f"    {line}" for line in code]
    out = []
    for key, value in inputs.items():
        shape = f" (shape {value.shape})" if isinstance(value, np.ndarray) else ""
        shown = _show(value, threshold=24).replace("\n", "\n" + " " * (len(key) + 7 + len(shape)))
        out.append(f"    {key}{shape} = {shown}")
    out.append("    (rounded here; res.failing_input has the exact values, res.failing_input_code as Python)")
    return out


def check(name: str, student_fn: Callable, reference_fn: Callable, cases, rtol: float = 1e-6,
          atol: float = 1e-9, verbose: bool = True, mistakes=None) -> CheckResult:
    """Call ``student_fn(**inputs)`` and ``reference_fn(**inputs)`` on every case in order (each call on its
    own copy of the inputs) and stop at the first case where the student's function

    1. raises: the formatted traceback and the input are reported (``NotImplementedError``: "not written
       yet", so that a notebook with an unsolved exercise still runs);
    2. returns the wrong type or shape (a number where an array is expected, an array of shape (1,) where a
       float is, None, a string, ...): checked before any value, the message says what was expected;
    3. returns nan or inf where the library's value is finite;
    4. returns a value not ``np.allclose(got, expected, rtol, atol)``.

    For 2-4, the value is compared with each known wrong version in ``mistakes`` (:class:`Mistake`; default
    ``MISTAKES[name]``) on the same input, and the ones it equals are named as the hint. A case that is a
    ``_Worked`` dict also prints how its value is worked out by hand. Prints the report unless
    ``verbose=False`` and returns a :class:`CheckResult`, truthy exactly when every case agreed.
    """
    say = print if verbose else (lambda *a, **k: None)  # noqa: E731
    mistakes = MISTAKES.get(name, []) if mistakes is None else list(mistakes)
    cases = list(cases)
    rerun = (f"  To run this input again: res = check_{name}({name}) (in the notebooks: passed),\n" if name in EXERCISES
             else "  To run this input again: keep the result of this check as res,\n") + \
        f"  then {name}(**res.failing_input); print(res.failing_input_code) shows it as Python to paste."
    for index, inputs in enumerate(cases):
        number = index + 1
        expected = reference_fn(**_copy(inputs))
        try:
            got = student_fn(**_copy(inputs))
        except NotImplementedError:
            message = (f"{name}: not written yet (the function raises NotImplementedError); replace its body, "
                       f"then run the cell again (specification: help(semhash_lib.exercises.{name}); solution: "
                       "docs/solutions.md)")
            say(message)
            return CheckResult(name, False, message, len(cases), case_number=number, failing_input=_copy(inputs),
                               expected=expected, problem="not written")
        except Exception as err:  # the student's bug, reported with its traceback and the input
            frames = err.__traceback__.tb_next if err.__traceback__ is not None else None  # drop check()'s frame
            trace = "".join(traceback.format_exception(type(err), err, frames))
            lines = [f"{name}: raised {type(err).__name__}: {err}", f"  on input {number} of {len(cases)}:",
                     *_input_lines(inputs), "  traceback (most recent call last):",
                     *("    " + line for line in trace.rstrip("\n").splitlines()[1:]), rerun]
            message = "\n".join(lines)
            say(message)
            return CheckResult(name, False, message, len(cases), case_number=number, failing_input=_copy(inputs),
                               expected=expected, problem="raised", traceback=trace)
        arr, form = _form_problem(got, expected)
        exp = np.asarray(expected, dtype=np.float64)
        if form is not None:
            problem, headline = "shape", f"{name}: returned the wrong type or shape on input {number}: {form}"
        elif np.all(np.isfinite(exp)) and not np.all(np.isfinite(arr)):
            problem, headline = "not finite", (f"{name}: returned a non-finite value (nan or inf) on input "
                                               f"{number}, where the library's value is finite (a division by 0 "
                                               f"or a log of 0?)")
        elif not np.allclose(arr, exp, rtol=rtol, atol=atol):
            problem, headline = "value", f"{name}: differs from the library on input {number} of {len(cases)}"
        else:
            continue
        found, on_this_input = [], True
        if arr is not None and arr.shape == exp.shape:
            found, on_this_input = _which_mistakes(student_fn, reference_fn, mistakes, cases, index, arr, rtol, atol)
        text = _hint_text(found, on_this_input, expected, arr) if arr is not None else None
        hint, note = (text, None) if found else (None, text)
        if form is not None and arr is not None and arr.size == exp.size and \
                np.allclose(arr.reshape(exp.shape), exp, rtol=rtol, atol=atol):
            hint = "the number(s) inside are right; only the type or shape is not."
        lines = [headline, "  input:" if not isinstance(inputs, _Worked) else
                 "  input (small enough to check by hand):", *_input_lines(inputs)]
        if isinstance(inputs, _Worked):
            lines.append(_wrap(inputs.note, "  worked out: "))
        shown = _describe(got) if arr is None else _show(arr) if arr.ndim else repr(float(arr))
        lines.append(f"  expected: {_show(exp) if exp.ndim else repr(float(exp))}".replace("\n", "\n" + " " * 13))
        lines.append(f"  got:      {shown}".replace("\n", "\n" + " " * 13))
        lines += [_wrap(text, lead) for text, lead in ((hint, "  hint: "), (note, "  note: ")) if text]
        lines.append(rerun)
        message = "\n".join(lines)
        say(message)
        return CheckResult(name, False, message, len(cases), case_number=number, failing_input=_copy(inputs),
                           expected=expected, got=got, problem=problem, hint=hint, note=note,
                           mistakes=list(dict.fromkeys(m.name for m in found)))
    message = f"{name}: correct, agrees with the library on all {len(cases)} inputs"
    say(message)
    return CheckResult(name, True, message, len(cases))


def check_ahp_at_k(student_fn: Callable, trials: int = 30, seed: int = 0, verbose: bool = True) -> CheckResult:
    """Compare ``student_fn(similarities, k)`` with :func:`reference_ahp_at_k`: first the ranking
    [0.5, 1, 0, 1] with k = 3 (AHP@3 = 1.3/3 = 0.4333, worked out in :data:`AHP_WORKED`), one with k = 1
    (0) and an all-zero one (0/0 -> 0), then random rankings with ties (similarities from
    {0, 0.25, 0.5, 0.75, 1}, k from 2 to N), shortest first. Returns a :class:`CheckResult`."""
    return check("ahp_at_k", student_fn, reference_ahp_at_k, _ahp_cases(np.random.default_rng(seed), trials),
                 verbose=verbose)


def check_similarity_loss(student_fn: Callable, trials: int = 30, seed: int = 0,
                          verbose: bool = True) -> CheckResult:
    """Compare ``student_fn(h, target_distance, p)`` with :func:`reference_similarity_loss`: first three
    2-bit codes with p = 2 (L = 0.105, worked out in :data:`SIMILARITY_WORKED`), then random batches (B 3-11,
    K 2-23 bits, tanh outputs, class-similarity targets, p in {1, 2, 1.5}), smallest first. Returns a
    :class:`CheckResult`."""
    return check("similarity_loss", student_fn, reference_similarity_loss,
                 _similarity_cases(np.random.default_rng(seed), trials), verbose=verbose)


def check_knn_kl(student_fn: Callable, trials: int = 30, seed: int = 0, verbose: bool = True) -> CheckResult:
    """Compare ``student_fn(x, y, k)`` with :func:`reference_knn_kl`: first three points of P and four of Q
    in the plane, k = 1 (D = (7/3) log 2 = 1.61734, worked out in :data:`KNN_KL_WORKED`), then random
    Gaussian samples (d 1-4, k 1-3), smallest first. The library adds eps = 1e-8 inside each log; the
    tolerance (rtol and atol 1e-6) absorbs it. Returns a :class:`CheckResult`."""
    return check("knn_kl", student_fn, reference_knn_kl, _kl_cases(np.random.default_rng(seed), trials),
                 rtol=1e-6, atol=1e-6, verbose=verbose)


def check_lca_similarity(student_fn: Callable, trials: int = 30, seed: int = 0, verbose: bool = True) -> CheckResult:
    """Compare ``student_fn(parent, classes)`` with :func:`reference_lca_similarity`: first a four-class tree
    with a chain (worked out in :data:`LCA_WORKED`), then a balanced one, then random trees (2-8 classes,
    chains and leaves at different depths), smallest first. Returns a :class:`CheckResult`."""
    return check("lca_similarity", student_fn, reference_lca_similarity,
                 _tree_cases(np.random.default_rng(seed), trials), verbose=verbose)
