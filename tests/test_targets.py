"""Semantic targets: curated synsets, WordNet hierarchy similarity, sentence similarity, batch targets."""

import numpy as np
import pytest
import torch

from semhash_lib import targets
from semhash_lib.targets import ClassHierarchy, pairwise_targets
from semhash_lib.targets.synsets import synset_map


@pytest.fixture(scope="module")
def wn():
    from semhash_lib.resources import ResourceNotFoundError, wordnet
    try:
        return wordnet()
    except ResourceNotFoundError as e:
        pytest.skip(f"WordNet not available: {e}")


@pytest.fixture(scope="module")
def cifar_S(wn):
    names, S = targets.wordnet_similarity("cifar100")
    return {n: i for i, n in enumerate(names)}, S


# -- curated maps ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset", ["cifar100", "fashion-mnist"])
def test_every_curated_synset_resolves_with_its_wnid_and_intended_ancestor(wn, dataset):
    for e in synset_map(dataset):
        s = wn.synset(e.synset)
        assert f"n{s.offset():08d}" == e.wnid, e
        ancestors = {a.name() for path in s.hypernym_paths() for a in path}
        assert e.expected_ancestor in ancestors, f"{e.class_name}: {e.synset} is not under {e.expected_ancestor}"


def test_curated_classes_match_the_datasets_official_class_order(shared_data):
    from semhash_lib.data import load_arrays
    for name in ("cifar100", "fashion-mnist"):
        try:
            _, _, class_names = load_arrays(name, "test")
        except FileNotFoundError as e:
            pytest.skip(str(e))
        assert [e.class_name for e in synset_map(name)] == list(class_names)


@pytest.mark.parametrize("cls,ancestor", [
    ("dolphin", "cetacean.n.01"), ("whale", "cetacean.n.01"), ("skunk", "mammal.n.01"), ("trout", "fish.n.01"),
    ("television", "receiver.n.01"), ("ray", "fish.n.01"), ("seal", "mammal.n.01"), ("maple_tree", "tree.n.01"),
    ("mouse", "rodent.n.01"), ("keyboard", "device.n.01"), ("tiger", "feline.n.01"), ("crab", "crustacean.n.01"),
])
def test_senses_that_automatic_lookup_gets_wrong(wn, cls, ancestor):
    synset = dict((e.class_name, e.synset) for e in synset_map("cifar100"))[cls]
    assert ancestor in {a.name() for p in wn.synset(synset).hypernym_paths() for a in p}


# -- hierarchy and LCA height -------------------------------------------------------------------------

def test_lca_height_on_a_hand_written_tree():
    #            root
    #          /      \
    #       animal    vehicle
    #       /    \        \
    #     cat    dog      car
    #    (and cat has a sub-class "kitten" to make heights uneven)
    parent = {"animal": "root", "vehicle": "root", "cat": "animal", "dog": "animal", "car": "vehicle", "kitten": "cat"}
    tree = ClassHierarchy(parent, ["kitten", "dog", "car"])
    # heights: kitten 0, dog 0, car 0, cat 1, vehicle 1, animal 2, root 3
    assert [tree.height(n) for n in ("kitten", "cat", "animal", "vehicle", "root")] == [0, 1, 2, 1, 3]
    S = tree.similarity_matrix("lca_height")
    expected = np.array([[1, 1 - 2 / 3, 0], [1 - 2 / 3, 1, 0], [0, 0, 1]])
    np.testing.assert_allclose(S, expected)
    # Wu-Palmer with depths from 1 at the root: kitten 4, dog 3, car 3, animal 2, root 1
    np.testing.assert_allclose(tree.similarity_matrix("wup")[0, 1], 2 * 2 / (4 + 3))
    np.testing.assert_allclose(tree.similarity_matrix("path")[0, 2], 1 / (1 + 5))


def test_collapsing_single_child_chains_on_a_hand_written_tree():
    #   top - root - animal - mammal - cat          (animal -> mammal is a chain; top -> root too)
    #                      \- bird (class)          cat has a single child "kitten" but is a class: kept
    #              \- vehicle - car
    #                        \- bus
    parent = {"root": "top", "animal": "root", "mammal": "animal", "cat": "mammal", "kitten": "cat",
              "bird": "animal", "vehicle": "root", "car": "vehicle", "bus": "vehicle"}
    tree = ClassHierarchy(parent, ["kitten", "cat", "bird", "car", "bus"])
    flat = tree.collapse_chains()
    assert flat.root == "root"
    assert dict(flat.parent) == {"animal": "root", "cat": "animal", "kitten": "cat", "bird": "animal",
                                 "vehicle": "root", "car": "vehicle", "bus": "vehicle"}
    # before: kitten 0, cat 1, mammal 2, animal 3, root 4, top 5; after: mammal gone, animal 2, root 3
    assert tree.height() == 5 and flat.height() == 3
    np.testing.assert_allclose(flat.similarity_matrix("lca_height")[0, 2], 1 - 2 / 3)   # kitten, bird
    np.testing.assert_allclose(tree.similarity_matrix("lca_height")[0, 2], 1 - 3 / 5)


def test_vectorised_similarity_equals_pairwise_lca_on_the_wordnet_tree(wn):
    for hierarchy in ("wordnet", "wordnet_collapsed"):
        tree = targets.class_hierarchy("cifar100", hierarchy)
        S = {m: tree.similarity_matrix(m) for m in ("lca_height", "wup", "path")}
        rng = np.random.default_rng(0)
        for i, j in rng.integers(0, 100, size=(60, 2)):
            a, b = tree.classes[i], tree.classes[j]
            lca = tree.lca(a, b)
            da, db, dl = tree.depth(a), tree.depth(b), tree.depth(lca)
            assert S["lca_height"][i, j] == pytest.approx(1 - tree.height(lca) / tree.height() if i != j else 1)
            assert S["wup"][i, j] == pytest.approx(2 * (dl + 1) / (da + db + 2) if i != j else 1)
            assert S["path"][i, j] == pytest.approx(1 / (1 + da + db - 2 * dl))


def test_tree_rejects_cycles_and_two_roots():
    with pytest.raises(ValueError, match="root"):
        ClassHierarchy({"a": "r1", "b": "r2"}, ["a", "b"])
    with pytest.raises(ValueError):
        ClassHierarchy({"a": "b", "b": "a", "c": "r"}, ["c"])


@pytest.mark.parametrize("measure", ["lca_height", "wup", "path"])
def test_known_pairs_are_ordered(wn, measure):
    names, S = targets.wordnet_similarity("cifar100", measure=measure)
    i = {n: k for k, n in enumerate(names)}
    assert S[i["maple_tree"], i["oak_tree"]] > S[i["maple_tree"], i["bus"]]
    assert S[i["lion"], i["tiger"]] > S[i["lion"], i["rose"]]
    assert S[i["boy"], i["girl"]] > S[i["boy"], i["snake"]]
    assert S[i["whale"], i["dolphin"]] > S[i["whale"], i["trout"]]


@pytest.mark.parametrize("measure", ["lca_height", "wup", "path"])
def test_similarity_matrix_properties(wn, measure):
    names, S = targets.wordnet_similarity("cifar100", measure=measure)
    assert S.shape == (100, 100) and len(names) == 100 and S.dtype == np.float64
    np.testing.assert_array_equal(S, S.T)
    np.testing.assert_array_equal(np.diag(S), 1.0)
    assert S.min() >= 0 and S.max() <= 1
    off = S[~np.eye(100, dtype=bool)]
    assert off.max() < 1.0, "two distinct classes must not be identical"


def test_lca_height_matches_wordnet_lowest_common_hypernym(wn, cifar_S):
    """The tree's LCA of lion and tiger is WordNet's lowest common hypernym (big cat)."""
    tree = targets.class_hierarchy("cifar100")
    assert tree.lca("lion.n.01", "tiger.n.02") == "big_cat.n.01"
    assert wn.synset("lion.n.01").lowest_common_hypernyms(wn.synset("tiger.n.02"))[0].name() == "big_cat.n.01"
    i, S = cifar_S
    expected = 1 - tree.height("big_cat.n.01") / tree.height()
    assert S[i["lion"], i["tiger"]] == pytest.approx(expected)


def test_barz_tree_loads_and_agrees_with_wordnet_tree(wn, shared_data, cifar_S):
    tree = targets.load_barz_hierarchy()
    assert len(tree.classes) == 100 and tree.classes == list(range(100))
    assert all(tree.height(c) == 0 for c in tree.classes), "Barz's classes are leaves"
    names, Sb = targets.wordnet_similarity("cifar100", hierarchy="barz")
    i, S = cifar_S
    assert names == list(i)
    off = ~np.eye(100, dtype=bool)
    from scipy.stats import spearmanr
    assert spearmanr(S[off], Sb[off]).correlation > 0.7   # two trees of one hierarchy agree broadly


def test_wnid_and_synset_lists(wn):
    names, S = targets.wordnet_similarity(["n02084071", "n02121808", "n04285008"])  # dog, domestic cat, sports car
    assert names == ["n02084071", "n02121808", "n04285008"]
    assert S[0, 1] > S[0, 2]
    with pytest.raises(ValueError, match="synset"):
        targets.wordnet_similarity(["not_a_word.n.01"])
    with pytest.raises(ValueError, match="measure"):
        targets.wordnet_similarity("cifar100", measure="jaccard")


# -- cache --------------------------------------------------------------------------------------------

def test_cache_hit_equals_and_corrupt_cache_is_rebuilt(wn, tmp_path, monkeypatch):
    monkeypatch.setenv("SEMHASH_CACHE", str(tmp_path))
    _, S1 = targets.wordnet_similarity("fashion-mnist")
    files = list((tmp_path / "targets").glob("wordnet-*.npz"))
    assert len(files) == 1
    _, S2 = targets.wordnet_similarity("fashion-mnist")
    np.testing.assert_array_equal(S1, S2)
    files[0].write_bytes(b"not a zip file")
    _, S3 = targets.wordnet_similarity("fashion-mnist")
    np.testing.assert_array_equal(S1, S3)
    assert np.load(files[0])["S"].shape == (10, 10)


# -- sentence similarity --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sentence_ok():
    from semhash_lib.resources import ResourceNotFoundError, sentence_model
    try:
        sentence_model()
    except (ResourceNotFoundError, ImportError) as e:
        pytest.skip(f"sentence model not available: {e}")


def test_sentence_similarity_paraphrase_above_unrelated(sentence_ok):
    texts = ["A man is riding a bicycle down the street.", "A person rides a bike along the road.",
             "The stock market fell sharply on Monday."]
    S = targets.sentence_similarity(texts, use_cache=False)
    assert S.shape == (3, 3) and np.allclose(S, S.T) and np.allclose(np.diag(S), 1)
    assert S.min() >= 0 and S.max() <= 1
    assert S[0, 1] > S[0, 2] + 0.2


def test_sentence_similarity_mean_of_several_captions(sentence_ok):
    caps = [["a dog runs on grass", "a brown dog playing outside"], ["a plate of pasta"]]
    E = targets.embed_texts(caps, use_cache=False)
    parts = targets.embed_texts(["a dog runs on grass", "a brown dog playing outside"], use_cache=False)
    mean = parts.mean(0) / np.linalg.norm(parts.mean(0))
    np.testing.assert_allclose(E[0], mean, atol=1e-5)
    first = targets.embed_texts(caps, use_cache=False, reduce="first")
    np.testing.assert_allclose(first[0], parts[0], atol=1e-5)
    with pytest.raises(ValueError, match="reduce"):
        targets.embed_texts(caps, reduce="max")


def test_mappings_are_monotone_and_bounded():
    cos = np.linspace(-1, 1, 11)
    for m in ("linear", "angular", "clip"):
        s = targets.cosine_to_similarity(cos, m)
        assert (np.diff(s) >= 0).all() and s.min() >= 0 and s.max() <= 1
    np.testing.assert_allclose(targets.cosine_to_similarity(np.array([0.0]), "angular"), [0.5])


# -- batch targets --------------------------------------------------------------------------------------

def test_pairwise_targets_from_labels_equal_class_matrix_entries():
    S = np.array([[1.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 1.0]])
    y = torch.tensor([2, 0, 0, 1])
    T = pairwise_targets(y, S)
    for a in range(4):
        for b in range(4):
            assert T[a, b].item() == pytest.approx(1 - S[y[a], y[b]])
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        pairwise_targets(torch.tensor([0, 3]), S)
    with pytest.raises(ValueError, match="class_similarity"):
        pairwise_targets(y)


def test_pairwise_targets_from_embeddings():
    e = torch.tensor([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    T = pairwise_targets(e)
    expected = 1 - (1 + torch.tensor([[1.0, 0, -1], [0, 1, 0], [-1, 0, 1]])) / 2
    torch.testing.assert_close(T, expected)
    with pytest.raises(ValueError, match="NaN"):
        pairwise_targets(torch.tensor([[float("nan"), 1.0]]))


# -- comparing similarity matrices ----------------------------------------------------------------------

def test_rank_agreement_and_neighbour_overlap_against_brute_force():
    from itertools import combinations
    from scipy.stats import spearmanr
    rng = np.random.default_rng(1)
    X = rng.random((7, 7))
    Sa = (X + X.T) / 2
    Sb = Sa ** 3                                     # monotone transform: identical ranks
    assert targets.rank_agreement(Sa, Sb)["spearman"] == pytest.approx(1.0)
    assert targets.rank_agreement(Sa, Sb)["kendall_tau_b"] == pytest.approx(1.0)
    assert targets.rank_agreement(Sa, -Sa)["spearman"] == pytest.approx(-1.0)
    Y = rng.random((7, 7)); Sc = (Y + Y.T) / 2
    pairs = list(combinations(range(7), 2))
    ref = spearmanr([Sa[p] for p in pairs], [Sc[p] for p in pairs]).correlation
    assert targets.rank_agreement(Sa, Sc)["spearman"] == pytest.approx(ref)
    assert targets.rank_agreement(Sa, Sc)["pairs"] == 21
    # tie-inclusive neighbour sets on a hand-written row: 0.9 > 0.5 = 0.5 > 0.1 with k=2 -> three neighbours
    S = np.array([[1, .9, .5, .5, .1], [.9, 1, .2, .3, .4], [.5, .2, 1, .8, .7], [.5, .3, .8, 1, .6],
                  [.1, .4, .7, .6, 1]])
    assert targets.neighbour_sets(S, 2)[0].tolist() == [False, True, True, True, False]
    assert targets.neighbour_sets(S, 2)[1].tolist() == [True, False, False, False, True]
    S2 = S.copy(); S2[0, 3] = S2[3, 0] = 0.0        # row 0 now has neighbours {1, 2}: Jaccard 2/3
    assert targets.neighbour_overlap(S, S2, 2)[0] == pytest.approx(2 / 3)
    assert (targets.neighbour_overlap(S, S, 2) == 1).all()
    names = list("abcde")
    assert targets.describe_neighbours(S, names, 0, n=2) == "b 0.90, c 0.50 (+1 tied)"   # d ties with c
    assert targets.describe_neighbours(S, names, 2, n=2) == "d 0.80, e 0.70"
    with pytest.raises(ValueError, match="same shape"):
        targets.rank_agreement(S, S[:4, :4])
    with pytest.raises(ValueError, match="k must"):
        targets.neighbour_sets(S, 5)


def test_class_texts_prompts_and_glosses(wn):
    prompts = targets.class_texts("cifar100", "prompt")
    glosses = targets.class_texts("cifar100", "gloss")
    assert len(prompts) == len(glosses) == 100
    assert prompts[0] == "a photo of an apple" and "a photo of a maple tree" in prompts
    i = [e.class_name for e in synset_map("cifar100")].index("dolphin")
    assert glosses[i] == "dolphin: " + wn.synset("dolphin.n.02").definition()
    assert "toothed whale" in glosses[i]
    assert targets.class_texts("fashion-mnist")[1] == "a photo of a trouser"
    with pytest.raises(ValueError, match="source"):
        targets.class_texts("cifar100", "caption")
