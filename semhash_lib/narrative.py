"""Generated prose: the sentences a notebook says about its own run, written from that run's tables.

A notebook's static markdown says what does not depend on the run (the question, the method, how to read a
figure); every number it quotes about a result comes from one of these functions, called on the table or
figure data the notebook has just computed, and shown with ``IPython.display.Markdown``. So the text cannot
go stale when a profile, a parameter or the code changes.

One function per finding, each returning a markdown string ("**What this run shows.** ..."):

- :func:`similarity_distribution` -- the class-pair similarity values of a hierarchy (notebook 01);
- :func:`many_bits_spread`, :func:`toy_retrieval` -- the toys of notebook 00;
- :func:`methods_ranking` -- the ordering of methods per protocol and code length, the gaps against seed noise
  (paired 95 % intervals over seeds, :func:`semhash_lib.ablation.paired_interval`, when there are >= 2 seeds;
  "seed noise unknown" with one), and where the paper's family (``semhash`` and ``semhash_*``) wins or
  loses (notebooks 03, 05, 06, 07);
- :func:`rounding_cost` -- what rounding h to sign(h) costs, and when it *raises* mAHP (notebooks 03, 05);
- :func:`code_statistics` -- whether the binarisation terms move h away from 0 (notebook 04);
- :func:`precision_curves` -- P@k and hP@k at the points the text of notebook 05 refers to;
- :func:`trivial_solutions` -- the mAP-vs-mAHP disagreements (notebook 05);
- :func:`protocol_change`, :func:`paired_columns` -- one method across two databases or two kinds of targets
  (notebooks 06, 07);
- :func:`retrieved_classes` -- what the retrieval figure of notebook 08 shows;
- :func:`ablation_verdicts` -- the arms of the KL ablation against ``none`` and ``quant`` (notebook 09).

The paired interval and its reading ("no detectable difference" when it holds 0) are those of the KL ablation,
``docs/reconstruction.md``, "The KL ablation".
"""

from __future__ import annotations

from fractions import Fraction
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["in_family", "seeds_caption", "method_differences", "methods_ranking", "rounding_cost",
           "code_statistics", "precision_curves", "trivial_solutions", "protocol_change", "paired_columns",
           "retrieved_classes", "ablation_verdicts", "similarity_distribution", "many_bits_spread",
           "toy_retrieval", "NO_DIFFERENCE", "NOISE_UNKNOWN"]

NO_DIFFERENCE = "no detectable difference"
NOISE_UNKNOWN = "seed noise unknown"
SHOWS = "**What this run shows.**"
METRIC_NAMES = {"mahp@250": "mAHP@250", "map@1000": "mAP@1000", "map@all": "mAP@all",
                "drop_mahp@250": "drop of mAHP@250 from h to sign(h)"}


def in_family(method: str) -> bool:
    """Whether ``method`` is the paper's method or one of its ablations (``semhash``, ``semhash_*``)."""
    return method == "semhash" or str(method).startswith("semhash_")


def _name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric)


def _f(x: float, d: int = 3) -> str:
    return f"{round(float(x), d) + 0.0:.{d}f}"          # + 0.0: no "-0.000"


def _s(x: float, d: int = 3) -> str:
    return f"{round(float(x), d) + 0.0:+.{d}f}"


def _seeds(table: pd.DataFrame) -> list:
    return sorted(table["seed"].dropna().unique().tolist()) if "seed" in table.columns else []


def seeds_caption(table: pd.DataFrame) -> str:
    """What a table's cells are: ``"mean ± std over 3 seeds (0, 1, 2)"`` or, with one seed,
    ``"one seed (seed 0): no std, seed noise unknown"``."""
    seeds = _seeds(table)
    if len(seeds) > 1:
        return f"mean ± std over {len(seeds)} seeds ({', '.join(str(int(s)) for s in seeds)})"
    if seeds:
        return f"one seed (seed {int(seeds[0])}): no std, {NOISE_UNKNOWN}"
    return f"no seed column: {NOISE_UNKNOWN}"


def _verdict(low: float, high: float) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return NOISE_UNKNOWN
    return NO_DIFFERENCE if low <= 0 <= high else ("higher" if low > 0 else "lower")


def method_differences(table: pd.DataFrame, metric: str, reference: str = "semhash",
                       by: Sequence[str] = ("dataset", "protocol", "bits")) -> pd.DataFrame:
    """Per group ``by`` and method: the mean of ``metric`` over seeds, and the paired difference to
    ``reference`` (method − reference, over the seeds both have) with its 95 % Student-t interval
    (:func:`semhash_lib.ablation.paired_interval`; NaN bounds with one seed) and a verdict: ``"higher"`` /
    ``"lower"`` when the interval excludes 0, :data:`NO_DIFFERENCE` when it holds 0, :data:`NOISE_UNKNOWN`
    with fewer than 2 paired seeds. Rows are sorted by the mean within each group, best first."""
    from .ablation import paired_interval

    by = [c for c in by if c in table.columns]
    rows = []
    for key, g in table.groupby(by, sort=False) if by else [((), table)]:
        key = key if isinstance(key, tuple) else (key,)
        per = {m: x.groupby("seed")[metric].mean() if "seed" in x.columns else x[metric].reset_index(drop=True)
               for m, x in g.groupby("method", sort=False)}
        ref = per.get(reference)
        for m, v in per.items():
            row = {**dict(zip(by, key)), "method": m, "mean": float(v.mean()), "n_seeds": len(v)}
            if ref is not None and m != reference:
                common = sorted(set(v.index) & set(ref.index))
                mean, low, high = paired_interval(v.loc[common].to_numpy() - ref.loc[common].to_numpy())
                row.update(diff=mean, ci_low=low, ci_high=high, verdict=_verdict(low, high))
            else:
                row.update(diff=np.nan, ci_low=np.nan, ci_high=np.nan, verdict="")
            rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return out.sort_values(by + ["mean"], ascending=[True] * len(by) + [False], kind="stable").reset_index(drop=True)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _label(key: dict) -> str:
    return " · ".join(f"{v}" if k not in ("bits",) else f"{int(v)} bits" for k, v in key.items())


def methods_ranking(table: pd.DataFrame, metric: str = "mahp@250", reference: str = "semhash",
                    by: Sequence[str] = ("dataset", "protocol", "bits"), higher_is_better: bool = True,
                    digits: int = 3) -> str:
    """Markdown: per group ``by`` the methods in order of ``metric`` (best first), the place of ``reference``,
    the gaps to it against seed noise, and where the paper's family (:func:`in_family`) wins or loses.

    With >= 2 seeds each method's difference to ``reference`` is given with its paired 95 % interval and
    those whose interval holds 0 are named as showing no detectable difference; with one seed the text says
    that seed noise is unknown, so gaps are only an ordering of this one run."""
    d = method_differences(table, metric, reference, by)
    if d.empty:
        return f"{SHOWS} The table has no rows."
    by = [c for c in by if c in d.columns]
    multi = d["n_seeds"].max() > 1
    head = (f"{SHOWS} {_name(metric)}, {seeds_caption(table)}"
            + ("; differences to `" + reference + "` are paired over seeds with 95 % intervals." if multi else
               ": the ordering below is of this one run, and gaps smaller than the differences between seeds "
               "(not measured here) may be noise."))
    lines, wins, losses = [head, ""], [], []
    for key, g in d.groupby(by, sort=False) if by else [((), d)]:
        key = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        g = g.sort_values("mean", ascending=not higher_is_better, kind="stable")
        order = ", ".join(f"`{m}` {_f(v, digits)}" for m, v in zip(g["method"], g["mean"]))
        text = f"- {_label(key)}: {order}."
        if reference in set(g["method"]):
            place = list(g["method"]).index(reference) + 1
            text += f" `{reference}` is {_ordinal(place)} of {len(g)}."
        if multi and reference in set(g["method"]):
            others = g[g["method"] != reference]
            same = others[others["verdict"] == NO_DIFFERENCE]["method"].tolist()
            diffs = "; ".join(f"`{m}` {_s(x, digits)} [{_s(lo, digits)}, {_s(hi, digits)}]"
                              for m, x, lo, hi in zip(others["method"], others["diff"], others["ci_low"],
                                                      others["ci_high"]))
            text += f" Method − `{reference}`: {diffs}."
            if same:
                text += " No detectable difference: " + ", ".join(f"`{m}`" for m in same) + "."
        lines.append(text)
        fam, rest = g[g["method"].map(in_family)], g[~g["method"].map(in_family)]
        if len(fam) and len(rest):
            best_fam, best_rest = fam.iloc[0], rest.iloc[0]
            gap = (best_fam["mean"] - best_rest["mean"]) * (1 if higher_is_better else -1)
            entry = (_label(key), best_fam["method"], best_rest["method"], gap)
            (wins if gap >= 0 else losses).append(entry)
    if wins or losses:
        lines.append("")
        if wins:
            lines.append("The paper's family (`semhash`, `semhash_*`) is ahead of every other method at "
                         + "; ".join(f"{k} (`{f}` by {_f(abs(g), digits + 1)} over `{r}`)" for k, f, r, g in wins) + ".")
        if losses:
            lines.append("It loses at " + "; ".join(f"{k} (`{r}` by {_f(abs(g), digits + 1)} over `{f}`)"
                                                   for k, f, r, g in losses) + ".")
        if not multi:
            lines.append(f"With one seed, whether these gaps exceed seed noise is unknown.")
    return "\n".join(lines)


def rounding_cost(table: pd.DataFrame, metric: str = "mahp@250", with_term: str = "semhash",
                  without_term: str = "semhash_no_kl", by: Sequence[str] = ("dataset", "protocol", "bits"),
                  digits: int = 3) -> str:
    """Markdown: what rounding h to sign(h) costs (``drop_<metric>`` = ``cont_<metric>`` − ``<metric>``,
    means over seeds) for ``with_term`` against ``without_term`` per group, and every row where the drop is
    negative: rounding *raised* the metric, which happens when the continuous outputs, ranked by Euclidean
    distance, order the database worse than their signs do under Hamming distance (large |h| in a few
    dimensions dominates a Euclidean distance; sign(h) weighs every bit alike)."""
    drop = f"drop_{metric}"
    by = [c for c in by if c in table.columns]
    mean = table.groupby(by + ["method"], sort=False)[[drop, metric, f"cont_{metric}"]].mean().reset_index()
    lines = [f"{SHOWS} The drop of {_name(metric)} from h (Euclidean ranking) to sign(h) (Hamming ranking), "
             f"{seeds_caption(table)}.", ""]
    if {with_term, without_term} <= set(mean["method"]):
        parts = []
        for key, g in mean.groupby(by, sort=False):
            v = g.set_index("method")[drop]
            if with_term not in v.index or without_term not in v.index:
                continue
            parts.append(f"{_label(dict(zip(by, key)))}: {_f(v[with_term], digits)} vs {_f(v[without_term], digits)}")
        lines.append(f"- `{with_term}` vs `{without_term}` (what the term saves is the difference): "
                     + "; ".join(parts) + ".")
    neg = mean[mean[drop] < 0]
    if len(neg):
        worst = neg.loc[neg[drop].idxmin()]
        methods = ", ".join(f"`{m}`" for m in dict.fromkeys(neg["method"]))
        if "bits" in by:
            per_bits = neg.groupby("bits").size()
            methods += "; by code length " + ", ".join(f"{int(b)} bits {n}" for b, n in per_bits.items())
        lines.append(f"- Negative drops ({len(neg)} of {len(mean)} rows: {methods}): rounding *raised* "
                     f"{_name(metric)}. The Euclidean ranking of the continuous h was worse than the Hamming "
                     f"ranking of its signs, since a few large |h| dominate a Euclidean distance while sign(h) "
                     f"weighs every bit alike. The largest: `{worst['method']}` at "
                     f"{_label({k: worst[k] for k in by})}, {_f(worst[f'cont_{metric}'], digits)} → "
                     f"{_f(worst[metric], digits)} ({_s(-worst[drop], digits)}).")
    else:
        lines.append(f"- Rounding never raised {_name(metric)} in this run (no negative drop).")
    return "\n".join(lines)


def code_statistics(stats: pd.DataFrame, reference: str = "semhash_no_kl", near: str = "|h|<0.1",
                    error: str = "quant. MSE", corr: str = "mean |corr|", digits: int = 4) -> str:
    """Markdown for a :func:`semhash_lib.codes.code_statistics_table`: each method's share of outputs near 0
    and quantization error against ``reference`` (the same loss without a binarisation term), and whether
    any term moved the outputs away from 0 (a smaller share near 0 than the reference's)."""
    s = stats.set_index("method")
    lines = [f"{SHOWS} Share of outputs with {near} and the quantization error, by method:", ""]
    lines.append("- " + "; ".join(f"`{m}` {s.loc[m, near]:.1%}, {_f(s.loc[m, error], digits)}" for m in s.index) + ".")
    if corr in s.columns:
        lines.append(f"- Mean |correlation| between bits: " + ", ".join(f"`{m}` {_f(s.loc[m, corr], 3)}"
                                                                     for m in s.sort_values(corr).index)
                     + " (lowest first).")
    if reference in s.index:
        r = s.loc[reference]
        fam = [m for m in s.index if in_family(m) and m != reference]
        if fam:
            d = {m: s.loc[m, near] - r[near] for m in fam}
            lines.append(f"- Against `{reference}` (no term) the share near 0 changes by "
                         + ", ".join(f"`{m}` {100 * v:+.2f} points" for m, v in d.items()) + "; "
                         + ("no term moves the outputs away from 0 by more than a tenth of a point in this run: "
                            "the histograms of the family look alike."
                            if max(abs(v) for v in d.values()) < 0.001 else
                            "the term with the smallest share near 0 is `"
                            + min(d, key=d.get) + "`.") + " One seed: seed noise unknown.")
    return "\n".join(lines)


def _at(ks: np.ndarray, values: np.ndarray, k: int) -> tuple[int, float]:
    """The value at the largest evaluated cut-off <= k (the first one if none is)."""
    ks, values = np.asarray(ks), np.asarray(values)
    i = max(int(np.searchsorted(ks, k, side="right")) - 1, 0)
    return int(ks[i]), float(values[i])


def precision_curves(curves: Mapping[str, dict], reference: str = "semhash", digits: int = 3) -> str:
    """Markdown for :func:`semhash_lib.results.precision_curves`: per protocol P@1, P@k at the class size and
    hP@k at the last cut-off of every method (best first), and where ``reference`` stands."""
    lines = [f"{SHOWS}", ""]
    for protocol, c in curves.items():
        size = int(c["class_size"])
        p1 = {m: float(np.asarray(v)[0]) for m, (k, v) in c["P@k"].items()}
        pc = {m: _at(k, v, size) for m, (k, v) in c["P@k"].items()}
        last = {m: (int(np.asarray(k)[-1]), float(np.asarray(v)[-1])) for m, (k, v) in c["hP@k"].items()}
        kc = next(iter(pc.values()))[0]
        kl = next(iter(last.values()))[0]
        rank = sorted(last, key=lambda m: -last[m][1])
        lines.append(f"- {protocol} (class size {size}): P@1 ranges from {_f(min(p1.values()), digits)} "
                     f"(`{min(p1, key=p1.get)}`) to {_f(max(p1.values()), digits)} (`{max(p1, key=p1.get)}`) and "
                     f"falls to {_f(min(v for _, v in pc.values()), digits)}–{_f(max(v for _, v in pc.values()), digits)} "
                     f"at k = {kc}; hP@{kl}: " + ", ".join(f"`{m}` {_f(last[m][1], digits)}" for m in rank)
                     + (f" (`{reference}` {_ordinal(rank.index(reference) + 1)} of {len(rank)})" if reference in rank else "")
                     + ".")
    return "\n".join(lines)


def trivial_solutions(trivial: pd.DataFrame, reference: str = "semhash", digits: int = 3) -> str:
    """Markdown for :func:`semhash_lib.results.trivial_solutions`: which methods beat ``reference`` on mAP
    while losing on mAHP, where, and the largest such mAHP loss."""
    if trivial.empty:
        return f"{SHOWS} No method beats `{reference}` on mAP while losing on mAHP in this run."
    per = {m: ", ".join(f"{int(b)} bits {p}" for p, b in zip(g["protocol"], g["bits"]))
           for m, g in trivial.groupby("method", sort=False)}
    worst = trivial.loc[trivial["d_mahp"].idxmin()]
    n = int(trivial["n_seeds"].max()) if "n_seeds" in trivial.columns else 1
    return (f"{SHOWS} {len(trivial)} cases where a method has the higher mAP and the lower mAHP than "
            f"`{reference}`: " + "; ".join(f"`{m}` ({w})" for m, w in per.items()) + ". The largest mAHP loss: "
            f"`{worst['method']}` at {int(worst['bits'])} bits {worst['protocol']}, mAP {_s(worst['d_map'], digits)}, "
            f"mAHP {_s(worst['d_mahp'], digits)}."
            + (" One seed: cases with gaps of a few thousandths may be seed noise." if n < 2 else ""))


def protocol_change(table: pd.DataFrame, metric: str, before: str, after: str, digits: int = 3) -> str:
    """Markdown: per method (and bits) the change of ``metric`` from protocol ``before`` to ``after`` (means
    over seeds), largest loss first -- e.g. from the unseen-only database to the mixed one (notebook 06)."""
    m = table.groupby(["protocol", "method", "bits"], sort=False)[metric].mean().unstack("protocol")
    if before not in m.columns or after not in m.columns:
        return f"{SHOWS} The table lacks protocol {before!r} or {after!r}."
    d = (m[after] - m[before]).sort_values()
    return (f"{SHOWS} {_name(metric)} from `{before}` to `{after}` ({seeds_caption(table)}): "
            + ", ".join(f"`{meth}` {_s(v, digits)}" for (meth, b), v in d.items()) + ".")


def paired_columns(table: pd.DataFrame, column: str, a: str, b: str, metric: str = "mahp@250",
                   by: Sequence[str] = ("method", "bits"), digits: int = 3) -> str:
    """Markdown: per group ``by`` the difference of ``metric`` between the rows whose ``column`` is ``a`` and
    those where it is ``b`` (a − b), paired over seeds with a 95 % interval when there are >= 2 seeds."""
    from .ablation import paired_interval

    parts, verdicts = [], []
    for key, g in table.groupby(list(by), sort=False):
        va = g[g[column] == a].groupby("seed")[metric].mean()
        vb = g[g[column] == b].groupby("seed")[metric].mean()
        common = sorted(set(va.index) & set(vb.index))
        if not common:
            continue
        mean, low, high = paired_interval(va.loc[common].to_numpy() - vb.loc[common].to_numpy())
        verdict = _verdict(low, high)
        ci = f" [{_s(low, digits)}, {_s(high, digits)}], {verdict}" if np.isfinite(low) else ""
        parts.append(f"{_label(dict(zip(by, key)))}: {_f(va.loc[common].mean(), digits)} vs "
                     f"{_f(vb.loc[common].mean(), digits)} ({_s(mean, digits)}{ci})")
        verdicts.append(verdict)
    if not parts:
        return f"{SHOWS} No group has both {a!r} and {b!r}."
    return (f"{SHOWS} {_name(metric)}, {a} vs {b}, {seeds_caption(table)}: " + "; ".join(parts) + "."
            + (" With one seed, whether these differences exceed seed noise is unknown."
               if NOISE_UNKNOWN in verdicts else ""))


def retrieved_classes(data, queries: Sequence[int], idx: np.ndarray) -> str:
    """Markdown for the retrieval figure of notebook 08: ``queries`` (indices into the test split) and ``idx``
    (queries, k) the training images retrieved for each; with s = ``data.class_similarity`` of the query's
    class and the retrieved one's, how many results are the query's class (s = 1), a related class
    (0 < s < 1) or share only the root (s = 0), and the mean s (what the frame colours show)."""
    S = np.asarray(data.class_similarity, dtype=np.float64)
    yq = np.asarray(data.y_test)[np.asarray(queries)]
    s = S[yq[:, None], np.asarray(data.y_train)[np.asarray(idx)]]
    n = s.size
    same, zero = int((s >= 1 - 1e-9).sum()), int((s <= 1e-9).sum())
    return (f"{SHOWS} Of the {n} results shown ({s.shape[0]} queries × {s.shape[1]}), {same} are the query's "
            f"class, {n - same - zero} a related class (0 < s < 1) and {zero} share only the root (s = 0); "
            f"mean s = {_f(float(s.mean()))}.")


def ablation_verdicts(summary: pd.DataFrame, protocol: str = "test_vs_test", digits: int = 3) -> str:
    """Markdown for :func:`semhash_lib.ablation.compare_arms`: per regime and code length, the arms whose
    mAHP@250 and whose drop h -> sign(h) differ detectably from ``none`` (mean difference and 95 % interval)
    and those that do not, and how the KL arms (the paper's term) fare against ``quant``."""
    s = summary[summary["protocol"] == protocol]
    if s.empty:
        return f"{SHOWS} The summary has no {protocol} rows."
    n = int(s["n_seeds"].max())
    lines = [f"{SHOWS} {protocol}, paired over {n} seed{'s' if n != 1 else ''} (arm − reference, 95 % interval; "
             f"{NO_DIFFERENCE} when it holds 0)."
             + (" With one seed there is no interval: seed noise unknown." if n < 2 else ""), ""]

    def named(rows):
        return ", ".join(f"`{a}` {_s(d, digits)} [{_s(lo, digits)}, {_s(hi, digits)}]"
                         for a, d, lo, hi in zip(rows["arm"], rows["diff"], rows["ci_low"], rows["ci_high"]))

    for (regime, bits), cell in s.groupby(["regime", "bits"], sort=False):
        parts = []
        for metric, what in (("mahp@250", "mAHP@250"), ("drop_mahp@250", "drop")):
            r = cell[(cell["reference"] == "none") & (cell["metric"] == metric)]
            if r.empty:
                continue
            det = r[r["verdict"].isin(["better", "worse"])]
            text = f"{what} vs `none` ({_f(float(r['reference_mean'].iloc[0]), digits)}): "
            text += (("better " + named(det[det["verdict"] == "better"]) if (det["verdict"] == "better").any() else "")
                     + ("; " if (det["verdict"] == "better").any() and (det["verdict"] == "worse").any() else "")
                     + ("worse " + named(det[det["verdict"] == "worse"]) if (det["verdict"] == "worse").any() else ""))
            if det.empty:
                text += f"{NO_DIFFERENCE} for any arm"
            parts.append(text)
        kl = cell[(cell["reference"] == "quant") & (cell["metric"] == "mahp@250") & cell["arm"].str.startswith("kl_")]
        if len(kl):
            vs = {v: kl[kl["verdict"] == v]["arm"].tolist() for v in ("better", "worse")}
            parts.append("KL arms vs `quant` on mAHP@250: "
                         + (", ".join(f"{v} {', '.join(f'`{a}`' for a in arms)}" for v, arms in vs.items() if arms)
                            or NO_DIFFERENCE))
        lines.append(f"- {regime}, {int(bits)} bits — " + "; ".join(parts) + ".")
    return "\n".join(lines)


def similarity_distribution(S: np.ndarray, names: Sequence[str], height: int | None = None) -> str:
    """Markdown: the distribution of the class-pair similarities (upper triangle of ``S``): how many pairs
    are 0 and which classes they involve, the most common value (as a fraction of the tree ``height`` when
    given), the median and the share below 1/4."""
    S = np.asarray(S, dtype=np.float64)
    i, j = np.triu_indices(len(S), k=1)
    v = S[i, j]
    zero = np.isclose(v, 0.0)
    vals, counts = np.unique(np.round(v, 9), return_counts=True)
    mode = float(vals[np.argmax(counts)])

    def frac(x: float) -> str:
        if height and abs(x * height - round(x * height)) < 1e-6:
            f = Fraction(round(x * height), int(height))
            return f"{f.numerator}/{f.denominator} = {x:.3f}" if f.denominator > 1 else f"{x:.3f}"
        return f"{x:.3f}"

    text = f"{SHOWS} Of the {len(v):,} class pairs, {zero.mean():.1%} have s = 0"
    if zero.any():
        involved = pd.Series([names[a] for a in i[zero]] + [names[b] for b in j[zero]]).value_counts()
        common = involved.index[0]
        all_one = involved.iloc[0] == zero.sum()
        text += (f" (all of them involve `{common}`)" if all_one else
                 f" (`{common}` is in {involved.iloc[0]} of them)")
    text += (f"; the most common value is s = {frac(mode)} ({counts.max() / len(v):.1%} of pairs), the median "
             f"{np.median(v):.3f}, and {np.mean(v < 0.25):.1%} of pairs lie below 1/4.")
    return text


def many_bits_spread(outputs: Mapping[str, np.ndarray], near: float = 0.1) -> str:
    """Markdown for :func:`semhash_lib.toy.many_bits_outputs`: per KL variant the range of the outputs (1st
    to 99th percentile), the share with |h| < ``near`` and the quantization error of
    :func:`semhash_lib.toy.binarization_statistics` (the numbers the figure's panels carry)."""
    from .toy import binarization_statistics

    parts = []
    for v, h in outputs.items():
        h = np.asarray(h, dtype=np.float64)
        lo, hi = np.percentile(h, [1, 99])
        st = binarization_statistics(h, near=near)
        parts.append(f"`{v}` {lo:+.2f} to {hi:+.2f}, {st['near_zero']:.1%} with |h| < {near:g}, "
                     f"mean ||h| − 1| {st['quant_error']:.3f}")
    return f"{SHOWS} Outputs (1st to 99th percentile): " + "; ".join(parts) + "."


def toy_retrieval(table: pd.DataFrame, semantic: str | None = None) -> str:
    """Markdown for :func:`semhash_lib.toy.retrieval_table`: mAP and mAHP of each class-id code against the
    semantic code (``semantic``: its name; default the first row)."""
    mahp = next(c for c in table.columns if c.startswith("mAHP"))
    t = table.set_index("code")
    semantic = semantic or t.index[0]
    sem = t.loc[semantic]
    others = [c for c in t.index if c != semantic]
    return (f"{SHOWS} mAP: the semantic code {sem['mAP']:.3f}, "
            + ", ".join(f"{c} {t.loc[c, 'mAP']:.3f}" for c in others)
            + f"; {mahp}: the semantic code {sem[mahp]:.3f}, "
            + ", ".join(f"{c} {t.loc[c, mahp]:.3f}" for c in others) + ".")
