"""Results tables: aggregate the per-run rows of :func:`semhash_lib.experiment.run_grid` into the
tables a reader of the paper wants (mean ± std over seeds), and draw them.

The paper's own numbers are unavailable (``../shared/paper.md`` §7); :data:`PUBLISHED_ANCHORS` holds
the only published orientation values, Barz & Denzler's *continuous* 100-d class-embedding models
(mAHP@250, test-vs-test, LCS height) — not binary codes and not from the paper.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .plotting.style import method_color

__all__ = ["summarize", "format_mean_std", "results_markdown", "trivial_solutions", "plot_metric_by_bits", "plot_metric_bars",
           "PUBLISHED_ANCHORS"]

PUBLISHED_ANCHORS = pd.DataFrame([
    ("Barz & Denzler, Plain-11 (continuous 100-d)", "cifar100", "test_vs_test", 0.8205),
    ("Barz & Denzler, ResNet-110-wfc (continuous 100-d)", "cifar100", "test_vs_test", 0.8329),
    ("Barz & Denzler, PyramidNet-272-200 (continuous 100-d)", "cifar100", "test_vs_test", 0.8638),
], columns=["model", "dataset", "protocol", "mahp@250"])

GROUP = ("dataset", "protocol", "method", "bits")


def summarize(table: pd.DataFrame, metrics: Sequence[str], by: Sequence[str] = GROUP) -> pd.DataFrame:
    """Mean, std and count over seeds of ``metrics`` for each group ``by`` (columns ``<m>``, ``<m>_std``, ``n_seeds``)."""
    missing = [c for c in list(by) + list(metrics) if c not in table.columns]
    if missing:
        raise ValueError(f"results table lacks columns {missing}; has {list(table.columns)}")
    g = table.groupby(list(by), sort=False)
    mean = g[list(metrics)].mean()
    std = g[list(metrics)].std(ddof=1).fillna(0.0).add_suffix("_std")
    out = pd.concat([mean, std], axis=1)
    out["n_seeds"] = g.size()
    return out.reset_index()


def format_mean_std(summary: pd.DataFrame, metrics: Sequence[str], digits: int = 3, percent: bool = False) -> pd.DataFrame:
    """Replace each metric and its ``_std`` column by one text column ``"0.812 ± 0.004"`` (± only with >1 seed)."""
    out = summary.copy()
    scale = 100.0 if percent else 1.0
    for m in metrics:
        mean, std = out[m] * scale, out[f"{m}_std"] * scale
        out[m] = [f"{a:.{digits}f}" + (f" ± {b:.{digits}f}" if n > 1 else "") if np.isfinite(a) else "—"
                  for a, b, n in zip(mean, std, out["n_seeds"])]
        out = out.drop(columns=f"{m}_std")
    return out


def results_markdown(table: pd.DataFrame, metrics: Sequence[str], by: Sequence[str] = GROUP, digits: int = 3) -> str:
    """A markdown table of :func:`summarize` (mean ± std)."""
    return format_mean_std(summarize(table, metrics, by), metrics, digits).to_markdown(index=False)


def trivial_solutions(table: pd.DataFrame, reference: str = "semhash", map_metric: str = "map@all",
                      mahp_metric: str = "mahp@250", by: Sequence[str] = ("dataset", "protocol", "bits")) -> pd.DataFrame:
    """The paper's point (iii) as a table: methods whose mAP beats ``reference`` while their mAHP is lower.

    For each group ``by`` (means over seeds), a row for every method ``m`` with
    ``mAP(m) > mAP(reference)`` and ``mAHP(m) < mAHP(reference)``: the same-class metric prefers ``m``,
    the hierarchical one prefers the reference. Such a method ranks images of its query's class well but
    orders the other classes without regard to their meaning, which plain mAP cannot see. Columns: ``by``,
    ``method``, the two metrics of the method and of the reference, and their differences
    (``d_map = m - ref > 0``, ``d_mahp = m - ref < 0``). Empty when no method does this.
    """
    s = summarize(table, [map_metric, mahp_metric], by=tuple(by) + ("method",))
    rows = []
    for key, g in s.groupby(list(by), sort=False):
        ref = g[g["method"] == reference]
        if ref.empty:
            continue
        rm, rh = float(ref[map_metric].iloc[0]), float(ref[mahp_metric].iloc[0])
        for _, r in g[(g[map_metric] > rm) & (g[mahp_metric] < rh)].iterrows():
            rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "method": r["method"],
                         map_metric: r[map_metric], f"{reference} {map_metric}": rm,
                         mahp_metric: r[mahp_metric], f"{reference} {mahp_metric}": rh,
                         "d_map": r[map_metric] - rm, "d_mahp": r[mahp_metric] - rh, "n_seeds": int(r["n_seeds"])})
    cols = list(by) + ["method", map_metric, f"{reference} {map_metric}", mahp_metric,
                       f"{reference} {mahp_metric}", "d_map", "d_mahp", "n_seeds"]
    return pd.DataFrame(rows, columns=cols)


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
