"""Histograms of the hash layer's pre-sign outputs h, and the bits' correlation matrices.

The paper's claim (abstract, fix ii): with the empirical KL term the outputs concentrate at ±1, so
rounding to bits loses little; without it much mass sits near 0, where the sign is fragile. The
figure shows one panel per method with the share of |h| < 0.1 written in it. The KL term's repulsion
between outputs should also decorrelate the bits (``docs/paper.md`` §4.4): :func:`plot_bit_correlations`.
Each method keeps its style of :mod:`semhash_lib.plotting.style`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .style import grid_shape, method_style, remove_unused_axes

__all__ = ["plot_code_histograms", "plot_bit_correlations"]


def plot_code_histograms(outputs: Mapping[str, np.ndarray], bins: int = 80, value_range=(-1.6, 1.6),
                         near_zero: float = 0.1, ncols: int = 4, title: str | None = None):
    """One histogram panel per entry of ``outputs`` (label -> array of h values, any shape), in the
    method's colour and line style (the method is the label's first word), y axis the density.

    At most ``ncols`` columns, as few empty cells as the rows allow; cells left over are removed. Values
    outside ``value_range`` are clipped into the edge bins (unbounded activations). ``title`` goes above
    the panels (default: what is drawn and how many values per panel). Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    if not outputs:
        raise ValueError("plot_code_histograms: no outputs given")
    n = len(outputs)
    nrows, ncols = grid_shape(n, ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False, sharex=True)
    edges = np.linspace(*value_range, bins + 1)
    sizes = set()
    for i, (ax, (label, h)) in enumerate(zip(axes.flat, outputs.items())):
        h = np.asarray(h, dtype=np.float64).ravel()
        sizes.add(h.size)
        share = float(np.mean(np.abs(h) < near_zero))
        style = method_style(label)
        ax.hist(np.clip(h, *value_range), bins=edges, density=True, histtype="stepfilled",
                facecolor=style.color, alpha=0.45, edgecolor="none")
        ax.hist(np.clip(h, *value_range), bins=edges, density=True, histtype="step",
                edgecolor=style.color, linestyle=style.linestyle, lw=1.2)
        ax.axvspan(-near_zero, near_zero, color="0.88", zorder=0)
        ax.set_title(label, fontsize=9)
        ax.text(0.5, 0.92, f"|h|<{near_zero}: {share:.1%}", transform=ax.transAxes, ha="center", va="top",
                fontsize=8, bbox=dict(boxstyle="round", fc="white", ec="0.7"))
        ax.tick_params(labelsize=7)
        if i % ncols == 0:
            ax.set_ylabel("density")
        if i + ncols >= n:                     # nothing below it: the bottom of its column
            ax.set_xlabel("pre-sign output h", fontsize=8)
    remove_unused_axes(fig, axes, n)
    per = f"{sizes.pop():,} values per panel" if len(sizes) == 1 else "values per panel vary"
    fig.suptitle(title or f"histograms of the pre-sign outputs h ({per})")
    fig.tight_layout()
    return fig


def plot_bit_correlations(outputs: Mapping[str, np.ndarray], title: str | None = None):
    """One panel per ``label -> h`` (N, K): the K x K Pearson correlation of the bits ``sign(h)`` over the N
    codes (``bit_correlation`` of :func:`semhash_lib.codes.code_statistics`), on a shared −1..1 colour scale
    with a labelled colour bar; each panel's title carries the mean |correlation| off the diagonal.
    ``title`` goes above the panels (default: what is drawn, with K and N from the data). Returns the Figure."""
    import matplotlib.pyplot as plt

    from ..codes import code_statistics

    if not outputs:
        raise ValueError("plot_bit_correlations: no outputs given")
    n = len(outputs)
    fig, axes = plt.subplots(1, n, figsize=(3.0 * n + 1.2, 3.5), squeeze=False, layout="constrained")
    shapes = set()
    for i, (ax, (label, h)) in enumerate(zip(axes[0], outputs.items())):
        h = np.asarray(h)
        shapes.add(h.shape)
        corr = code_statistics(h)["bit_correlation"]
        off = ~np.eye(len(corr), dtype=bool)
        im = ax.imshow(corr, vmin=-1, vmax=1, cmap="RdBu_r")
        ax.set_title(f"{label}\nmean |r| off-diagonal {np.nanmean(np.abs(corr[off])):.3f}", fontsize=9)
        ax.set_xlabel("bit j", fontsize=8)
        if i == 0:
            ax.set_ylabel("bit i", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    bar = fig.colorbar(im, ax=axes[0].tolist(), shrink=0.8)
    bar.set_label("Pearson r of bits sign(h_i), sign(h_j)")
    if title is None:
        if len(shapes) == 1:
            N, K = shapes.pop()
            title = f"correlation between the bits sign(h): {K} bits, over {N:,} codes"
        else:
            title = "correlation between the bits sign(h)"
    fig.suptitle(title)
    return fig
