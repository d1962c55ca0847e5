"""The self-checking exercises (semhash_lib.exercises): each check accepts the library's function and an
independent correct implementation (written here in plain numpy, as a student would), rejects subtly wrong
ones (off-by-one k, a wrong normalisation, the diagonal counted) with the input, expected and got values
printed, and reports an unwritten skeleton or a crash without raising."""

import numpy as np
import pytest

from semhash_lib import exercises as ex


# -- independent implementations (the solutions of docs/solutions.md) -----------------------------------

def ahp_at_k(similarities, k):
    s = np.asarray(similarities, dtype=float)
    ideal = np.cumsum(np.sort(s)[::-1])[:k]
    hp = np.divide(np.cumsum(s)[:k], ideal, out=np.zeros(k), where=ideal > 0)
    return (hp.sum() - (hp[0] + hp[-1]) / 2) / k


def similarity_loss(h, target_distance, p=1):
    h, T = np.asarray(h, dtype=float), np.asarray(target_distance, dtype=float)
    B, K = h.shape
    off = ~np.eye(B, dtype=bool)
    d = (K - h @ h.T) / 2
    return np.mean(np.abs(d / d[off].mean() - T / T[off].mean())[off] ** p)


def knn_kl(x, y, k=1):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n, d = x.shape
    d_xx = np.linalg.norm(x[:, None] - x[None], axis=-1)
    np.fill_diagonal(d_xx, np.inf)
    rho = np.sort(d_xx, axis=1)[:, k - 1]
    nu = np.sort(np.linalg.norm(x[:, None] - y[None], axis=-1), axis=1)[:, k - 1]
    return d * np.mean(np.log(nu / rho)) + np.log(len(y) / (n - 1))


def lca_similarity(parent, classes, leaf_height=0):
    children = {}
    for c, p in parent.items():
        children.setdefault(p, []).append(c)

    def height(node):
        return 1 + max(height(c) for c in children[node]) if node in children else leaf_height

    def up(node):
        out = [node]
        while out[-1] in parent:
            out.append(parent[out[-1]])
        return out

    root = up(classes[0])[-1]
    S = np.empty((len(classes), len(classes)))
    for i, a in enumerate(classes):
        anc = set(up(a))
        for j, b in enumerate(classes):
            S[i, j] = 1 - height(next(n for n in up(b) if n in anc)) / height(root)
    return S


CORRECT = {"ahp_at_k": ahp_at_k, "similarity_loss": similarity_loss, "knn_kl": knn_kl,
           "lca_similarity": lca_similarity}
CHECKS = {name: getattr(ex, f"check_{name}") for name in ex.EXERCISES}
REFERENCES = {name: getattr(ex, f"reference_{name}") for name in ex.EXERCISES}


@pytest.mark.parametrize("name", ex.EXERCISES)
def test_check_accepts_the_library_and_an_independent_solution(name, capsys):
    assert CHECKS[name](REFERENCES[name]) is True
    assert CHECKS[name](CORRECT[name]) is True
    assert "correct" in capsys.readouterr().out


def test_reference_ahp_is_the_library_on_a_hand_computed_ranking():
    # s = [0.5, 1, 0]: ideal cumsums 1, 1.5, 1.5; ranking cumsums 0.5, 1.5, 1.5 -> hP = 0.5, 1, 1
    assert ex.reference_ahp_at_k(np.array([0.5, 1.0, 0.0]), 3) == pytest.approx((2.5 - (0.5 + 1) / 2) / 3)
    assert ex.reference_ahp_at_k(np.array([0.5, 1.0, 0.0]), 1) == 0.0   # the area of one point


WRONG = {
    "ahp_at_k": {
        "k - 1 (off by one)": lambda similarities, k: ahp_at_k(similarities, max(1, k - 1)),
        "plain mean instead of the trapezoid": lambda similarities, k: float(np.mean(
            np.cumsum(similarities)[:k] / np.maximum(np.cumsum(np.sort(similarities)[::-1])[:k], 1e-300))),
        "ideal from the first k ranks only": lambda similarities, k: ahp_at_k(np.asarray(similarities)[:k], k),
    },
    "similarity_loss": {
        "mean over all B^2 pairs (diagonal counted)": lambda h, target_distance, p=1: float(np.mean(np.abs(
            (len(h[0]) - h @ h.T) / 2 / ((len(h[0]) - h @ h.T) / 2).mean()
            - target_distance / target_distance.mean()) ** p)),
        "not normalised by the mean": lambda h, target_distance, p=1: float(np.mean(np.abs(
            (len(h[0]) - h @ h.T) / 2 / len(h[0]) - target_distance)[~np.eye(len(h), dtype=bool)] ** p)),
        "p ignored": lambda h, target_distance, p=1: similarity_loss(h, target_distance, 1),
    },
    "knn_kl": {
        "log(m / n) instead of log(m / (n - 1))": lambda x, y, k=1: knn_kl(x, y, k) + np.log((len(x) - 1) / len(x)),
        "the point itself counted among its neighbours": lambda x, y, k=1: _knn_self_counted(x, y, k),
        "no factor d": lambda x, y, k=1: (knn_kl(x, y, k) - np.log(len(y) / (len(x) - 1))) / x.shape[1]
                                          + np.log(len(y) / (len(x) - 1)),
    },
    "lca_similarity": {
        "leaf height 1 (off by one)": lambda parent, classes: lca_similarity(parent, classes, leaf_height=1),
        "depth of the lca instead of 1 - height / height(root)": lambda parent, classes: _depth_similarity(parent, classes),
    },
}


def _knn_self_counted(x, y, k):
    """rho as the k-th smallest distance with the point itself (distance 0) counted: the (k-1)-th neighbour
    (and rho = 0, an infinite estimate, for k = 1)."""
    n, d = x.shape
    with np.errstate(divide="ignore"):
        rho = np.sort(np.linalg.norm(x[:, None] - x[None], axis=-1), axis=1)[:, k - 1]   # 0 for k = 1
        nu = np.sort(np.linalg.norm(x[:, None] - y[None], axis=-1), axis=1)[:, k - 1]
        return d * np.mean(np.log(nu / rho)) + np.log(len(y) / (n - 1))


def _depth_similarity(parent, classes):
    def up(node):
        out = [node]
        while out[-1] in parent:
            out.append(parent[out[-1]])
        return out

    depth = {c: len(up(c)) - 1 for c in classes}
    S = np.empty((len(classes), len(classes)))
    for i, a in enumerate(classes):
        anc = up(a)
        for j, b in enumerate(classes):
            lca = next(n for n in up(b) if n in set(anc))
            S[i, j] = (len(up(lca)) - 1) / max(depth[a], depth[b], 1) if a != b else 1.0
    return S


@pytest.mark.parametrize("name,variant", [(n, v) for n, vs in WRONG.items() for v in vs])
def test_check_rejects_a_subtly_wrong_function_and_shows_the_case(name, variant, capsys):
    assert CHECKS[name](WRONG[name][variant]) is False
    out = capsys.readouterr().out
    assert f"{name}: differs from the library" in out and "expected:" in out and "got:" in out


@pytest.mark.parametrize("name", ex.EXERCISES)
def test_unwritten_skeleton_is_reported_not_raised(name, capsys):
    assert CHECKS[name](getattr(ex, name)) is False          # the stubs raise NotImplementedError
    assert "not written yet" in capsys.readouterr().out


def test_a_crashing_function_is_reported_with_its_input(capsys):
    def broken(similarities, k):
        return similarities[k + 100]

    assert ex.check_ahp_at_k(broken) is False
    out = capsys.readouterr().out
    assert "raised IndexError" in out and "similarities =" in out and "k =" in out


def test_wrong_shape_and_non_numbers_are_rejected(capsys):
    assert ex.check_lca_similarity(lambda parent, classes: np.ones(len(classes))) is False
    assert ex.check_knn_kl(lambda x, y, k=1: "a number") is False
    assert capsys.readouterr().out.count("differs") == 2


def test_student_cannot_change_the_reference_inputs():
    def mutating(similarities, k):
        value = ahp_at_k(similarities, k)
        similarities[:] = 0.0
        return value

    assert ex.check_ahp_at_k(mutating, verbose=False) is True


def test_checks_are_quiet_when_asked():
    assert ex.check_similarity_loss(similarity_loss, verbose=False) is True
