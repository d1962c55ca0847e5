"""Class similarity from the WordNet label hierarchy (paper §3: "similarities inferred from the WordNet
label hierarchy"; measure inferred in ``docs/paper.md`` §4.3)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..io import atomic_save_npz, cache_dir, cache_key, load_npz
from .hierarchy import ClassHierarchy, load_barz_hierarchy
from .synsets import DATASET_MAPS, _ALIASES, synset_map

__all__ = ["wordnet_similarity", "class_hierarchy", "MEASURES", "HIERARCHIES"]

MEASURES = ("lca_height", "wup", "path")
HIERARCHIES = ("wordnet", "wordnet_collapsed", "barz")


def _resolve_labels(labels) -> tuple[list[str], list[str]]:
    """``(class_names, synset_names)`` for a dataset name or a list of synset names / wnids."""
    from ..resources import wordnet

    if isinstance(labels, str):
        key = _ALIASES.get(labels.lower(), labels.lower())
        if key not in DATASET_MAPS:
            raise ValueError(f"unknown dataset {labels!r}: use one of {sorted(DATASET_MAPS)} or a list of synsets/wnids")
        entries = synset_map(key)
        return [e.class_name for e in entries], [e.synset for e in entries]
    wn = wordnet()
    names, syns = [], []
    for item in labels:
        item = str(item)
        if len(item) == 9 and item[0] == "n" and item[1:].isdigit():   # an ImageNet wnid
            s = wn.synset_from_pos_and_offset("n", int(item[1:]))
            names.append(item)
        else:
            try:
                s = wn.synset(item)
            except Exception as e:
                raise ValueError(f"{item!r} is neither a synset name (e.g. 'dog.n.01') nor a wnid (e.g. 'n02084071')") from e
            names.append(item)
        syns.append(s.name())
    return names, syns


def class_hierarchy(labels, hierarchy: str = "wordnet") -> ClassHierarchy:
    """The class tree: ``"wordnet"`` (built from WordNet, see :mod:`.hierarchy`), ``"wordnet_collapsed"`` (the
    same without single-child chains, :meth:`ClassHierarchy.collapse_chains`) or ``"barz"`` (CIFAR-100 only)."""
    if hierarchy == "barz":
        if not (isinstance(labels, str) and _ALIASES.get(labels.lower(), labels.lower()) == "cifar100"):
            raise ValueError("hierarchy='barz' is Barz & Denzler's CIFAR-100 tree: use labels='cifar100'")
        return load_barz_hierarchy()
    if hierarchy not in HIERARCHIES:
        raise ValueError(f"hierarchy must be one of {HIERARCHIES}, got {hierarchy!r}")
    names, syns = _resolve_labels(labels)
    tree = ClassHierarchy.from_wordnet(syns, names)
    return tree.collapse_chains() if hierarchy == "wordnet_collapsed" else tree


def wordnet_similarity(labels, measure: str = "lca_height", hierarchy: str = "wordnet",
                       use_cache: bool = True) -> tuple[list[str], np.ndarray]:
    """``(class_names, S)``: the C x C semantic similarity of the classes, float64, symmetric, diag 1, in [0, 1].

    ``labels``: a dataset name (``"cifar100"``, ``"fashion-mnist"``: the curated synset maps) or a list of
    synset names / ImageNet wnids. Measures (formulas in :meth:`ClassHierarchy.similarity_matrix`):

    - ``"lca_height"`` (default; **the paper's, by inference**: Barz & Denzler's LCS height, the similarity
      of the mAHP metric the paper adopts): s = 1 − height(lca(a, b)) / height(root);
    - ``"wup"``: Wu–Palmer, 2·depth(lca) / (depth(a) + depth(b));
    - ``"path"``: 1 / (1 + tree path length).

    All are computed on the class tree (``hierarchy="wordnet"``: WordNet's hypernym graph made a tree by the
    longest-path rule; ``"wordnet_collapsed"``: that tree without single-child chains, heights counting only
    the remaining nodes; ``"barz"``: Barz & Denzler's CIFAR-100 tree). Cached under ``data/cache/targets``.
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; use one of {MEASURES}")
    if hierarchy not in HIERARCHIES:
        raise ValueError(f"hierarchy must be one of {HIERARCHIES}, got {hierarchy!r}")
    key_labels = labels if isinstance(labels, str) else [str(x) for x in labels]
    from .synsets import SYNSET_DIR
    maps = {p.name: p.read_text() for p in sorted(SYNSET_DIR.glob("*.tsv"))}
    path = cache_dir("targets") / f"wordnet-{cache_key(key_labels, measure, hierarchy, maps, 'v2')}.npz"
    if use_cache and (hit := load_npz(path, ("S", "names"))) is not None:
        return [str(n) for n in hit["names"]], hit["S"]
    tree = class_hierarchy(labels, hierarchy)
    names = tree.names if hierarchy == "barz" else _resolve_labels(labels)[0]
    S = tree.similarity_matrix(measure)
    if use_cache:
        atomic_save_npz(path, S=S, names=np.array(names))
    return list(names), S
