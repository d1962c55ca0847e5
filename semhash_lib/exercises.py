"""Exercises that check themselves: a student writes a small function, ``check_<name>(their_function)``
compares it with the library's on random inputs.

Each exercise is a stub here whose docstring is the specification (the formula, the inputs, what to
return); its body raises ``NotImplementedError``. A notebook's exercise cell holds the same skeleton for the
student to fill in, followed by the check. A check prints, for the first input on which the student's
function differs, the input, the expected and the returned value, and returns ``False``; it returns
``True`` (and says so) when every case agrees. A skeleton that still raises ``NotImplementedError`` is
reported, not raised, so notebooks with unsolved exercises still run end to end. Solutions:
``docs/solutions.md``.

- :func:`ahp_at_k` — AHP@k of one ranking (``docs/paper.md`` §5.1; :mod:`semhash_lib.metrics.hierarchical`);
- :func:`similarity_loss` — the relative similarity loss of a batch (§4.3 A; :func:`semhash_lib.losses.similarity_loss`);
- :func:`knn_kl` — the k-nearest-neighbour KL estimate (§4.4; :func:`semhash_lib.losses.empirical_kl`);
- :func:`lca_similarity` — the LCA-height class similarity of a tree (§4.3;
  :meth:`semhash_lib.targets.ClassHierarchy.similarity_matrix`).
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch

from .losses import empirical_kl
from .losses import similarity_loss as _library_similarity_loss
from .metrics import average_hierarchical_precision
from .targets import ClassHierarchy

__all__ = ["EXERCISES", "ahp_at_k", "similarity_loss", "knn_kl", "lca_similarity", "reference_ahp_at_k",
           "reference_similarity_loss", "reference_knn_kl", "reference_lca_similarity", "check_ahp_at_k",
           "check_similarity_loss", "check_knn_kl", "check_lca_similarity", "check"]

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


# -- random inputs ---------------------------------------------------------------------------------------

def _ahp_cases(rng: np.random.Generator, trials: int) -> Iterator[dict]:
    levels = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    yield {"similarities": np.array([1.0, 0.0, 0.5, 1.0, 0.25]), "k": 1}
    yield {"similarities": np.array([0.0, 0.0, 0.0, 0.0]), "k": 3}
    for _ in range(trials):
        n = int(rng.integers(3, 40))
        yield {"similarities": rng.choice(levels, size=n), "k": int(rng.integers(2, n + 1))}


def _similarity_cases(rng: np.random.Generator, trials: int) -> Iterator[dict]:
    for t in range(trials):
        b, K, C = int(rng.integers(3, 12)), int(rng.integers(2, 24)), int(rng.integers(2, 5))
        S = rng.uniform(0, 1, (C, C))
        S = (S + S.T) / 2
        np.fill_diagonal(S, 1.0)
        y = rng.integers(0, C, b)
        y[:2] = [0, 1]                                  # at least two classes: T is not all 0
        yield {"h": np.tanh(rng.normal(0, 1, (b, K))), "target_distance": 1.0 - S[y[:, None], y[None, :]],
               "p": (1, 2, 1.5)[t % 3]}


def _kl_cases(rng: np.random.Generator, trials: int) -> Iterator[dict]:
    for _ in range(trials):
        k, d = int(rng.integers(1, 4)), int(rng.integers(1, 5))
        n, m = int(rng.integers(k + 1, 30)), int(rng.integers(k, 30))
        yield {"x": rng.normal(0, 1, (n, d)), "y": rng.normal(0.5, 1.5, (m, d)), "k": k}


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
    yield {"parent": {"a1": "A", "a2": "A", "b1": "B", "A": "root", "B": "root"}, "classes": ["a1", "a2", "b1"]}
    for _ in range(trials):
        parent, classes = _random_tree(rng, int(rng.integers(2, 9)))
        yield {"parent": parent, "classes": classes}


# -- the checks ------------------------------------------------------------------------------------------

def _show(value) -> str:
    if isinstance(value, np.ndarray):
        return np.array2string(value, precision=4, suppress_small=True, max_line_width=110, threshold=60)
    if isinstance(value, dict) and len(value) > 12:
        return repr(dict(list(value.items())[:12]))[:-1] + ", ...}"
    return repr(value)


def _copy(inputs: dict) -> dict:
    return {k: (v.copy() if isinstance(v, np.ndarray) else dict(v) if isinstance(v, dict) else
                list(v) if isinstance(v, list) else v) for k, v in inputs.items()}


def check(name: str, student_fn: Callable, reference_fn: Callable, cases, rtol: float = 1e-6,
          atol: float = 1e-9, verbose: bool = True) -> bool:
    """Call ``student_fn(**inputs)`` and ``reference_fn(**inputs)`` on every case (each on its own copy of the
    inputs) and compare with ``np.allclose(got, expected, rtol, atol)``. Prints the first case that differs
    (inputs, expected, got) or raises in the student's code, and returns ``False``; returns ``True`` when all
    agree. A ``NotImplementedError`` from the student's function is reported as "not written yet"."""
    say = print if verbose else (lambda *a, **k: None)  # noqa: E731
    n = 0
    for inputs in cases:
        expected = reference_fn(**_copy(inputs))
        try:
            got = student_fn(**_copy(inputs))
        except NotImplementedError:
            say(f"{name}: not written yet (the function raises NotImplementedError); replace its body, then run "
                f"the cell again (specification: help(semhash_lib.exercises.{name}); solution: docs/solutions.md)")
            return False
        except Exception as err:  # the student's bug, reported with the input that triggered it
            say(f"{name}: raised {type(err).__name__}: {err}\n  on the input:")
            for key, value in inputs.items():
                say(f"    {key} = {_show(value)}")
            return False
        try:
            got_arr = np.asarray(got, dtype=np.float64)
            same = got_arr.shape == np.shape(expected) and bool(np.allclose(got_arr, expected, rtol=rtol, atol=atol))
        except (TypeError, ValueError):
            got_arr, same = None, False
        if not same:
            say(f"{name}: differs from the library on input {n + 1}:")
            for key, value in inputs.items():
                say(f"    {key} = {_show(value)}")
            say(f"  expected: {_show(np.asarray(expected)) if np.ndim(expected) else repr(float(expected))}")
            shown = repr(got) if got_arr is None else _show(got_arr) if got_arr.ndim else repr(float(got_arr))
            say(f"  got:      {shown}")
            return False
        n += 1
    say(f"{name}: correct, agrees with the library on all {n} inputs")
    return True


def check_ahp_at_k(student_fn: Callable, trials: int = 30, seed: int = 0, verbose: bool = True) -> bool:
    """Compare ``student_fn(similarities, k)`` with :func:`reference_ahp_at_k` on random rankings with ties
    (similarities from {0, 0.25, 0.5, 0.75, 1}), k from 1 to N, an all-zero ranking included."""
    return check("ahp_at_k", student_fn, reference_ahp_at_k, _ahp_cases(np.random.default_rng(seed), trials),
                 verbose=verbose)


def check_similarity_loss(student_fn: Callable, trials: int = 30, seed: int = 0, verbose: bool = True) -> bool:
    """Compare ``student_fn(h, target_distance, p)`` with :func:`reference_similarity_loss` on random batches
    (B 3-11, K 2-23 bits, class-similarity targets, p in {1, 2, 1.5})."""
    return check("similarity_loss", student_fn, reference_similarity_loss,
                 _similarity_cases(np.random.default_rng(seed), trials), verbose=verbose)


def check_knn_kl(student_fn: Callable, trials: int = 30, seed: int = 0, verbose: bool = True) -> bool:
    """Compare ``student_fn(x, y, k)`` with :func:`reference_knn_kl` on random Gaussian samples (d 1-4, k 1-3).
    The library adds eps = 1e-8 inside each log; the tolerance (rtol 1e-6) absorbs it."""
    return check("knn_kl", student_fn, reference_knn_kl, _kl_cases(np.random.default_rng(seed), trials),
                 rtol=1e-6, atol=1e-6, verbose=verbose)


def check_lca_similarity(student_fn: Callable, trials: int = 30, seed: int = 0, verbose: bool = True) -> bool:
    """Compare ``student_fn(parent, classes)`` with :func:`reference_lca_similarity` on random trees (2-8
    classes, chains and leaves at different depths)."""
    return check("lca_similarity", student_fn, reference_lca_similarity,
                 _tree_cases(np.random.default_rng(seed), trials), verbose=verbose)
