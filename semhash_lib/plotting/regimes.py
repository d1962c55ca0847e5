"""Figure of the KL-regime experiment (:mod:`semhash_lib.regimes`): metrics per regime and binarisation term."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

__all__ = ["plot_kl_regimes"]


def plot_kl_regimes(table: pd.DataFrame, metrics: Sequence[str] = ("mahp@250", "drop_mahp@250", "quant_error"),
                    title: str | None = None):
    """One panel per (metric, code length): bars per method, one bar per regime, std over seeds as error
    bars (:func:`semhash_lib.results.plot_metric_bars`). Returns the Figure."""
    import matplotlib.pyplot as plt

    from ..results import plot_metric_bars

    bits = sorted(table["bits"].unique())
    fig, axes = plt.subplots(len(metrics), len(bits), figsize=(6.2 * len(bits), 3.4 * len(metrics)), squeeze=False)
    for i, metric in enumerate(metrics):
        for j, b in enumerate(bits):
            plot_metric_bars(table[table["bits"] == b], metric, group="regime", ax=axes[i, j],
                             title=f"{metric}, {b} bits")
            if i or j:
                legend = axes[i, j].get_legend()
                if legend is not None:
                    legend.remove()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
