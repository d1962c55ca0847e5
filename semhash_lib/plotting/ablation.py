"""Figure of the KL ablation (:mod:`semhash_lib.ablation`): paired differences with their confidence intervals."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .style import ARM_STYLES, arm_style, legend_outside

__all__ = ["plot_ablation_intervals", "ARM_COLORS"]

#: each arm's colour (its full style, marker included: :data:`semhash_lib.plotting.style.ARM_STYLES`)
ARM_COLORS = {arm: style.color for arm, style in ARM_STYLES.items()}


def plot_ablation_intervals(summary: pd.DataFrame, reference: str = "none", protocol: str = "test_vs_test",
                            metrics: Sequence[str] = ("mahp@250", "drop_mahp@250"), title: str | None = None):
    """One panel per metric: for every (regime, bits) cell on the x axis, each arm's mean paired difference to
    ``reference`` (a dot) with its confidence interval (a bar) from :func:`semhash_lib.ablation.compare_arms`;
    the dashed line at 0 is "no difference". Each arm keeps its colour and marker (:func:`.style.arm_style`);
    the legend lies to the right of the panels. ``title`` (default: reference, protocol and the number of
    seeds of ``summary``) goes above the panels. Returns the Figure."""
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
            st = arm_style(arm)
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt=st.marker, ms=7 if st.marker == "*" else 5, capsize=3, label=arm, color=st.color)
        ax.axhline(0.0, color="k", lw=0.8, ls="--")
        ax.set_xticks(range(len(cells)))
        ax.set_xticklabels([f"{r}\n{b} bits" for r, b in cells], fontsize=8)
        ax.set_ylabel(f"{metric}: arm - {reference}")
        ax.grid(axis="y", alpha=0.3)
    counts = sorted({int(n) for n in rows["n_seeds"]}) if "n_seeds" in rows.columns else []
    seeds = (f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}") + " seeds" if counts else "seeds"
    axes[-1, 0].set_xlabel(f"regime and code length (dot: mean paired difference over {seeds}; "
                           "bar: confidence interval)")
    fig.suptitle(title or f"arm - {reference}, {protocol}, {seeds}")
    fig.tight_layout()
    legend_outside(fig, title="arm")
    return fig
