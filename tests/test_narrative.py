"""The generated prose (semhash_lib.narrative) says what the tables say: checked on the published tables
(results/*.csv, recomputed here by brute force) and on small hand-built tables worked out by hand."""

import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from semhash_lib import narrative

ROOT = Path(__file__).resolve().parent.parent
RES = ROOT / "results"


def _rows(method, values, bits=16, protocol="test_vs_test", dataset="toy"):
    return [{"dataset": dataset, "protocol": protocol, "bits": bits, "method": method, "seed": s, "mahp@250": v}
            for s, v in enumerate(values)]


# -- hand-built tables ----------------------------------------------------------------------------------

def test_paired_interval_by_hand_and_verdicts():
    """semhash 0.50/0.52/0.54; csq = semhash + 0.10/0.11/0.12: mean difference 0.11, sd 0.01, t(0.975, 2) =
    4.3027, half width 4.3027 * 0.01 / sqrt(3) = 0.02484 -> [0.0852, 0.1348], higher. semhash_quant = semhash
    + 0.02/-0.02/+0.01: mean +0.0033, the interval holds 0 -> no detectable difference; csq is 0.63 - 0.5233 =
    0.1067 above the family's best."""
    t = pd.DataFrame(_rows("semhash", [0.50, 0.52, 0.54]) + _rows("csq", [0.60, 0.63, 0.66])
                     + _rows("semhash_quant", [0.52, 0.50, 0.55]))
    d = narrative.method_differences(t, "mahp@250").set_index("method")
    assert list(d.index) == ["csq", "semhash_quant", "semhash"]          # best first
    assert d.loc["csq", "diff"] == pytest.approx(0.11)
    assert d.loc["csq", "ci_low"] == pytest.approx(0.0852, abs=1e-4)
    assert d.loc["csq", "ci_high"] == pytest.approx(0.1348, abs=1e-4)
    assert d.loc["csq", "verdict"] == "higher"
    assert d.loc["semhash_quant", "verdict"] == narrative.NO_DIFFERENCE
    text = narrative.methods_ranking(t, "mahp@250")
    assert "`csq` +0.110 [+0.085, +0.135]" in text
    assert "No detectable difference: `semhash_quant`." in text
    assert "`semhash` is 3rd of 3" in text
    assert "mean ± std over 3 seeds (0, 1, 2)" in text
    assert "It loses at toy · test_vs_test · 16 bits (`csq` by 0.1067 over `semhash_quant`)" in text
    assert "is ahead of every other method" not in text


def test_one_seed_says_noise_is_unknown_and_gives_no_interval():
    t = pd.DataFrame(_rows("semhash", [0.70]) + _rows("dsh", [0.60]))
    text = narrative.methods_ranking(t, "mahp@250")
    assert narrative.NOISE_UNKNOWN in text and "[" not in text
    assert "`semhash` 0.700, `dsh` 0.600" in text
    assert "ahead of every other method at toy · test_vs_test · 16 bits (`semhash` by 0.1000 over `dsh`)" in text
    assert narrative.seeds_caption(t) == "one seed (seed 0): no std, seed noise unknown"


def test_rounding_cost_names_the_rows_where_rounding_raises_the_metric():
    """Two rows: semhash h 0.80 -> sign 0.78 (drop 0.02); dsh h 0.60 -> sign 0.63 (drop -0.03, raised)."""
    t = pd.DataFrame([
        {"dataset": "toy", "protocol": "train_db", "bits": 16, "method": "semhash", "seed": 0,
         "mahp@250": 0.78, "cont_mahp@250": 0.80, "drop_mahp@250": 0.02},
        {"dataset": "toy", "protocol": "train_db", "bits": 16, "method": "dsh", "seed": 0,
         "mahp@250": 0.63, "cont_mahp@250": 0.60, "drop_mahp@250": -0.03}])
    text = narrative.rounding_cost(t)
    assert "Negative drops (1 of 2 rows: `dsh`; by code length 16 bits 1)" in text
    assert "0.600 → 0.630 (+0.030)" in text


def test_similarity_distribution_by_hand():
    """Four classes: a, b siblings (s = 1/2), c, d siblings (1/2), a-c, a-d, b-c 1/4, b-d 0: of the 6 pairs one
    is 0, the most common value is 1/4 (3 of 6), the median of (0, 1/4, 1/4, 1/4, 1/2, 1/2) is 1/4, and 1 of
    6 pairs lies below 1/4."""
    S = np.array([[1, .5, .25, .25], [.5, 1, .25, 0], [.25, .25, 1, .5], [.25, 0, .5, 1]])
    text = narrative.similarity_distribution(S, ["a", "b", "c", "d"], height=4)
    assert "Of the 6 class pairs, 16.7% have s = 0 (all of them involve `" in text
    assert "s = 1/4 = 0.250 (50.0% of pairs)" in text and "the median 0.250" in text
    assert "16.7% of pairs lie below 1/4" in text


def test_retrieved_classes_by_hand():
    S = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]])
    data = SimpleNamespace(class_similarity=S, y_test=np.array([0, 2]), y_train=np.array([0, 1, 2, 0]))
    # query 0 (class 0) gets train 0, 1, 2 -> s 1, 0.5, 0; query 1 (class 2) gets train 2, 3, 1 -> s 1, 0, 0
    text = narrative.retrieved_classes(data, [0, 1], np.array([[0, 1, 2], [2, 3, 1]]))
    assert "Of the 6 results shown (2 queries × 3), 2 are the query's class, 1 a related class" in text
    assert "3 share only the root" in text and "mean s = 0.417" in text
    import torch                                    # the notebook passes ExperimentData: torch tensors

    tensors = SimpleNamespace(class_similarity=torch.tensor(S), y_test=torch.tensor([0, 2]),
                              y_train=torch.tensor([0, 1, 2, 0]))
    assert narrative.retrieved_classes(tensors, np.array([0, 1]), np.array([[0, 1, 2], [2, 3, 1]])) == text


def test_precision_curves_by_hand():
    ks = np.array([1, 5, 10, 20])
    curves = {"train_db": {"class_size": 10,
                           "P@k": {"semhash": (ks, [0.6, 0.5, 0.4, 0.2]), "csq": (ks, [0.7, 0.6, 0.45, 0.2])},
                           "hP@k": {"semhash": (ks, [.9, .85, .8, .75]), "csq": (ks, [.9, .8, .7, .6])}}}
    text = narrative.precision_curves(curves)
    assert "P@1 ranges from 0.600 (`semhash`) to 0.700 (`csq`)" in text
    assert "falls to 0.400–0.450 at k = 10" in text
    assert "hP@20: `semhash` 0.750, `csq` 0.600 (`semhash` 1st of 2)" in text


def test_many_bits_spread_by_hand():
    h = {"a": np.array([[1.0, -1.0], [0.05, -0.5]])}
    text = narrative.many_bits_spread(h)
    # |h| < 0.1: one of four; mean ||h| - 1| = (0 + 0 + 0.95 + 0.5) / 4 = 0.3625
    assert "25.0% with |h| < 0.1" in text and "mean ||h| − 1| 0.362" in text


def test_ablation_verdicts_by_hand():
    rows = [("quant", "none", "mahp@250", 0.01, -0.01, 0.03, "no detectable difference"),
            ("kl_mixture", "none", "mahp@250", 0.05, 0.02, 0.08, "better"),
            ("kl_mixture", "none", "drop_mahp@250", -0.02, -0.03, -0.01, "better"),
            ("quant", "none", "drop_mahp@250", 0.0, -0.01, 0.01, "no detectable difference"),
            ("kl_mixture", "quant", "mahp@250", 0.04, 0.01, 0.07, "better")]
    s = pd.DataFrame([{"regime": "r", "bits": 8, "protocol": "test_vs_test", "arm": a, "reference": ref,
                       "metric": m, "arm_mean": 0.5, "reference_mean": 0.45, "diff": d, "ci_low": lo, "ci_high": hi,
                       "n_seeds": 5, "verdict": v} for a, ref, m, d, lo, hi, v in rows])
    text = narrative.ablation_verdicts(s)
    assert "mAHP@250 vs `none` (0.450): better `kl_mixture` +0.050 [+0.020, +0.080]" in text
    assert "drop vs `none` (0.450): better `kl_mixture` -0.020 [-0.030, -0.010]" in text
    assert "KL arms vs `quant` on mAHP@250: better `kl_mixture`" in text


# -- the published tables --------------------------------------------------------------------------------

def _orders(text):
    """{group label: [methods in the order the text lists them]} from a methods_ranking text."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"- (.+?): ((?:`[^`]+` [\d.]+(?:, )?)+)\.", line)
        if m:
            out[m.group(1)] = re.findall(r"`([^`]+)` [\d.]+", m.group(2))
    return out


def test_methods_ranking_on_the_published_hashing_table():
    t = pd.read_csv(RES / "hashing_quick.csv")
    text = narrative.methods_ranking(t, "mahp@250")
    orders = _orders(text)
    groups = t.groupby(["dataset", "protocol", "bits"])
    assert len(orders) == groups.ngroups
    losses = []
    for (ds, p, b), g in groups:
        means = g.groupby("method")["mahp@250"].mean().sort_values(ascending=False)
        assert orders[f"{ds} · {p} · {b} bits"] == list(means.index)
        place = list(means.index).index("semhash") + 1
        assert f"{ds} · {p} · {b} bits: " in text and f"`semhash` is {narrative._ordinal(place)} of {len(means)}" in text
        fam = means[[narrative.in_family(m) for m in means.index]]
        rest = means[[not narrative.in_family(m) for m in means.index]]
        if rest.max() > fam.max():
            losses.append(f"{ds} · {p} · {b} bits (`{rest.idxmax()}`")
    assert narrative.NOISE_UNKNOWN in text                          # the quick table has one seed
    loss_line = next((line for line in text.splitlines() if line.startswith("It loses at")), "")
    assert all(x in loss_line for x in losses) and loss_line.count("bits (") == len(losses)


def test_rounding_cost_on_the_published_hashing_table():
    t = pd.read_csv(RES / "hashing_quick.csv")
    text = narrative.rounding_cost(t)
    n_rows = len(t.groupby(["dataset", "protocol", "bits", "method"]))
    neg = t[t["cont_mahp@250"] - t["mahp@250"] < 0]          # the drop recomputed from its two columns
    assert f"Negative drops ({len(neg)} of {n_rows} rows" in text
    worst = neg.loc[(neg["cont_mahp@250"] - neg["mahp@250"]).idxmin()]
    assert f"`{worst['method']}` at {worst['dataset']} · {worst['protocol']} · {worst['bits']} bits" in text


def test_similarity_distribution_on_the_published_matrix():
    S = pd.read_csv(RES / "01_similarity_cifar100_wordnet_lca_height.csv", index_col=0)
    names, M = list(S.index), S.to_numpy()
    pairs = [(names[i], names[j], M[i, j]) for i in range(len(M)) for j in range(i + 1, len(M))]
    zero = [(a, b) for a, b, s in pairs if s == 0]
    value, count = Counter(round(s, 9) for _, _, s in pairs).most_common(1)[0]
    text = narrative.similarity_distribution(M, names, height=16)
    assert f"Of the {len(pairs):,} class pairs, {len(zero) / len(pairs):.1%} have s = 0" in text
    common = Counter(x for p in zero for x in p).most_common(1)[0][0]
    assert all(common in p for p in zero) and f"all of them involve `{common}`" in text
    assert f"s = {round(value * 16)}/16 = {value:.3f} ({count / len(pairs):.1%} of pairs)" in text
    assert f"the median {sorted(s for *_, s in pairs)[len(pairs) // 2]:.3f}" in text


def test_trivial_solutions_on_the_published_table():
    tr = pd.read_csv(RES / "trivial_solutions_quick.csv")
    text = narrative.trivial_solutions(tr)
    assert f"{len(tr)} cases" in text
    for m in tr["method"].unique():
        assert f"`{m}` (" in text
    worst = tr.loc[tr["d_mahp"].idxmin()]
    assert f"`{worst['method']}` at {worst['bits']} bits {worst['protocol']}, mAP {worst['d_map']:+.3f}" in text


def test_code_statistics_on_the_published_table():
    st = pd.read_csv(RES / "code_statistics_quick.csv")
    text = narrative.code_statistics(st)
    for _, r in st.iterrows():
        assert f"`{r['method']}` {r['|h|<0.1']:.1%}, {r['quant. MSE']:.4f}" in text


@pytest.mark.parametrize("profile", ["quick", "ablation"])
def test_ablation_verdicts_on_the_published_summary(profile):
    s = pd.read_csv(RES / f"kl_ablation_summary_{profile}.csv")
    text = narrative.ablation_verdicts(s)
    tv = s[(s["protocol"] == "test_vs_test") & (s["reference"] == "none") & (s["metric"] == "mahp@250")]
    for (regime, bits), cell in tv.groupby(["regime", "bits"]):
        line = next(x for x in text.splitlines() if x.startswith(f"- {regime}, {bits} bits"))
        mahp_part = line.split("drop vs")[0]
        for _, r in cell.iterrows():
            shown = f"`{r['arm']}` {r['diff']:+.3f}".replace("-0.000", "+0.000")
            assert (shown in mahp_part) == (r["verdict"] in ("better", "worse")), (line, r["arm"])


def test_paired_columns_on_the_published_sentence_table():
    c = pd.read_csv(RES / "sentence_vs_wordnet_quick.csv")
    text = narrative.paired_columns(c, "targets", "sentence (gloss)", "WordNet (LCA height)")
    for m, g in c.groupby("method"):
        a = g[g["targets"] == "sentence (gloss)"]["mahp@250"].mean()
        b = g[g["targets"] == "WordNet (LCA height)"]["mahp@250"].mean()
        diff = f"{a - b:+.3f}".replace("-0.000", "+0.000")        # a difference that rounds to 0 has no sign
        assert f"{m} · 32 bits: {a:.3f} vs {b:.3f} ({diff})" in text
    assert narrative.NOISE_UNKNOWN in text
