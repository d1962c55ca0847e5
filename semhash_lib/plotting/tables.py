"""Figures of results tables (the per-run rows of :func:`semhash_lib.experiment.run_grid`):

- :func:`plot_metric_by_bits` — a metric against code length, one line per method (one protocol);
- :func:`plot_metric_bars` — a metric per method as grouped bars (tables with one code length);
- :func:`plot_metric` — whichever suits the table: bars for one code length, lines against code length otherwise;
- :func:`plot_metrics_by_bits` — metrics against code length, one panel per (metric, protocol);
- :func:`plot_metric_by_bits_per_group` — a metric against code length, one line per value of a column other
  than the method (e.g. the training targets, averaged over methods);
- :func:`plot_map_vs_mahp` — the trivial-solution argument (``docs/paper.md`` §5.1): each method x code length
  as a point (mAP, mAHP), one panel per protocol.

Every value drawn is a mean over seeds from :func:`semhash_lib.results.summarize` (error bars: sample std);
each panel's title says over how many seeds (from the table). Methods keep their style of
:mod:`semhash_lib.plotting.style`; legends lie outside the axes.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..results import summarize
from .style import OKABE_ITO, legend_outside, luminance, method_style

__all__ = ["plot_metric", "plot_metric_by_bits", "plot_metric_bars", "plot_metrics_by_bits",
           "plot_metric_by_bits_per_group", "plot_map_vs_mahp"]


def _protocols(table: pd.DataFrame, protocols: Sequence[str] | None) -> list[str]:
    found = list(protocols) if protocols is not None else list(table["protocol"].unique())
    if not found:
        raise ValueError("no protocol to draw: the table is empty")
    return found


def _span(values) -> str:
    values = sorted({int(v) for v in values})
    return f"{values[0]}" if len(values) == 1 else f"{values[0]}-{values[-1]}"


def _seeds(table: pd.DataFrame, by: Sequence[str]) -> str:
    """What each drawn point of ``table`` grouped ``by`` is, from the table: "1 seed", "mean ± std over 3
    seeds", "mean ± std over 2-3 seeds" (groups differ), or "mean ± std over 4 runs (2 seeds)" where a
    group also pools rows of other columns (e.g. two training targets)."""
    g = table.groupby(list(by), sort=False)
    runs = g.size()
    seeds = g["seed"].nunique() if "seed" in table.columns else runs
    if int(runs.max()) == 1:
        return "1 seed" if "seed" in table.columns else "1 run"
    if "seed" in table.columns and (runs != seeds).any():
        return f"mean ± std over {_span(runs)} runs ({_span(seeds)} seeds)"
    return f"mean ± std over {_span(seeds)} seeds"


def _titled(title: str, table: pd.DataFrame, by: Sequence[str]) -> str:
    return f"{title}\n{_seeds(table, by)}"


#: styles of series that are not methods (values of a group column): colour, line style, marker
_GROUP_STYLES = [(OKABE_ITO["blue"], "-", "o"), (OKABE_ITO["vermillion"], "--", "s"),
                 (OKABE_ITO["bluish_green"], "-.", "^"), (OKABE_ITO["reddish_purple"], ":", "D"),
                 (OKABE_ITO["orange"], "-", "v"), (OKABE_ITO["sky_blue"], "--", "P"),
                 (OKABE_ITO["black"], "-.", "X")]

#: hatches of the bar groups of :func:`plot_metric_bars` (grey-scale safe)
_HATCHES = ["", "///", "...", "xxx", "ooo", "++"]


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
        ax.errorbar(r["bits"], r[metric], yerr=r[f"{metric}_std"], capsize=3, label=m, ms=5,
                    **method_style(m).line())
    ax.set_xscale("log", base=2)
    bits = sorted(s["bits"].unique())
    ax.set_xticks(bits)
    ax.set_xticklabels([str(b) for b in bits])
    ax.set_xlabel("code length (bits)")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.set_title(_titled(title or (f"{metric} ({protocol})" if protocol else metric), t, ("method", "bits")),
                 fontsize=10)
    fig.tight_layout()
    legend_outside(ax, title="method")
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
    from matplotlib.patches import Patch

    width = 0.8 / len(groups)
    x = np.arange(len(methods))
    for j, g in enumerate(groups):
        r = s[s[group] == g].set_index("method").reindex(methods)
        bars = ax.bar(x + (j - (len(groups) - 1) / 2) * width, r[metric], width, yerr=r[f"{metric}_std"],
                      capsize=2, color=[method_style(m).color for m in methods], alpha=0.85,
                      hatch=_HATCHES[j % len(_HATCHES)], edgecolor="0.15", lw=0.5, label=str(g))
        for bar, m in zip(bars, methods):       # a hatch drawn in dark grey vanishes on a black bar
            if _HATCHES[j % len(_HATCHES)] and luminance(method_style(m).color) < 0.05:
                if hasattr(bar, "set_hatchcolor"):
                    bar.set_hatchcolor("0.8")
                else:
                    bar.set_edgecolor("0.8")
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=2)
    ax.set_xticks(x)
    ax.set_xticklabels(methods, rotation=20, ha="right", fontsize=8)
    ax.set_xlabel("method")
    ax.set_ylabel(metric)
    lo = np.nanmin(s[metric])
    ax.set_ylim(max(0.0, lo - 0.1), min(1.0, np.nanmax(s[metric]) + 0.05))
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(_titled(title or metric, table, ("method", group)), fontsize=10)
    fig.tight_layout()
    if len(groups) > 1:
        keys = [Patch(facecolor="white", edgecolor="0.15", hatch=_HATCHES[j % len(_HATCHES)], label=str(g))
                for j, g in enumerate(groups)]
        legend_outside(ax, keys, title=group, title_fontsize=8)
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
    for ax in axes[0]:           # one legend for all panels, to the right of them
        ax.get_legend().remove()
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    legend_outside(fig, title="method")
    return fig


def plot_metric_by_bits_per_group(table: pd.DataFrame, metric: str, group: str, ylabel: str | None = None,
                                  title: str | None = None):
    """``metric`` against code length (log2 axis), one line per value of the column ``group`` (sorted), each
    point the mean over every other row of that group and code length (methods and seeds), error bars the
    sample std. Returns the Figure."""
    import matplotlib.pyplot as plt

    s = summarize(table, [metric], by=(group, "bits"))
    per_method = "method" in table.columns
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for j, (value, r) in enumerate(s.groupby(group)):
        color, ls, marker = _GROUP_STYLES[j % len(_GROUP_STYLES)]
        ax.errorbar(r["bits"], r[metric], yerr=r[f"{metric}_std"], marker=marker, ls=ls, color=color, ms=5,
                    capsize=3, label=value)
    bits = sorted(s["bits"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(bits)
    ax.set_xticklabels([str(b) for b in bits])
    ax.set_xlabel("code length (bits)")
    ax.set_ylabel(ylabel or metric)
    ax.grid(alpha=0.3)
    pooled = f", {table['method'].nunique()} method(s) pooled" if per_method else ""
    ax.set_title(f"{title or f'{metric} by {group}'}\n{_seeds(table, (group, 'bits'))}{pooled}", fontsize=10)
    fig.tight_layout()
    legend_outside(ax, title=group)
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
    ``map_metric`` (x) and ``mahp_metric`` (y) over seeds, in the method's colour and marker, larger for longer
    codes (the legend to the right gives the sizes), the points of one method joined in order of code length.
    A method to the right of the paper's method but below it ranks same-class images better and the other
    classes worse: the trivial solution that plain mAP cannot see (:func:`semhash_lib.results.trivial_solutions`
    lists those cases). ``title`` is formatted with ``protocol``. Returns the Figure."""
    import matplotlib.pyplot as plt

    from matplotlib.lines import Line2D

    protocols = _protocols(table, protocols)
    fig, axes = plt.subplots(1, len(protocols), figsize=(5.5 * len(protocols), 4.4), squeeze=False)
    all_bits = sorted(int(b) for b in table["bits"].unique())
    span = max(float(np.log2(all_bits[-1] / all_bits[0])), 1.0)

    def area(b):          # marker area grows with the code length (the legend gives the sizes)
        return 18.0 + 70.0 * float(np.log2(b / all_bits[0])) / span

    for ax, protocol in zip(axes[0], protocols):
        s = summarize(table[table["protocol"] == protocol], [map_metric, mahp_metric], by=("method", "bits"))
        for m, r in s.groupby("method", sort=False):
            st = method_style(m)
            r = r.sort_values("bits")
            if len(r) > 1:
                ax.plot(r[map_metric], r[mahp_metric], color=st.color, ls=st.linestyle, lw=0.8, alpha=0.6)
            ax.scatter(r[map_metric], r[mahp_metric], label=m, s=[area(b) for b in r["bits"]],
                       edgecolors="0.15", linewidths=0.4, zorder=3, **st.points())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.set_title(_titled(title.format(protocol=protocol), table[table["protocol"] == protocol],
                             ("method", "bits")), fontsize=10)
    fig.tight_layout()
    seen: dict = {}
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    handles, labels = list(seen.values()), list(seen)
    if len(all_bits) > 1:          # the size key
        handles.append(Line2D([], [], ls="none"))
        labels.append("marker size = code length:")
        for b in all_bits:
            handles.append(Line2D([], [], ls="none", marker="o", color="0.6", markeredgecolor="0.15",
                                  markersize=float(np.sqrt(area(b)))))
            labels.append(f"{b} bits")
    else:
        handles.append(Line2D([], [], ls="none"))
        labels.append(f"every point: {all_bits[0]} bits")
    legend_outside(fig, handles, labels, title="method" + (" (lines join its code lengths)" if len(all_bits) > 1
                                                        else ""))
    return fig
