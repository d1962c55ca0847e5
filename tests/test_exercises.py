"""The self-checking exercises (semhash_lib.exercises): each check accepts the library's function and an
independent correct implementation (written here in plain numpy, as a student would); it rejects subtly
wrong ones (off-by-one k, a wrong normalisation, the diagonal counted, ...) with the input, expected and got
values printed and a hint that names the mistake; it starts with a small input whose value is worked out by
hand (checked here against that hand computation), checks type and shape before values, reports an
unwritten skeleton or a crash (with its traceback) without raising, and returns a result that is truthy
exactly when all inputs agree and holds the failing input so that it can be run again."""

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
    for fn in (REFERENCES[name], CORRECT[name]):
        result = CHECKS[name](fn)
        assert isinstance(result, ex.CheckResult) and bool(result) is True and result.passed
        assert result.failing_input is None and result.hint is None and result.cases_checked > 30
        assert "passed" in repr(result)
    assert "correct" in capsys.readouterr().out


def test_reference_ahp_is_the_library_on_a_hand_computed_ranking():
    # s = [0.5, 1, 0]: ideal cumsums 1, 1.5, 1.5; ranking cumsums 0.5, 1.5, 1.5 -> hP = 0.5, 1, 1
    assert ex.reference_ahp_at_k(np.array([0.5, 1.0, 0.0]), 3) == pytest.approx((2.5 - (0.5 + 1) / 2) / 3)
    assert ex.reference_ahp_at_k(np.array([0.5, 1.0, 0.0]), 1) == 0.0   # the area of one point


# -- the small case first ------------------------------------------------------------------------------

#: each exercise's first input and its value worked out by hand (the derivations are the cases' notes)
HAND_VALUES = {
    "ahp_at_k": 1.3 / 3,                                        # hP@1..3 = 0.5, 0.75, 0.6
    "similarity_loss": (0.15 ** 2 + 0.3 ** 2 + 0.45 ** 2) / 3,  # |d~ - T~| = 0.15, 0.3, 0.45, p = 2
    "knn_kl": 7 / 3 * np.log(2),                                # 2 (log 2 + log 2 + log 1)/3 + log(4/2)
    "lca_similarity": np.array([[1, 2 / 3, 0, 0], [2 / 3, 1, 0, 0], [0, 0, 1, 1 / 3], [0, 0, 1 / 3, 1]]),
}
FIRST_CASES = {"ahp_at_k": ex._ahp_cases, "similarity_loss": ex._similarity_cases, "knn_kl": ex._kl_cases,
               "lca_similarity": ex._tree_cases}


@pytest.mark.parametrize("name", ex.EXERCISES)
def test_the_first_input_is_small_and_its_value_is_the_hand_computed_one(name):
    first = next(FIRST_CASES[name](np.random.default_rng(0), 30))
    arrays = [v for v in first.values() if isinstance(v, np.ndarray)]
    assert sum(a.size for a in arrays) <= 16 and len(ex.input_code(first).splitlines()) <= 4
    assert first.note                                            # the worked value is shown to the student
    # the library's value (rtol 1e-8: knn_kl's eps = 1e-8 inside each log) is the hand computation
    np.testing.assert_allclose(REFERENCES[name](**first), HAND_VALUES[name], rtol=1e-8, atol=1e-12)
    # the random inputs come smallest first, after the fixed ones
    sizes = [sum(np.size(v) for v in c.values() if isinstance(v, np.ndarray)) or len(c["parent"])
             for c in FIRST_CASES[name](np.random.default_rng(0), 30)][-30:]
    assert sizes == sorted(sizes)


@pytest.mark.parametrize("name", ex.EXERCISES)
def test_a_wrong_function_is_shown_the_small_case_first(name, capsys):
    result = CHECKS[name](lambda **inputs: 1.5 * np.asarray(REFERENCES[name](**inputs)) + 0.125)
    out = capsys.readouterr().out
    assert not result and result.case_number == 1 and result.problem == "value"
    assert "small enough to check by hand" in out and "worked out:" in out
    assert ex.input_code(result.failing_input).splitlines()[1] in out   # the input, as pasteable Python


# -- every known mistake is caught and named -------------------------------------------------------------

def _ahp(similarities, k, *, ideal_from=None, normalise_by_rank=False, nan_for_0=False, keep_ends=False,
         divisor=None, ranks=None):
    """AHP@k written as a student would, with the bug switched on by one keyword."""
    s = np.asarray(similarities, dtype=float)
    r = k if ranks is None else min(ranks, len(s))
    ideal = np.cumsum(ideal_from(s) if ideal_from else np.sort(s)[::-1])[:r]
    if normalise_by_rank:
        ideal = np.arange(1, r + 1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        hp = np.cumsum(s)[:r] / ideal if nan_for_0 else np.divide(np.cumsum(s)[:r], ideal, out=np.zeros(r),
                                                                    where=ideal > 0)
    area = hp.sum() if keep_ends else hp.sum() - (hp[0] + hp[-1]) / 2
    return area / (r if divisor is None else divisor(r))


def _similarity(h, target_distance, p=1, *, all_in_means=False, all_in_loss=False, scale=None, dist=None,
                power=None):
    """The relative similarity loss written as a student would, with one bug switched on."""
    h, T = np.asarray(h, dtype=float), np.asarray(target_distance, dtype=float)
    B, K = h.shape
    d = dist(h) if dist else (K - h @ h.T) / 2
    off = ~np.eye(B, dtype=bool)
    if scale:
        dn, Tn = scale(d, T, K)
    else:
        dn, Tn = (d / d.mean(), T / T.mean()) if all_in_means else (d / d[off].mean(), T / T[off].mean())
    e = np.abs(dn - Tn) if all_in_loss else np.abs(dn - Tn)[off]
    return power(e, p) if power else np.mean(e ** p)


def _kl(x, y, k=1, *, rho_col=None, nu_col=None, keep_self=False, factor=None, square=False, const=None,
        total=False, upside_down=False):
    """The k-NN KL estimate written as a student would, with one bug switched on."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n, d = x.shape
    m = len(y)
    d_xx = ((x[:, None] - x[None]) ** 2).sum(-1)
    d_xy = ((x[:, None] - y[None]) ** 2).sum(-1)
    if not square:
        d_xx, d_xy = np.sqrt(d_xx), np.sqrt(d_xy)
    if not keep_self:
        np.fill_diagonal(d_xx, np.inf)
    rho = np.sort(d_xx, axis=1)[:, k - 1 if rho_col is None else rho_col(k)]
    nu = np.sort(d_xy, axis=1)[:, k - 1 if nu_col is None else nu_col(k)]
    with np.errstate(divide="ignore"):
        logs = np.log(rho / nu) if upside_down else np.log(nu / rho)
    term = logs.sum() if total else logs.mean()
    return (d if factor is None else factor(d)) * term + (np.log(m / (n - 1)) if const is None else const(m, n))


def _lca(parent, classes, *, leaf=0, agg=max, levels=0, self_first=True, from_root=False, how="height",
         dist=False, zero_diag=False):
    """The LCA-height similarity written as a student would, with one bug switched on."""
    children = {}
    for c, p in parent.items():
        children.setdefault(p, []).append(c)

    def height(node):
        return 1 + agg(height(c) for c in children[node]) if node in children else leaf

    def path(node):                      # node, parent, ..., root
        out = [node]
        while out[-1] in parent:
            out.append(parent[out[-1]])
        return out

    def ancestors(node):
        return path(node) if self_first else path(node)[1:]

    root = path(classes[0])[-1]
    H = height(root) + levels
    S = np.empty((len(classes), len(classes)))
    for i, a in enumerate(classes):
        for j, b in enumerate(classes):
            common = [n for n in ancestors(b) if n in set(ancestors(a))]
            lca = common[-1] if from_root else common[0]
            depth = len(path(lca)) - 1
            S[i, j] = {"height": 1 - height(lca) / H, "1-depth": 1 - depth / H, "depth": depth / H,
                       "distance": height(lca) / H}[how]
    if zero_diag:
        np.fill_diagonal(S, 0.0)
    return S


def _depth_similarity(parent, classes):
    """depth(lca) / max(depth(a), depth(b)), diagonal 1 (a Wu-Palmer-like mix-up of depth and height)."""
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


def _knn_self_counted(x, y, k):
    """rho as the k-th smallest distance with the point itself (distance 0) counted: the (k-1)-th neighbour
    (and rho = 0, an infinite estimate, for k = 1)."""
    n, d = x.shape
    with np.errstate(divide="ignore"):
        rho = np.sort(np.linalg.norm(x[:, None] - x[None], axis=-1), axis=1)[:, k - 1]   # 0 for k = 1
        nu = np.sort(np.linalg.norm(x[:, None] - y[None], axis=-1), axis=1)[:, k - 1]
        return d * np.mean(np.log(nu / rho)) + np.log(len(y) / (n - 1))


#: exercise -> (the mistake in words, a wrong implementation, the name of the Mistake the check must report)
WRONG = {
    "ahp_at_k": {
        "k - 1 (off by one)": (lambda similarities, k: ahp_at_k(similarities, max(1, k - 1)), "k - 1 ranks"),
        "k + 1 ranks": (lambda similarities, k: _ahp(similarities, k, ranks=k + 1), "k + 1 ranks"),
        "area divided by k - 1": (lambda similarities, k: _ahp(similarities, k, divisor=lambda r: max(r - 1, 1)),
                                  "divided by k - 1"),
        "plain mean instead of the trapezoid": (lambda similarities, k: float(np.mean(
            np.cumsum(similarities)[:k] / np.maximum(np.cumsum(np.sort(similarities)[::-1])[:k], 1e-300))),
            "plain mean"),
        "ideal from the first k ranks only": (lambda similarities, k: ahp_at_k(np.asarray(similarities)[:k], k),
                                              "ideal from the first k ranks"),
        "ideal sorted ascending": (lambda similarities, k: _ahp(similarities, k, ideal_from=np.sort),
                                   "ideal sorted ascending"),
        "normalised by the rank": (lambda similarities, k: _ahp(similarities, k, normalise_by_rank=True),
                                   "divided by the rank"),
        "0/0 left as nan": (lambda similarities, k: _ahp(similarities, k, nan_for_0=True), "0/0 is nan"),
    },
    "similarity_loss": {
        "mean over all B^2 pairs (diagonal counted)": (lambda h, target_distance, p=1: float(np.mean(np.abs(
            (len(h[0]) - h @ h.T) / 2 / ((len(h[0]) - h @ h.T) / 2).mean()
            - target_distance / target_distance.mean()) ** p)), "diagonal counted"),
        "diagonal in the normalising means": (lambda h, target_distance, p=1: _similarity(
            h, target_distance, p, all_in_means=True), "diagonal in the means"),
        "diagonal in the final mean": (lambda h, target_distance, p=1: _similarity(
            h, target_distance, p, all_in_loss=True), "diagonal in the loss"),
        "not normalised by the mean": (lambda h, target_distance, p=1: float(np.mean(np.abs(
            (len(h[0]) - h @ h.T) / 2 / len(h[0]) - target_distance)[~np.eye(len(h), dtype=bool)] ** p)),
            "not normalised by the mean"),
        "raw distances": (lambda h, target_distance, p=1: _similarity(
            h, target_distance, p, scale=lambda d, T, K: (d, T)), "not normalised by the mean"),
        "p ignored": (lambda h, target_distance, p=1: similarity_loss(h, target_distance, 1), "p ignored"),
        "power of the mean": (lambda h, target_distance, p=1: _similarity(
            h, target_distance, p, power=lambda e, p: np.mean(e) ** p), "p outside the mean"),
        "an L_p norm": (lambda h, target_distance, p=1: _similarity(
            h, target_distance, p, power=lambda e, p: np.mean(e ** p) ** (1 / p)), "p-th root"),
        "distances of sign(h)": (lambda h, target_distance, p=1: similarity_loss(
            np.sign(h), target_distance, p), "distance of sign(h)"),
        "Euclidean distances": (lambda h, target_distance, p=1: _similarity(
            h, target_distance, p, dist=lambda h: np.linalg.norm(h[:, None] - h[None], axis=-1)),
            "Euclidean distance"),
    },
    "knn_kl": {
        "log(m / n) instead of log(m / (n - 1))": (
            lambda x, y, k=1: knn_kl(x, y, k) + np.log((len(x) - 1) / len(x)), "log(m/n)"),
        "log((n - 1) / m), upside down": (
            lambda x, y, k=1: _kl(x, y, k, const=lambda m, n: np.log((n - 1) / m)), "log((n-1)/m)"),
        "no constant": (lambda x, y, k=1: _kl(x, y, k, const=lambda m, n: 0.0), "no constant"),
        "the point itself counted among its neighbours": (lambda x, y, k=1: _knn_self_counted(x, y, k),
                                                          "self counted"),
        "no factor d": (lambda x, y, k=1: (knn_kl(x, y, k) - np.log(len(y) / (len(x) - 1))) / x.shape[1]
                        + np.log(len(y) / (len(x) - 1)), "no factor d"),
        "the (k-1)-th neighbour (index k - 2)": (
            lambda x, y, k=1: _kl(x, y, k, rho_col=lambda k: k - 2, nu_col=lambda k: k - 2), "(k-1)-th neighbour"),
        "the (k+1)-th neighbour (index k)": (
            lambda x, y, k=1: _kl(x, y, k, rho_col=lambda k: k, nu_col=lambda k: k), "(k+1)-th neighbour"),
        "self skipped in y too": (lambda x, y, k=1: _kl(x, y, k, keep_self=True, rho_col=lambda k: k,
                                                        nu_col=lambda k: k), "(k+1)-th neighbour in y"),
        "squared distances": (lambda x, y, k=1: _kl(x, y, k, square=True), "squared distances"),
        "sum over i": (lambda x, y, k=1: _kl(x, y, k, total=True), "sum instead of mean"),
        "log(rho / nu)": (lambda x, y, k=1: _kl(x, y, k, upside_down=True), "log(rho/nu)"),
    },
    "lca_similarity": {
        "leaf height 1 (off by one)": (lambda parent, classes: lca_similarity(parent, classes, leaf_height=1),
                                       "leaf height 1"),
        "depth of the lca instead of 1 - height / height(root)": (
            lambda parent, classes: _depth_similarity(parent, classes), "depth instead of height"),
        "1 - depth(lca) / height(root)": (lambda parent, classes: _lca(parent, classes, how="1-depth"),
                                          "depth instead of height"),
        "depth(lca) / height(root)": (lambda parent, classes: _lca(parent, classes, how="depth"),
                                      "depth instead of height"),
        "height along the shortest path": (lambda parent, classes: _lca(parent, classes, agg=min),
                                           "shortest path to a leaf"),
        "height(root) in levels": (lambda parent, classes: _lca(parent, classes, levels=1),
                                   "height(root) in levels"),
        "ancestors start at the parent": (lambda parent, classes: _lca(parent, classes, self_first=False),
                                          "not its own ancestor"),
        "the root as the common ancestor": (lambda parent, classes: _lca(parent, classes, from_root=True),
                                            "highest common ancestor"),
        "the distance": (lambda parent, classes: _lca(parent, classes, how="distance"),
                         "distance, not similarity"),
        "diagonal 0": (lambda parent, classes: _lca(parent, classes, zero_diag=True), "diagonal 0"),
    },
}
HINTS = {name: {m.name: m.hint for m in ex.MISTAKES[name]} for name in ex.EXERCISES}


@pytest.mark.parametrize("name,variant", [(n, v) for n, vs in WRONG.items() for v in vs])
def test_check_rejects_a_wrong_function_names_the_mistake_and_shows_the_case(name, variant, capsys):
    wrong, mistake = WRONG[name][variant]
    with np.errstate(all="ignore"):
        result = CHECKS[name](wrong)
    out = capsys.readouterr().out
    assert not result and result.passed is False
    assert result.mistakes == (mistake,), f"{variant}: reported {result.mistakes}"
    assert result.hint is not None and "hint:" in out
    hints = [h for n, h in HINTS[name].items() if n == mistake] + \
        [m.hint for m in ex.MISTAKES[name] if m.name == mistake]
    assert any(h.split(":")[0] in result.hint for h in hints)
    assert result.problem in ("value", "not finite") and "expected:" in out and "got:" in out
    if result.problem == "value":
        assert f"{name}: differs from the library" in out


def test_every_known_mistake_has_a_wrong_function_that_triggers_it():
    for name in ex.EXERCISES:
        assert {m.name for m in ex.MISTAKES[name]} == {mistake for _, mistake in WRONG[name].values()}, name


def test_an_unknown_mistake_gets_no_hint_but_a_description(capsys):
    result = ex.check_similarity_loss(lambda h, target_distance, p=1: 2 * similarity_loss(h, target_distance, p))
    assert not result and result.hint is None and result.mistakes == ()
    assert "2 x the expected" in result.note and "note: " in capsys.readouterr().out
    result = ex.check_lca_similarity(lambda parent, classes: lca_similarity(parent, classes) * 0.5 + 0.5)
    assert result.hint is None and "12 of 16 entries differ" in capsys.readouterr().out


def test_a_mistake_that_does_not_apply_to_the_first_input_is_recognised_on_the_next():
    # k = 1 in the small case: the (k-1)-th neighbour is column -1 there (the farthest), not a known mistake
    result = ex.check_knn_kl(WRONG["knn_kl"]["the (k-1)-th neighbour (index k - 2)"][0], verbose=False)
    assert result.case_number == 1 and result.problem == "not finite"
    assert result.mistakes == ("(k-1)-th neighbour",) and "next inputs" in result.hint


# -- type and shape before values --------------------------------------------------------------------------

def test_wrong_shape_and_non_numbers_are_reported_as_such(capsys):
    result = ex.check_knn_kl(lambda x, y, k=1: np.array([knn_kl(x, y, k)]))      # the right value, in an array
    out = capsys.readouterr().out
    assert not result and result.problem == "shape" and "differs" not in out
    assert "expected a single number (a float), got a numpy array of shape (1,)" in out
    assert "float(value)" in out and "the number(s) inside are right" in result.hint

    result = ex.check_lca_similarity(lambda parent, classes: np.ones(len(classes)))
    out = capsys.readouterr().out
    assert result.problem == "shape"
    assert "expected a float array of shape (4, 4), got a numpy array of shape (4,)" in out

    assert ex.check_knn_kl(lambda x, y, k=1: "a number").problem == "shape"
    assert "returned the str 'a number'" in capsys.readouterr().out
    assert ex.check_ahp_at_k(lambda similarities, k: None).problem == "shape"
    assert "returned None" in capsys.readouterr().out
    assert ex.check_similarity_loss(lambda h, target_distance, p=1: [1.0, 2.0]).problem == "shape"
    assert "got a list of length 2" in capsys.readouterr().out


def test_nan_is_reported_before_the_value():
    result = ex.check_ahp_at_k(lambda similarities, k: float("nan"), verbose=False)
    assert result.problem == "not finite" and "non-finite" in result.message


# -- a crash, an unwritten skeleton ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ex.EXERCISES)
def test_unwritten_skeleton_is_reported_not_raised(name, capsys):
    result = CHECKS[name](getattr(ex, name))          # the stubs raise NotImplementedError
    assert not result and result.problem == "not written"
    assert "not written yet" in capsys.readouterr().out


def test_a_crashing_function_is_reported_with_its_traceback_and_input(capsys):
    def broken(similarities, k):
        return similarities[k + 100]

    result = ex.check_ahp_at_k(broken)
    out = capsys.readouterr().out
    assert not result and result.problem == "raised"
    assert "raised IndexError" in out and "similarities = np.array([0.5, 1.0, 0.0, 1.0])" in out and "k = 3" in out
    assert "traceback" in out and "in broken" in out and "return similarities[k + 100]" in out
    assert "in check" not in result.traceback                       # the checker's own frame is left out
    assert result.traceback.rstrip().endswith("IndexError: index 103 is out of bounds for axis 0 with size 4")
    with pytest.raises(IndexError):
        broken(**result.failing_input)                              # the input that caused it


# -- the result: truthy exactly when all pass, and the failing input can be run again -----------------------

def test_failing_input_runs_again_and_its_code_rebuilds_it_exactly():
    wrong = WRONG["similarity_loss"]["distances of sign(h)"][0]       # right on the small case (h = +-1)
    result = ex.check_similarity_loss(wrong, verbose=False)
    assert result.case_number > 1 and result.problem == "value"
    inputs = result.failing_input
    assert wrong(**inputs) == result.got
    assert ex.reference_similarity_loss(**inputs) == result.expected
    assert result.failing_input is not result.failing_input                 # a fresh copy each time
    namespace = {}
    exec(result.failing_input_code, namespace)                              # noqa: S102 - our own source
    for key, value in inputs.items():
        assert np.array_equal(namespace[key], value) and np.asarray(namespace[key]).dtype == np.asarray(value).dtype
    assert "res.failing_input_code" in result.message and "failing_input" in repr(result)


def test_a_large_failing_input_is_summarised_and_still_exact():
    result = ex.check_knn_kl(lambda x, y, k=1: knn_kl(x, y, k) + (x.size > 40), verbose=False)
    assert result.failing_input["x"].size > 40 and "rounded here" in result.message
    namespace = {}
    exec(result.failing_input_code, namespace)                              # noqa: S102 - our own source
    assert np.array_equal(namespace["x"], result.failing_input["x"])


def test_the_tree_input_rebuilds_as_python():
    result = ex.check_lca_similarity(WRONG["lca_similarity"]["leaf height 1 (off by one)"][0], verbose=False)
    namespace = {}
    exec(result.failing_input_code, namespace)                              # noqa: S102 - our own source
    assert namespace["parent"] == result.failing_input["parent"] and namespace["classes"] == ["a1", "a2", "b1", "b2"]


def test_result_truthiness_for_existing_callers():
    assert ex.check_knn_kl(knn_kl, verbose=False)
    assert not ex.check_knn_kl(WRONG["knn_kl"]["no factor d"][0], verbose=False)
    if ex.check_ahp_at_k(WRONG["ahp_at_k"]["plain mean instead of the trapezoid"][0], verbose=False):
        pytest.fail("a failing check must be falsy")


def test_student_cannot_change_the_reference_inputs():
    def mutating(similarities, k):
        value = ahp_at_k(similarities, k)
        similarities[:] = 0.0
        return value

    assert ex.check_ahp_at_k(mutating, verbose=False)


def test_checks_are_quiet_when_asked(capsys):
    assert ex.check_similarity_loss(similarity_loss, verbose=False)
    result = ex.check_similarity_loss(lambda h, target_distance, p=1: 0.0, verbose=False)
    assert capsys.readouterr().out == "" and "differs from the library" in result.message
