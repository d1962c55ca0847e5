"""Training regimes in which rounding h to sign(h) can lose information: what the KL ablation is run in.

With a tanh bottleneck and a classification head (the paper's setting as reconstructed, regime
``tanh_ce``) the outputs are already pushed to +-1 by the CE term, so any binarisation term has little to
do. Two further regimes give the KL claim room to show itself, or to fail honestly:

- ``linear_ce``: a linear bottleneck (``activation="none"``) with the CE head; h is unbounded, and the
  similarity loss compares codes by cosine distance (``code_distance="cosine"``, since the relaxed
  Hamming distance assumes |h| <= 1);
- ``no_classifier``: no classifier head and no CE (similarity + binarisation term only), tanh bottleneck.

:func:`regime_config` applies a regime to a base configuration; :mod:`semhash_lib.ablation` crosses the
regimes with the binarisation terms (notebook 09).
"""

from __future__ import annotations

from .train import TrainConfig

__all__ = ["REGIMES", "regime_config"]

REGIMES: dict[str, dict] = {
    "tanh_ce": {},
    "linear_ce": {"activation": "none", "loss": {"sim_kwargs": {"code_distance": "cosine"}}},
    "no_classifier": {"classifier": False, "loss": {"ce": 0.0}},
}


def regime_config(base: TrainConfig, regime: str) -> TrainConfig:
    """``base`` with the regime's bottleneck / classifier / loss changes (loss options merged over base's)."""
    from .methods import merge_loss_options

    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; choose from {list(REGIMES)}")
    changes = dict(REGIMES[regime])
    loss = merge_loss_options(base.loss, changes.pop("loss", {}))
    return base.replace(**changes, loss=loss)
