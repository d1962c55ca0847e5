"""Results tables (pandas): aggregate the per-run rows of :func:`semhash_lib.experiment.run_grid` into the
tables a reader of the paper wants (mean ± std over seeds), compare a reproduction with the published tables,
and :func:`precision_curves`, the hP@k and P@k curves of a set of trained codes under both retrieval protocols.
Their figures are drawn by :mod:`semhash_lib.plotting.tables` (and :mod:`semhash_lib.plotting.curves`).

The paper's own numbers are unavailable (``docs/paper.md`` §7); :data:`PUBLISHED_ANCHORS` holds
the only published orientation values, Barz & Denzler's *continuous* 100-d class-embedding models
(mAHP@250, test-vs-test, LCS height) — not binary codes and not from the paper.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["write_table", "summarize", "format_mean_std", "results_markdown", "trivial_solutions", "precision_curves", "compare_to_reference", "compare_results_dirs", "comparison_report", "PUBLISHED_ANCHORS"]

PUBLISHED_ANCHORS = pd.DataFrame([
    ("Barz & Denzler, Plain-11 (continuous 100-d)", "cifar100", "test_vs_test", 0.8205),
    ("Barz & Denzler, ResNet-110-wfc (continuous 100-d)", "cifar100", "test_vs_test", 0.8329),
    ("Barz & Denzler, PyramidNet-272-200 (continuous 100-d)", "cifar100", "test_vs_test", 0.8638),
], columns=["model", "dataset", "protocol", "mahp@250"])

GROUP = ("dataset", "protocol", "method", "bits")
#: metrics that :func:`compare_to_reference` checks by default
COMPARE_METRICS = ("map@1000", "mahp@250")
#: columns that are a run's outcome or bookkeeping, never part of what identifies its row: the seed (averaged
#: over), the config hash (changes with any code default), the profile name, timings, every metric, and the
#: grid point the KL ablation *selected* on validation (``weight``, ``k``, ``sigma``: an outcome of the selection,
#: the arm is its identity). :func:`compare_to_reference` keys on every other column the two tables share.
OUTCOME_COLUMNS = frozenset({
    "seed", "config_key", "profile", "train_seconds", "eval_seconds", "images_per_s", "seconds",
    "near_zero", "quant_error", "bit_balance", "code_entropy", "bit_corr", "caption_precision",
    "weight", "k", "sigma"})


def is_outcome_column(name: str) -> bool:
    """Whether column ``name`` of a per-seed table is an outcome (:data:`OUTCOME_COLUMNS`, or a retrieval metric:
    any name with ``@`` such as ``mahp@250``, ``cont_map@1000``, ``drop_mahp@250``) rather than a key."""
    return name in OUTCOME_COLUMNS or "@" in name or name.endswith("_std")


def identifying_columns(reproduced: pd.DataFrame, reference: pd.DataFrame, by: Sequence[str] = GROUP) -> list[str]:
    """The columns a comparison keys on: ``by`` (the ones both tables have), then every other column both tables
    share that is not an outcome (:func:`is_outcome_column`) -- the regime, the arm, the protocol, the split,
    the unseen classes, the number of queries, whatever a table has -- in the reference table's column order.
    An unknown column is therefore a key: groups are split (and reported missing on one side) rather than
    pooled into a mean that means nothing."""
    both = set(reproduced.columns) & set(reference.columns)
    keys = [c for c in by if c in both]
    return keys + [c for c in reference.columns if c in both and c not in keys and not is_outcome_column(c)]


def _comparable_keys(rep: pd.DataFrame, ref: pd.DataFrame, keys: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give every key column one form on both sides so that the merge matches equal values: empty cells become
    ``""`` (a group of their own, not dropped), and a column whose two sides differ in dtype (e.g. ``2000`` and
    ``2000.0`` once one side has an empty cell) is written as text, integral numbers without ``.0``."""
    def text(v):
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v)

    rep, ref = rep.copy(), ref.copy()
    for c in keys:
        empty = rep[c].isna().any() or ref[c].isna().any()
        if empty or rep[c].dtype != ref[c].dtype:
            for t in (rep, ref):
                t[c] = [("" if pd.isna(v) else text(v)) if not isinstance(v, str) else v for v in t[c]]
    return rep, ref
#: statuses of a :func:`compare_to_reference` row
COMPARED, MISSING, NOT_IN_REFERENCE = "compared", "missing in reproduction", "not in reference"
NO_VALUE, NO_REFERENCE_VALUE = "no value in reproduction", "no value in reference"


def write_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``table`` as CSV at ``path`` atomically (a reader never sees half a file); returns the path."""
    from .io import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as f:
        table.to_csv(f, index=False)
    return path


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


def precision_curves(codes, data, queries: int = 2000, seed: int = 0, db_class_sizes: int = 3,
                     max_k_test: int = 250, n_ks_db: int = 80, n_ks_test: int = 60) -> dict[str, dict]:
    """hP@k and P@k curves of trained codes under both retrieval protocols (``docs/paper.md`` §5.1, §5.2).

    ``codes``: ``{method: {"test": h_test, "train": h_train}}`` (e.g. :func:`semhash_lib.runs.trained_codes`
    with ``splits=("test", "train")``), ranked by Hamming distance of ``sign(h)``; ``data``: the
    ``ExperimentData`` they were encoded from (labels and the C x C class similarity s).

    - ``train_db``: ``queries`` test images (a sorted random subset drawn with ``seed``) against the whole
      training split, at 80 (``n_ks_db``) cut-offs k from 1 to ``db_class_sizes`` x the mean class size of
      the database (so the curves run past the point where the same-class images are used up);
    - ``test_vs_test`` (Barz & Denzler's protocol): every test image against the other test images (itself
      excluded), at 60 (``n_ks_test``) cut-offs from 1 to ``max_k_test`` = 250.

    hP@k(q) = Σ_{i≤k} s(y_q, y_{r_i}) / the largest such sum any ranking reaches
    (:func:`semhash_lib.metrics.hierarchical_precision_curve`); P@k(q) = (1/k) Σ_{i≤k} [y_{r_i} = y_q]
    (:func:`semhash_lib.metrics.precision_curve`); both averaged over the queries, ties by database index.

    Returns ``{protocol: {"class_size": int, "queries": int, "hP@k": {method: (ks, values)},
    "P@k": {method: (ks, values)}}}``; ``class_size`` is the mean number of same-class database items of a
    query, ``queries`` the number of queries averaged over (both for the titles and the class-size line of
    :func:`semhash_lib.plotting.curves.plot_precision_curves`).
    """
    from . import metrics

    S = data.class_similarity.numpy().astype(np.float64)
    y_test, y_train = data.y_test.numpy(), data.y_train.numpy()
    rng = np.random.default_rng(seed)
    q = np.sort(rng.choice(len(y_test), min(queries, len(y_test)), replace=False))
    size_db = int(np.bincount(y_train).mean())               # images per class in the training database
    size_test = int(np.bincount(y_test).mean()) - 1          # other images per class, test-vs-test
    ks_db = np.unique(np.linspace(1, min(db_class_sizes * size_db, len(y_train)), n_ks_db).astype(int))
    ks_test = np.unique(np.linspace(1, min(max_k_test, len(y_test) - 1), n_ks_test).astype(int))
    out = {"train_db": {"class_size": size_db, "queries": len(q), "hP@k": {}, "P@k": {}},
           "test_vs_test": {"class_size": size_test, "queries": len(y_test), "hP@k": {}, "P@k": {}}}
    for m, h in codes.items():
        h_test, h_train = h["test"], h["train"]
        db, tt = out["train_db"], out["test_vs_test"]
        db["hP@k"][m] = (ks_db, metrics.hierarchical_precision_curve(h_test[q], h_train, y_test[q], y_train, S, ks=ks_db))
        db["P@k"][m] = (ks_db, metrics.precision_curve(h_test[q], h_train, y_test[q], y_train, ks=ks_db))
        tt["hP@k"][m] = (ks_test, metrics.hierarchical_precision_curve(h_test, h_test, y_test, y_test, S, ks=ks_test,
                                                                       exclude_self=True))
        tt["P@k"][m] = (ks_test, metrics.precision_curve(h_test, h_test, y_test, y_test, ks=ks_test, exclude_self=True))
    return out


def compare_to_reference(reproduced: pd.DataFrame, reference: pd.DataFrame, metrics: Sequence[str] = COMPARE_METRICS,
                         by: Sequence[str] = GROUP, tolerance: float = 0.02, min_band: float = 0.005) -> pd.DataFrame:
    """Compare a reproduced results table with the published one, per group ``by`` and metric.

    Both tables hold per-seed rows as written by :func:`semhash_lib.experiment.run_grid`; each side is
    reduced with :func:`summarize` (mean, sample std with ddof=1, number of seeds). A group is keyed on **every
    column that identifies a row** (:func:`identifying_columns`): the ``by`` columns, then each other column
    both tables share that is not an outcome (metrics, timings, seed, config hash, the ablation's selected grid
    point) -- so two regimes, arms, protocols, similarities or target kinds are never averaged together.

    **Band rule.** A reproduced mean is *within* the published result when
    ``|reproduced - reference| <= band``, where ``band = max(2 × reference std, min_band)`` if the published
    table has at least 2 seeds for that group (``min_band``, default 0.005, keeps a group whose seeds happen to
    agree to three decimals from demanding bit-identical floats on another machine), and ``band = tolerance``
    (an absolute, stated tolerance; default 0.02) for single-seed profiles, whose std is unknown. This is the check ``semhash reproduce`` reports (README,
    "Two commands").

    Returns one row per (group, metric): the ``by`` columns, ``metric``, ``status``, ``reproduced``,
    ``reproduced_n_seeds``, ``reference``, ``reference_std`` (NaN with fewer than 2 published seeds),
    ``reference_n_seeds``, ``difference``
    (reproduced - reference), ``band``, ``band_rule`` (``"2 std"`` or ``"tolerance"``) and ``within`` (bool).
    ``status`` is ``"compared"``; ``"missing in reproduction"`` or ``"not in reference"`` for a group on one
    side only; ``"no value in reproduction"`` / ``"no value in reference"`` when the metric is NaN on one side
    (``within`` is False for all of these). A metric that is NaN on both sides (e.g. mAP of caption retrieval,
    which has no labels) gets no row.
    """
    both = set(reproduced.columns) & set(reference.columns)
    keys = identifying_columns(reproduced, reference, by)
    metrics = [m for m in metrics if m in both]
    columns = keys + ["metric", *_COMPARISON_VALUES]
    if not keys or not metrics:
        return pd.DataFrame(columns=columns)

    def reduce(t: pd.DataFrame) -> pd.DataFrame:
        return summarize(t, metrics, keys) if len(t) else pd.DataFrame(columns=keys + metrics + ["n_seeds"])

    rep, ref = map(reduce, _comparable_keys(reproduced, reference, keys))
    rep["_order_rep"], ref["_order_ref"] = np.arange(len(rep)), np.arange(len(ref))
    merged = rep.merge(ref, on=keys, how="outer", suffixes=("_rep", "_ref"), indicator=True)
    # the published table's order, then the groups only the reproduction has
    merged = merged.sort_values(["_order_ref", "_order_rep"], na_position="last", kind="stable")
    suffixed = {f"{m}{sfx}" for m in metrics for sfx in ("", "_std")} | {"n_seeds"}
    name = (lambda col, side: f"{col}_{side}" if col in suffixed else col)
    rows = []
    for _, r in merged.iterrows():
        for m in metrics:
            a, b = float(r.get(name(m, "rep"), np.nan)), float(r.get(name(m, "ref"), np.nan))
            n_ref = r.get(name("n_seeds", "ref"), np.nan)
            std = float(r.get(name(f"{m}_std", "ref"), np.nan))
            n_ref = int(n_ref) if pd.notna(n_ref) else 0
            n_rep = r.get(name("n_seeds", "rep"), np.nan)
            n_rep = int(n_rep) if pd.notna(n_rep) else 0
            if r["_merge"] == "left_only":
                status = NOT_IN_REFERENCE
            elif r["_merge"] == "right_only":
                status = MISSING
            elif np.isnan(a) and np.isnan(b):
                continue
            elif np.isnan(a):
                status = NO_VALUE
            elif np.isnan(b):
                status = NO_REFERENCE_VALUE
            else:
                status = COMPARED
            rule = "2 std" if n_ref >= 2 else "tolerance"
            band = max(2.0 * std, float(min_band)) if n_ref >= 2 else float(tolerance)
            diff = a - b
            within = bool(status == COMPARED and abs(diff) <= band + 1e-12)
            rows.append({**{k: r[k] for k in keys}, "metric": m, "status": status, "reproduced": a,
                         "reproduced_n_seeds": n_rep, "reference": b, "reference_std": std if n_ref >= 2 else np.nan,
                         "reference_n_seeds": n_ref, "difference": diff, "band": band, "band_rule": rule,
                         "within": within})
    return pd.DataFrame(rows, columns=columns)


_COMPARISON_VALUES = ("status", "reproduced", "reproduced_n_seeds", "reference", "reference_std", "reference_n_seeds",
                      "difference", "band", "band_rule", "within")


def _is_per_seed_table(table: pd.DataFrame, metrics: Sequence[str]) -> bool:
    return {"method", "bits", "seed"} <= set(table.columns) and any(m in table.columns for m in metrics)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def compare_results_dirs(reproduced_dir: str | os.PathLike, reference_dir: str | os.PathLike, profile: str,
                         metrics: Sequence[str] = COMPARE_METRICS, tolerance: float = 0.02
                         ) -> tuple[pd.DataFrame, str]:
    """Compare every results table of ``profile`` that a reproduction wrote with the published table of the
    same file name (``<name>_<profile>.csv`` in both folders), with :func:`compare_to_reference`.

    Only tables of per-seed metric rows take part: those with ``method``, ``bits`` and ``seed`` columns and at
    least one of ``metrics`` (so not the ``01_*``/``02_*`` target tables, the code statistics, nor
    ``trivial_solutions_*``, which holds means). Returns the concatenated comparison with a leading ``table``
    column, and a markdown section body: the band rule, the count within the band, published tables this run
    did not reproduce, and one line per (table, group, metric).
    """
    rep_dir, ref_dir = Path(reproduced_dir), Path(reference_dir)
    parts, not_reproduced = [], []
    for ref_csv in sorted(ref_dir.glob(f"*_{profile}.csv")):
        try:
            ref = pd.read_csv(ref_csv)
        except Exception:
            continue
        if not _is_per_seed_table(ref, metrics):
            continue
        rep_csv = rep_dir / ref_csv.name
        if not rep_csv.exists():
            not_reproduced.append(ref_csv.name)
            continue
        rep = pd.read_csv(rep_csv)
        if not _is_per_seed_table(rep, metrics):
            continue
        cmp = compare_to_reference(rep, ref, metrics=metrics, tolerance=tolerance)
        parts.append(cmp.assign(table=ref_csv.name)[["table"] + list(cmp.columns)])
    table = (pd.concat(parts, ignore_index=True) if parts
             else pd.DataFrame(columns=["table", "metric", "status", "reproduced", "reference", "difference",
                                        "band", "within"]))

    lines = [f"Reproduced tables in `{_shown(rep_dir)}` against the published tables in `{_shown(ref_dir)}`. "
             f"A mean is within the published result when |difference| ≤ max(2 × the published sample std over "
             f"seeds (ddof=1), 0.005), for groups with ≥ 2 published seeds, or ≤ {tolerance:g} (stated tolerance) for "
             f"single-seed groups.", ""]
    if not parts:
        lines.append(f"No published per-seed table of profile `{profile}` to compare with." if not not_reproduced
                     else "This run reproduced none of the published per-seed tables.")
    else:
        compared = table[table["status"] == COMPARED]
        n_other = len(table) - len(compared)
        lines.append(f"**{int(compared['within'].sum())} of {len(compared)}** (table, group, metric) pairs within the "
                     f"band" + (f"; {n_other} not compared (missing on one side)." if n_other else "."))
    if not_reproduced:
        lines += ["", "Published tables not reproduced by this run: " + ", ".join(f"`{n}`" for n in not_reproduced)]
    for part in parts:
        keys = [c for c in part.columns if c not in set(_COMPARISON_VALUES) | {"table", "metric"}]
        shown = pd.DataFrame({**{k: part[k] for k in keys}, "metric": part["metric"],
                              "reproduced": part["reproduced"], "published": part["reference"],
                              "published std": part["reference_std"],
                              "seeds (rep./publ.)": [f"{a}/{b}" for a, b in
                                                     zip(part["reproduced_n_seeds"], part["reference_n_seeds"])],
                              "difference": part["difference"], "band": part["band"],
                              "within": np.where(part["status"] != COMPARED, part["status"],
                                                 np.where(part["within"].astype(bool), "yes", "**no**"))})
        lines += ["", f"### {part['table'].iloc[0]}", "", shown.to_markdown(index=False, floatfmt=".4f")]
    return table, "\n".join(lines)


def comparison_report(comparison: pd.DataFrame, max_rows: int = 40) -> str:
    """A short plain-text report of :func:`compare_results_dirs`' table for the console: how many compared
    (group, metric) pairs lie within the band, then the pairs outside it and those missing on one side."""
    if comparison.empty:
        return "no published per-seed table to compare with"
    keys = [c for c in comparison.columns if c not in set(_COMPARISON_VALUES) | {"metric"}]
    comparison = comparison.astype({k: object for k in keys}).fillna({k: "" for k in keys})   # keys of other tables
    compared = comparison[comparison["status"] == COMPARED]
    outside = compared[~compared["within"].astype(bool)]
    other = comparison[comparison["status"] != COMPARED]
    lines = [f"{int(compared['within'].sum())} of {len(compared)} (group, metric) pairs within the published band"
             + (f"; {len(other)} not compared" if len(other) else "")]
    def shown_keys(rows):   # leave out key columns that are empty in every row shown (another table's keys)
        return [k for k in keys if (rows[k].astype(str) != "").any()]

    if len(outside):
        cols = shown_keys(outside.head(max_rows)) + ["metric", "reproduced", "reference", "reference_n_seeds", "difference", "band", "band_rule"]
        lines += ["outside the band:", outside[cols].head(max_rows).to_string(index=False, float_format="%.4f")]
        if len(outside) > max_rows:
            lines.append(f"... and {len(outside) - max_rows} more (see the comparison CSV)")
    if len(other):
        lines += ["not compared:", other[shown_keys(other.head(max_rows)) + ["metric", "status"]].head(max_rows).to_string(index=False)]
        if len(other) > max_rows:
            lines.append(f"... and {len(other) - max_rows} more (see the comparison CSV)")
    return "\n".join(lines)
