"""Precision@k and hierarchical precision@k curves (Barz & Denzler-style plots, paper's fix iii).

A code that only encodes the classifier output can have a high class-mAP but rank the *other*
classes arbitrarily; its hP@k curve drops once the same-class items are used up (k > class size).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .style import method_color

__all__ = ["plot_curves", "plot_precision_curves"]


def plot_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], ylabel: str = "hP@k",
                title: str | None = None, ax=None, class_size: int | None = None, logx: bool = False,
                bands: Mapping[str, Sequence[float]] | None = None):
    """Plot ``label -> (ks, values)`` curves; ``bands`` (label -> std per k) shades ± one std.

    ``class_size`` draws a dotted line where the same-class items run out.
    Returns the Figure.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    for label, (ks, values) in curves.items():
        ks, values = np.asarray(ks), np.asarray(values)
        color = method_color(label.split(" ")[0])
        style = "-" if "@" not in label else "--"
        ax.plot(ks, values, style, label=label, color=color, lw=1.6)
        if bands and label in bands:
            std = np.asarray(bands[label])
            ax.fill_between(ks, values - std, values + std, color=color, alpha=0.15, lw=0)
    if class_size:
        ax.axvline(class_size, color="0.5", ls=":", lw=1)
        ax.text(class_size, ax.get_ylim()[0], " class size", color="0.4", fontsize=8, va="bottom")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("k (retrieved items)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_precision_curves(curves: Mapping[str, Mapping], bits: int | None = None):
    """The figure of :func:`semhash_lib.results.precision_curves`: one row per protocol, hP@k on the left and
    P@k on the right (:func:`plot_curves`, one line per method, a dotted line at the protocol's class size);
    only the first panel keeps its legend. ``bits`` goes into the titles. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not curves:
        raise ValueError("plot_precision_curves: no curves given")
    fig, axes = plt.subplots(len(curves), 2, figsize=(12, 4.2 * len(curves)), squeeze=False)
    at = f", {bits} bits" if bits is not None else ""
    for row, (protocol, c) in enumerate(curves.items()):
        plot_curves(c["hP@k"], "hP@k", ax=axes[row, 0], class_size=c["class_size"],
                    title=f"hierarchical precision{at}, {protocol}")
        plot_curves(c["P@k"], "P@k", ax=axes[row, 1], class_size=c["class_size"], title=f"precision{at}, {protocol}")
    for ax in axes.ravel()[1:]:
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
    fig.tight_layout()
    return fig
