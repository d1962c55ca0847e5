"""Precision@k and hierarchical precision@k curves (Barz & Denzler-style plots, paper's fix iii).

A code that only encodes the classifier output can have a high class-mAP but rank the *other*
classes arbitrarily; its hP@k curve drops once the same-class items are used up (k > class size).
Each method keeps its style of :mod:`semhash_lib.plotting.style` (colour, line style, marker).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .style import legend_outside, method_style

__all__ = ["plot_curves", "plot_precision_curves"]


def plot_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], ylabel: str = "hP@k",
                title: str | None = None, ax=None, class_size: int | None = None, logx: bool = False,
                bands: Mapping[str, Sequence[float]] | None = None):
    """Plot ``label -> (ks, values)`` curves, each in its method's style (the method is the label's first
    word; markers on about ten points of each curve); ``bands`` (label -> std per k) shades ± one std.

    ``class_size`` draws a dotted line where the same-class items run out. The legend lies to the right
    of the axes. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    for i, (label, (ks, values)) in enumerate(curves.items()):
        ks, values = np.asarray(ks), np.asarray(values)
        style = method_style(label)
        every = max(1, len(ks) // 10)
        ax.plot(ks, values, label=label, ms=5, markevery=(i % every, every), **style.line())
        if bands and label in bands:
            std = np.asarray(bands[label])
            ax.fill_between(ks, values - std, values + std, color=style.color, alpha=0.15, lw=0)
    if class_size:
        ax.axvline(class_size, color="0.5", ls=":", lw=1)
        ax.text(class_size, 0.02, " class size", color="0.4", fontsize=8, va="bottom",
                transform=ax.get_xaxis_transform())
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("k (retrieved items)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    legend_outside(ax)
    return fig


def _queries(c: Mapping, protocol: str) -> str:
    n = c.get("queries")
    if protocol == "test_vs_test":
        return f"{n} test queries vs the other test images" if n else "test queries vs the other test images"
    if protocol == "train_db":
        return f"{n} test queries vs the train database" if n else "test queries vs the train database"
    return f"{n} queries" if n else ""


def plot_precision_curves(curves: Mapping[str, Mapping], bits: int | None = None, seed: int | None = None):
    """The figure of :func:`semhash_lib.results.precision_curves`: one row per protocol, hP@k on the left and
    P@k on the right (:func:`plot_curves`, one line per method, a dotted line at the protocol's class size),
    one legend for all panels to the right of them. Titles say what is ranked (the codes sign(h), by
    Hamming distance), the protocol with its number of queries (``curves[protocol]["queries"]`` where
    present), the code length ``bits`` and the training ``seed`` of the codes. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not curves:
        raise ValueError("plot_precision_curves: no curves given")
    fig, axes = plt.subplots(len(curves), 2, figsize=(12, 4.2 * len(curves)), squeeze=False)
    at = ", ".join(x for x in (f"{bits} bits" if bits is not None else "",
                              f"seed {seed}" if seed is not None else "") if x)
    at = f" ({at})" if at else ""
    for row, (protocol, c) in enumerate(curves.items()):
        where = _queries(c, protocol)
        where = f"\n{protocol}: {where}" if where else f"\n{protocol}"
        plot_curves(c["hP@k"], "hP@k (hierarchical precision)", ax=axes[row, 0], class_size=c["class_size"],
                    title=f"hP@k of codes sign(h), Hamming ranking{at}{where}")
        plot_curves(c["P@k"], "P@k (same-class precision)", ax=axes[row, 1], class_size=c["class_size"],
                    title=f"P@k of codes sign(h), Hamming ranking{at}{where}")
    for ax in axes.ravel():
        legend = ax.get_legend()
        if legend is not None:
            legend.remove()
    fig.tight_layout()
    legend_outside(fig, title="method")
    return fig
