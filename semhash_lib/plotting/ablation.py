"""Figure of the KL ablation (:mod:`semhash_lib.ablation`): paired differences with their confidence intervals."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["plot_ablation_intervals", "ARM_COLORS"]

ARM_COLORS = {"none": "#d6604d", "quant": "#f4a582", "kl_nearest_corner": "#1b7837", "kl_mixture": "#5aae61",
              "kl_sampled": "#00441b", "spread": "#762a83"}


def plot_ablation_intervals(summary: pd.DataFrame, reference: str = "none", protocol: str = "test_vs_test",
                            metrics: Sequence[str] = ("mahp@250", "drop_mahp@250"), title: str | None = None):
    """One panel per metric: for every (regime, bits) cell on the x axis, each arm's mean paired difference to
    ``reference`` (a dot) with its confidence interval (a bar) from :func:`semhash_lib.ablation.compare_arms`;
    the dashed line at 0 is "no difference". Returns the Figure."""
    import matplotlib.pyplot as plt

    rows = summary[(summary["reference"] == reference) & (summary["protocol"] == protocol)]
    if rows.empty:
        raise ValueError(f"no comparison rows against {reference!r} for protocol {protocol!r}")
    cells = list(dict.fromkeys(zip(rows["regime"], rows["bits"])))
    arms = list(dict.fromkeys(rows["arm"]))
    fig, axes = plt.subplots(len(metrics), 1, figsize=(max(6.0, 1.3 * len(cells) + 2), 3.2 * len(metrics)),
                             squeeze=False)
    width = 0.8 / max(len(arms), 1)
    for ax, metric in zip(axes[:, 0], metrics):
        part = rows[rows["metric"] == metric]
        for j, arm in enumerate(arms):
            a = part[part["arm"] == arm].set_index(["regime", "bits"])
            xs, ys, lo, hi = [], [], [], []
            for i, cell in enumerate(cells):
                if cell in a.index:
                    r = a.loc[cell]
                    xs.append(i - 0.4 + width * (j + 0.5))
                    ys.append(r["diff"])
                    lo.append(r["diff"] - r["ci_low"] if np.isfinite(r["ci_low"]) else 0.0)
                    hi.append(r["ci_high"] - r["diff"] if np.isfinite(r["ci_high"]) else 0.0)
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", ms=4, capsize=3, label=arm, color=ARM_COLORS.get(arm, "#777777"))
        ax.axhline(0.0, color="k", lw=0.8, ls="--")
        ax.set_xticks(range(len(cells)))
        ax.set_xticklabels([f"{r}\n{b} bits" for r, b in cells], fontsize=8)
        ax.set_ylabel(f"{metric}: arm - {reference}")
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].legend(fontsize=8, ncol=min(len(arms), 5), loc="best")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
