"""Figures of results tables (the per-run rows of :func:`semhash_lib.experiment.run_grid`):

- :func:`plot_metric_by_bits` — a metric against code length, one line per method (one protocol);
- :func:`plot_metric_bars` — a metric per method as grouped bars (tables with one code length);
- :func:`plot_metric` — whichever suits the table: bars for one code length, lines against code length otherwise;
- :func:`plot_metrics_by_bits` — metrics against code length, one panel per (metric, protocol);
- :func:`plot_metric_by_bits_per_group` — a metric against code length, one line per value of a column other
  than the method (e.g. the training targets, averaged over methods);
- :func:`plot_map_vs_mahp` — the trivial-solution argument (``docs/paper.md`` §5.1): each method x code length
  as a point (mAP, mAHP), one panel per protocol.

Every value drawn is a mean over seeds from :func:`semhash_lib.results.summarize` (error bars: sample std).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..results import summarize
from .style import method_color

__all__ = ["plot_metric", "plot_metric_by_bits", "plot_metric_bars", "plot_metrics_by_bits",
           "plot_metric_by_bits_per_group", "plot_map_vs_mahp"]


def _protocols(table: pd.DataFrame, protocols: Sequence[str] | None) -> list[str]:
    found = list(protocols) if protocols is not None else list(table["protocol"].unique())
    if not found:
        raise ValueError("no protocol to draw: the table is empty")
    return found


def plot_metric_by_bits(table: pd.DataFrame, metric: str, protocol: str | None = None, ax=None,
                        methods: Sequence[str] | None = None, title: str | None = None):
    """``metric`` against code length, one line per method (error bars: std over seeds). Returns the Figure."""
    import matplotlib.pyplot as plt

    t = table if protocol is None else table[table["protocol"] == protocol]
    if t.empty:
        raise ValueError(f"no rows for protocol {protocol!r}")
    s = summarize(t, [metric], by=("method", "bits"))
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
    else:
        fig = ax.figure
    for m in methods or list(dict.fromkeys(s["method"])):
        r = s[s["method"] == m].sort_values("bits")
        if r.empty:
            continue
        ax.errorbar(r["bits"], r[metric], yerr=r[f"{metric}_std"], marker="o", capsize=3, label=m,
                    color=method_color(m), lw=1.6)
    ax.set_xscale("log", base=2)
    bits = sorted(s["bits"].unique())
    ax.set_xticks(bits)
    ax.set_xticklabels([str(b) for b in bits])
    ax.set_xlabel("bits")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(title or (f"{metric} ({protocol})" if protocol else metric))
    fig.tight_layout()
    return fig


def plot_metric_bars(table: pd.DataFrame, metric: str, group: str = "protocol", ax=None,
                     methods: Sequence[str] | None = None, title: str | None = None):
    """``metric`` per method as grouped bars, one bar per value of ``group`` (e.g. the protocols), with the
    std over seeds as error bars and the value written on each bar. For tables with one code length, where
    :func:`plot_metric_by_bits` would draw single points. Returns the Figure."""
    import matplotlib.pyplot as plt

    s = summarize(table, [metric], by=("method", group))
    methods = list(methods or dict.fromkeys(s["method"]))
    groups = list(dict.fromkeys(s[group]))
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(5.5, 1.2 + 1.1 * len(methods) * max(1, len(groups)) ** 0.5), 3.8))
    else:
        fig = ax.figure
    width = 0.8 / len(groups)
    x = np.arange(len(methods))
    for j, g in enumerate(groups):
        r = s[s[group] == g].set_index("method").reindex(methods)
        bars = ax.bar(x + (j - (len(groups) - 1) / 2) * width, r[metric], width, yerr=r[f"{metric}_std"],
                      capsize=2, color=[method_color(m) for m in methods], alpha=1.0 - 0.45 * j,
                      edgecolor="0.2", lw=0.5, label=str(g))
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_xticks(x)
    ax.set_xticklabels(methods, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(metric)
    lo = np.nanmin(s[metric])
    ax.set_ylim(max(0.0, lo - 0.1), min(1.0, np.nanmax(s[metric]) + 0.05))
    ax.grid(alpha=0.3, axis="y")
    if len(groups) > 1:
        ax.legend(fontsize=8, title=group, title_fontsize=8)
    ax.set_title(title or metric)
    fig.tight_layout()
    return fig


def plot_metrics_by_bits(table: pd.DataFrame, panels: Sequence[tuple[str, str]], titles: Sequence[str] | None = None,
                         suptitle: str | None = None):
    """One :func:`plot_metric_by_bits` panel per ``(metric, protocol)`` of ``panels``, side by
    side: the metric against code length, one line per method (mean and std over seeds). ``titles``: one per
    panel (default: ``"<metric> (<protocol>)"``); ``suptitle``: above all panels. Returns the Figure."""
    import matplotlib.pyplot as plt

    if not panels:
        raise ValueError("plot_metrics_by_bits: no (metric, protocol) panel given")
    if titles is not None and len(titles) != len(panels):
        raise ValueError(f"plot_metrics_by_bits: {len(titles)} titles for {len(panels)} panels")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.8), squeeze=False)
    for i, (ax, (metric, protocol)) in enumerate(zip(axes[0], panels)):
        plot_metric_by_bits(table, metric, protocol, ax=ax, title=titles[i] if titles is not None else None)
    if suptitle:                 # each panel already laid the figure out; make room for the title above them
        fig.suptitle(suptitle)
        fig.tight_layout()
    return fig


def plot_metric_by_bits_per_group(table: pd.DataFrame, metric: str, group: str, ylabel: str | None = None,
                                  title: str | None = None):
    """``metric`` against code length (log2 axis), one line per value of the column ``group`` (sorted), each
    point the mean over every other row of that group and code length (methods and seeds), error bars the
    sample std. Returns the Figure."""
    import matplotlib.pyplot as plt

    s = summarize(table, [metric], by=(group, "bits"))
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for value, r in s.groupby(group):
        ax.errorbar(r["bits"], r[metric], yerr=r[f"{metric}_std"], marker="o", capsize=3, label=value)
    bits = sorted(s["bits"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(bits)
    ax.set_xticklabels([str(b) for b in bits])
    ax.set_xlabel("bits")
    ax.set_ylabel(ylabel or metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{metric} by {group}")
    return fig


def plot_metric(table: pd.DataFrame, metric: str, group: str = "protocol", title: str | None = None):
    """``metric`` of a results table in the figure that suits its code lengths. One code length: a bar per
    method and value of ``group`` (:func:`plot_metric_bars`, titled ``"<title>, <bits> bits"``). Several:
    ``metric`` against code length, for ``group="protocol"`` one panel per protocol with a line per method
    (:func:`plot_metrics_by_bits`, panels titled ``"<title>, <protocol>"``), for another ``group`` one line per
    value of that column, over every method (:func:`plot_metric_by_bits_per_group`). Returns the Figure."""
    bits = sorted(table["bits"].unique())
    if len(bits) == 1:
        return plot_metric_bars(table, metric, group=group, title=f"{title}, {bits[0]} bits" if title else None)
    if group == "protocol":
        protocols = _protocols(table, None)
        return plot_metrics_by_bits(table, [(metric, p) for p in protocols],
                                    titles=[f"{title}, {p}" for p in protocols] if title else None)
    return plot_metric_by_bits_per_group(table, metric, group, title=title)


def plot_map_vs_mahp(table: pd.DataFrame, map_metric: str = "map@all", mahp_metric: str = "mahp@250",
                     protocols: Sequence[str] | None = None, xlabel: str = "mAP@all (same class)",
                     ylabel: str = "mAHP@250 (WordNet)", title: str = "mAP vs mAHP, {protocol}"):
    """One panel per protocol (default: those in the table): each (method, code length) is a point at its mean
    ``map_metric`` (x) and ``mahp_metric`` (y) over seeds, in the method's colour, larger for longer codes.
    A method to the right of the paper's method but below it ranks same-class images better and the other
    classes worse: the trivial solution that plain mAP cannot see (:func:`semhash_lib.results.trivial_solutions`
    lists those cases). ``title`` is formatted with ``protocol``. Returns the Figure."""
    import matplotlib.pyplot as plt

    protocols = _protocols(table, protocols)
    fig, axes = plt.subplots(1, len(protocols), figsize=(5.5 * len(protocols), 4.2), squeeze=False)
    for ax, protocol in zip(axes[0], protocols):
        s = summarize(table[table["protocol"] == protocol], [map_metric, mahp_metric], by=("method", "bits"))
        for m, r in s.groupby("method", sort=False):
            ax.scatter(r[map_metric], r[mahp_metric], color=method_color(m), label=m, s=20 + r["bits"])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.set_title(title.format(protocol=protocol))
    axes[0, 0].legend(fontsize=7)
    return fig
