"""Semantic similarity targets (paper §3): the WordNet label hierarchy and sentence embeddings.

- :func:`wordnet_similarity` — C x C class similarity from the hierarchy (``lca_height``, ``wup``, ``path``);
- :func:`sentence_similarity` — N x N similarity of texts (class descriptions, captions);
- :func:`pairwise_targets` — the B x B target distance T = 1 − S of a batch;
- :func:`rank_agreement`, :func:`neighbour_overlap` — how far two similarity matrices agree, and the tables
  built on them (:func:`agreement_table`, :func:`compare_hierarchies`, :func:`neighbour_table`, ...);
- :func:`class_synsets`, :class:`ClassHierarchy`, :func:`load_barz_hierarchy` — the curated maps and trees.
"""

from .compare import (agreement_table, compare_hierarchies, describe_neighbours, nearest_texts, neighbour_disagreements,
                      neighbour_overlap, neighbour_sets, neighbour_table, rank_agreement, similarity_value_summary)
from .hierarchy import ClassHierarchy, load_barz_hierarchy
from .pairwise import pairwise_targets
from .sentence_similarity import (class_texts, cosine_to_similarity, embed_texts, sentence_similarity,
                                  similarity_by_mapping)
from .synsets import class_synsets, synset_map, synset_table
from .wordnet_similarity import HIERARCHIES, MEASURES, class_hierarchy, wordnet_similarity

__all__ = ["wordnet_similarity", "sentence_similarity", "pairwise_targets", "class_synsets", "synset_map",
           "ClassHierarchy", "load_barz_hierarchy", "class_hierarchy", "class_texts", "embed_texts",
           "cosine_to_similarity", "MEASURES", "HIERARCHIES", "rank_agreement",
           "neighbour_sets", "neighbour_overlap", "describe_neighbours", "synset_table", "similarity_by_mapping",
           "agreement_table", "compare_hierarchies", "similarity_value_summary", "neighbour_table",
           "neighbour_disagreements", "nearest_texts"]
