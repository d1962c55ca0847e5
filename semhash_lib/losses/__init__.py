"""Training losses (contracts in ``docs/design.md``).

Every training loss is an ``nn.Module`` with
``forward(h, logits, labels, target_distance) -> (total, terms)`` (``terms``: unweighted values by name)
and optionally ``on_epoch_start(epoch, model)``.

- The paper's method (reconstruction, ``docs/paper.md`` §4): :func:`empirical_kl`,
  :func:`binary_kl_loss`, :func:`similarity_loss`, :class:`SemanticHashingLoss`;
  the ablation penalty :func:`quantization_penalty` / :class:`QuantizationPenalty`.
- Baselines, each with its published formula: :class:`DSHLoss` (Liu et al. 2016), :class:`DPSHLoss`
  (Li et al. 2016), :class:`HashNetLoss` (Cao et al. 2017), :class:`CSQLoss` (Yuan et al. 2020),
  :class:`GreedyHashLoss` (Su et al. 2018).
"""

from .csq import CSQLoss, hash_centers
from .dpsh import DPSHLoss
from .dsh import DSHLoss
from .empirical_kl import KL_TARGETS, NU_MODES, binary_kl_loss, empirical_kl, sample_binary_targets
from .greedyhash import GreedyHashLoss
from .hashnet import HashNetLoss
from .pairwise import (DEFAULT_SIMILARITY_THRESHOLD, off_diagonal_mask, off_diagonal_mean, pair_similarity,
                       same_class)
from .quantization import QuantizationPenalty, quantization_penalty
from .semantic_hashing import SemanticHashingLoss
from .similarity import CODE_DISTANCES, SIMILARITY_FORMS, code_distances, similarity_loss

__all__ = ["empirical_kl", "binary_kl_loss", "sample_binary_targets", "KL_TARGETS", "NU_MODES",
           "similarity_loss", "code_distances", "CODE_DISTANCES", "SIMILARITY_FORMS",
           "SemanticHashingLoss", "quantization_penalty", "QuantizationPenalty",
           "DSHLoss", "DPSHLoss", "HashNetLoss", "CSQLoss", "hash_centers", "GreedyHashLoss",
           "pair_similarity", "same_class", "off_diagonal_mask", "off_diagonal_mean",
           "DEFAULT_SIMILARITY_THRESHOLD"]
