"""Histograms of the hash layer's pre-sign outputs h, and the bits' correlation matrices.

The paper's claim (abstract, fix ii): with the empirical KL term the outputs concentrate at ±1, so
rounding to bits loses little; without it much mass sits near 0, where the sign is fragile. The
figure shows one panel per method with the share of |h| < 0.1 written in it. The KL term's repulsion
between outputs should also decorrelate the bits (``docs/paper.md`` §4.4): :func:`plot_bit_correlations`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .style import method_color

__all__ = ["plot_code_histograms", "plot_bit_correlations"]


def plot_code_histograms(outputs: Mapping[str, np.ndarray], bins: int = 80, value_range=(-1.6, 1.6),
                         near_zero: float = 0.1, ncols: int = 4, title: str | None = None):
    """One histogram panel per entry of ``outputs`` (label -> array of h values, any shape).

    Values outside ``value_range`` are clipped into the edge bins (unbounded activations).
    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    if not outputs:
        raise ValueError("plot_code_histograms: no outputs given")
    n = len(outputs)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.5 * nrows), squeeze=False, sharex=True)
    edges = np.linspace(*value_range, bins + 1)
    for ax, (label, h) in zip(axes.flat, outputs.items()):
        h = np.asarray(h, dtype=np.float64).ravel()
        share = float(np.mean(np.abs(h) < near_zero))
        color = method_color(label.split(" ")[0].split("@")[0])
        ax.hist(np.clip(h, *value_range), bins=edges, color=color, density=True)
        ax.axvspan(-near_zero, near_zero, color="0.85", zorder=0)
        ax.set_title(label, fontsize=9)
        ax.text(0.5, 0.92, f"|h|<{near_zero}: {share:.1%}", transform=ax.transAxes, ha="center", va="top",
                fontsize=8, bbox=dict(boxstyle="round", fc="white", ec="0.7"))
        ax.set_yticks([])
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("pre-sign output h")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_bit_correlations(outputs: Mapping[str, np.ndarray]):
    """One panel per ``label -> h`` (N, K): the K x K Pearson correlation of the bits ``sign(h)`` over the N
    codes (``bit_correlation`` of :func:`semhash_lib.codes.code_statistics`), on a shared −1..1 colour scale.
    Returns the Figure."""
    import matplotlib.pyplot as plt

    from ..codes import code_statistics

    if not outputs:
        raise ValueError("plot_bit_correlations: no outputs given")
    fig, axes = plt.subplots(1, len(outputs), figsize=(3.2 * len(outputs), 3), squeeze=False)
    for ax, (label, h) in zip(axes[0], outputs.items()):
        im = ax.imshow(code_statistics(h)["bit_correlation"], vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_title(label, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    return fig
