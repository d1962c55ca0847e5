"""Offline resources (semhash_lib.resources) against published facts: WordNet 3.0 offsets and
hypernyms, the sentence encoder's behaviour, the pretrained weights file."""

import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from semhash_lib import resources
from semhash_lib.resources import ResourceNotFoundError


@pytest.fixture(scope="module")
def wn():
    try:
        return resources.wordnet()
    except ResourceNotFoundError as e:
        pytest.skip(f"WordNet is not installed here: {e}")


def test_wordnet_dog_offset_is_the_imagenet_wnid(wn):
    # Princeton WordNet 3.0: dog.n.01 has noun offset 02084071, i.e. ImageNet's wnid n02084071.
    dog = wn.synset("dog.n.01")
    assert dog.offset() == 2084071 and f"{dog.pos()}{dog.offset():08d}" == "n02084071"
    assert wn.synset_from_pos_and_offset("n", 2084071) == dog
    assert "domestic_dog" in dog.lemma_names()


def test_wordnet_lowest_common_hypernym_of_dog_and_cat_is_carnivore(wn):
    dog, cat = wn.synset("dog.n.01"), wn.synset("cat.n.01")
    assert dog.lowest_common_hypernyms(cat) == [wn.synset("carnivore.n.01")]
    assert wn.synset("carnivore.n.01") in {h for path in dog.hypernym_paths() for h in path}


def test_wordnet_missing_everywhere_names_each_place(tmp_path, monkeypatch):
    import nltk

    def offline(*args, **kwargs):
        raise OSError("no network")

    empty = tmp_path / "nltk_data"
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "nltk_elsewhere")])
    monkeypatch.setattr(resources, "DEBIAN_WORDNET", tmp_path / "usr-share-wordnet")
    monkeypatch.setattr(nltk, "download", offline)
    with pytest.raises(ResourceNotFoundError) as e:
        resources.wordnet.__wrapped__(str(empty))  # bypass the cache; nothing is cached on failure
    msg = str(e.value)
    for place in (empty / "corpora" / "wordnet", tmp_path / "nltk_elsewhere" / "corpora" / "wordnet",
                  tmp_path / "usr-share-wordnet"):
        assert str(place) in msg
    assert "no network" in msg and "wordnet-base" in msg


@pytest.fixture(scope="module")
def encoder():
    try:
        return resources.sentence_model()
    except ResourceNotFoundError as e:
        pytest.skip(f"the default sentence model is not installed: {e}")


def test_sentence_model_embeds_offline_and_ranks_paraphrases(encoder, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    texts = ["A man is playing a guitar.", "Someone plays an acoustic guitar.",
             "The central bank raised interest rates again."]
    e = encoder.encode(texts, convert_to_numpy=True, normalize_embeddings=True)
    assert e.shape == (3, 384)  # all-MiniLM-L6-v2 embeds into 384 dimensions
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    cos = e @ e.T
    assert cos[0, 1] > cos[0, 2] + 0.3 and cos[0, 1] > cos[1, 2] + 0.3


def test_efficientnet_weights_are_an_imagenet_efficientnet_lite0_checkpoint():
    try:
        path = resources.efficientnet_lite0_weights()
    except ResourceNotFoundError as e:
        pytest.skip(f"EfficientNet-Lite0 weights are not installed: {e}")
    assert Path(path).is_file()
    state = torch.load(path, map_location="cpu", weights_only=True)
    tensors = [v for v in state.values() if v.is_floating_point()]
    # EfficientNet-Lite0 (Tan & Le; TF-Lite release): 4.7M parameters, 1280 features, 1000 ImageNet classes.
    assert state["_fc.weight"].shape == (1000, 1280) and state["_conv_stem.weight"].shape[1] == 3
    assert 4.5e6 < sum(v.numel() for v in tensors) < 4.9e6
