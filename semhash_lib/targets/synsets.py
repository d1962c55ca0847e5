"""Curated class -> WordNet synset maps (committed TSV files next to this module).

Automatic look-ups (first noun sense of the class name) pick wrong senses for many CIFAR-100 classes
(dolphin the fish, skunk the person, trout the flesh, television the broadcasting, ...), so every
entry was chosen by hand after reading its gloss, and ``tests/test_targets.py`` checks each one
against the ancestor it must have (``expected_ancestor`` column).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["SynsetEntry", "synset_map", "class_synsets", "synset_table", "DATASET_MAPS", "canonical_dataset"]

SYNSET_DIR = Path(__file__).resolve().parent / "synsets"
DATASET_MAPS = {"cifar100": "cifar100.tsv", "fashion-mnist": "fashion_mnist.tsv"}
_ALIASES = {"cifar-100": "cifar100", "cifar_100": "cifar100", "fashion_mnist": "fashion-mnist",
            "fashionmnist": "fashion-mnist"}


@dataclass(frozen=True)
class SynsetEntry:
    """One row of a curated map."""

    class_name: str
    synset: str
    wnid: str
    expected_ancestor: str
    note: str


def canonical_dataset(name: str) -> str:
    """``"cifar100"`` or ``"fashion-mnist"`` for any accepted spelling; ``ValueError`` otherwise."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in DATASET_MAPS:
        raise ValueError(f"no curated synset map for dataset {name!r}; have {sorted(DATASET_MAPS)} "
                         "(or pass a list of synset names / wnids)")
    return key


@lru_cache(maxsize=None)
def synset_map(dataset: str) -> tuple[SynsetEntry, ...]:
    """The curated entries of ``dataset`` in the dataset's official class order."""
    path = SYNSET_DIR / DATASET_MAPS[canonical_dataset(dataset)]
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4:
                raise ValueError(f"{path}: malformed row {line!r} (needs class, synset, wnid, expected_ancestor)")
            rows.append(SynsetEntry(*parts[:4], parts[4] if len(parts) > 4 else ""))
    return tuple(rows)


def class_synsets(dataset: str) -> list[str]:
    """Synset names (e.g. ``"dolphin.n.02"``) of ``dataset``'s classes, in official class order."""
    return [e.synset for e in synset_map(dataset)]


def synset_table(dataset: str):
    """The curated map of ``dataset`` next to what an automatic look-up would pick, as a ``pandas.DataFrame``
    in class order with the columns ``class``, ``synset`` (curated), ``wnid``, ``must be under`` (the ancestor
    the tests check), ``first noun sense`` (WordNet's first noun synset of the class name, ``"—"`` when there
    is none) and ``gloss`` (the curated synset's definition)."""
    import pandas as pd

    from ..resources import wordnet

    wn = wordnet()
    rows = []
    for e in synset_map(dataset):
        first = wn.synsets(e.class_name, "n")
        rows.append({"class": e.class_name, "synset": e.synset, "wnid": e.wnid, "must be under": e.expected_ancestor,
                     "first noun sense": first[0].name() if first else "—",
                     "gloss": wn.synset(e.synset).definition()})
    return pd.DataFrame(rows)
