"""Every number of the README's "What we found" is recomputed here from the published table it cites and must be
printed as the table gives it (at the README's precision). Each claim is a phrase of the README rebuilt from
results/*.csv (or the tuned parameters, the ablation profile, the published anchors); a decimal number of the
section that no claim rebuilds fails the test, so a number cannot enter the README without being tied to a table.
Integers that are settings of the study (code lengths, seeds, steps, images) are listed, each tied where a table
records it."""

import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
RES = ROOT / "results"
FAMILY = ["semhash", "semhash_sampled_kl", "semhash_quant", "semhash_no_kl"]


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split("## What we found", 1)[1].split("\n## ", 1)[0]
    return " ".join(body.split())


def _s(x: float, d: int = 3) -> str:
    return f"{round(x, d) + 0.0:+.{d}f}"


def _span(values) -> str:
    """``lo–hi`` to 3 decimals, or the one value when both round to it."""
    lo, hi = f"{min(values):.3f}", f"{max(values):.3f}"
    return lo if lo == hi else f"{lo}–{hi}"


def _ci(r) -> str:
    return f"{_s(r['diff'])} [{_s(r['ci_low'])}, {_s(r['ci_high'])}]"


@pytest.fixture(scope="module")
def summary():
    s = pd.read_csv(RES / "kl_ablation_summary_ablation.csv")
    s = s[s["protocol"] == "test_vs_test"]
    return lambda regime, bits, arm, metric="mahp@250", ref="none": s[
        (s["regime"] == regime) & (s["bits"] == bits) & (s["arm"] == arm) & (s["reference"] == ref)
        & (s["metric"] == metric)].iloc[0]


@pytest.fixture(scope="module")
def claims(summary):
    """(README phrase rebuilt from the tables) for every result number of the section."""
    S = summary
    nc = "no_classifier"
    out = [
        # the KL ablation (results/kl_ablation_summary_ablation.csv, test vs test)
        f"nearest-corner {_ci(S(nc, 8, 'kl_nearest_corner'))}, mixture {_ci(S(nc, 8, 'kl_mixture'))}",
        f"the sampled one also at 16 bits ({_ci(S(nc, 16, 'kl_sampled'))})",
        f"does as well ({_ci(S(nc, 8, 'spread'))} at 8, {_ci(S(nc, 16, 'spread'))} at 16 bits)",
        "the drop from h to sign(h) is "
        + "/".join(dict.fromkeys(f"{S(nc, b, 'quant', 'drop_mahp@250')['reference_mean']:.2f}" for b in (8, 16)))
        + " mAHP@250 at 8/16 bits",
        f"cut it to {S(nc, 16, 'kl_nearest_corner', 'drop_mahp@250')['arm_mean']:.3f} / "
        f"{S(nc, 16, 'kl_mixture', 'drop_mahp@250')['arm_mean']:.3f}, the spread term to "
        f"{S(nc, 16, 'spread', 'drop_mahp@250')['arm_mean']:.3f}",
        f"It gains {_s(S('linear_ce', 16, 'quant')['diff'])} / {_s(S('linear_ce', 64, 'quant')['diff'])} (16 / 64 bits)",
        f"chosen on validation) {_s(S('linear_ce', 16, 'kl_mixture')['diff'])} / "
        f"{_s(S('linear_ce', 64, 'kl_mixture')['diff'])}",
        "detectably less than the penalty ("
        + "/".join(dict.fromkeys(_s(S("linear_ce", b, "kl_mixture", ref="quant")["diff"]).replace("-", "−")
                                 for b in (16, 64))) + ")",
        f"gains ≤ {max(S('linear_ce', b, 'kl_nearest_corner')['diff'] for b in (16, 64)):.3f}",
    ]
    # the drop under tanh + CE and its mAHP intervals
    s = pd.read_csv(RES / "kl_ablation_summary_ablation.csv")
    tanh = s[(s["regime"] == "tanh_ce") & (s["protocol"] == "test_vs_test")]
    drop = tanh[tanh["metric"] == "drop_mahp@250"]["reference_mean"].max()
    out.append(f"the drop is already ≤ {drop:.3f}")
    band = tanh[tanh["metric"] == "mahp@250"][["ci_low", "ci_high"]].abs().to_numpy().max()
    out.append(f"every mAHP@250 interval lies within ±{math.ceil(band * 1000) / 1000:.3f}")
    # quantization error of the linear bottleneck (results/kl_ablation_ablation.csv, mean over seeds)
    t = pd.read_csv(RES / "kl_ablation_ablation.csv")
    qe = t[(t["regime"] == "linear_ce") & (t["protocol"] == "test_vs_test")].groupby(["arm", "bits"])["quant_error"].mean()
    out.append(f"quantization error {qe['kl_nearest_corner', 16]:.1f} / {qe['kl_nearest_corner', 64]:.1f} against "
               f"{qe['quant', 16]:.2f} / {qe['quant', 64]:.2f}")
    # the main table (results/hashing_quick.csv, 32 bits) and the tuned weights (results/tuned_quick.yaml)
    h = pd.read_csv(RES / "hashing_quick.csv")
    h = h[h["dataset"] == "cifar100"]
    m = h.groupby(["protocol", "bits", "method"])[["mahp@250", "map@1000"]].mean()
    tv = m.loc[("test_vs_test", 32)]["mahp@250"]
    db = m.loc[("train_db", 32)]["map@1000"]
    tuned = yaml.safe_load((RES / "tuned_quick.yaml").read_text())["methods"]
    weights = [v["params"][k] for v in tuned.values() for k in ("loss.kl", "loss.quant") if k in v["params"]]
    trail = tv[["dsh", "dpsh", "hashnet"]]
    out += [
        f"at the bottom of its range ({min(weights):.3f}–{max(weights):.3f})",
        f"score {_span(tv[FAMILY])} test-vs-test at 32 bits",
        f"beat classification ({tv['classification']:.3f}) and CSQ ({tv['csq']:.3f})",
        f"(`train_db` mAP@1000 {db['csq']:.3f} vs {db[FAMILY].min():.3f}–{db[FAMILY].max():.3f})",
        f"trail ({trail.min():.2f}–{trail.max():.2f})",
    ]
    # the medium profile (results/hashing_medium.csv, 64 bits, mean and std over seeds; its reduced ablation)
    med = pd.read_csv(RES / "hashing_medium.csv").query("dataset == 'cifar100' and protocol == 'test_vs_test' and bits == 64")
    g = med.groupby("method")["mahp@250"].agg(["mean", "std"])
    fam = g.loc[FAMILY]
    out += [
        f"family scores {fam['mean'].min():.3f}–{fam['mean'].max():.3f} (seed std ≤ {fam['std'].max():.3f}; its members "
        f"within {fam['mean'].max() - fam['mean'].min():.3f} of each other)",
        f"above classification ({g.loc['classification', 'mean']:.3f}), GreedyHash ({g.loc['greedyhash', 'mean']:.3f}) "
        f"and CSQ ({g.loc['csq', 'mean']:.3f})",
    ]
    ms = pd.read_csv(RES / "kl_ablation_summary_medium.csv")
    ms = ms[(ms["protocol"] == "test_vs_test") & (ms["metric"] == "mahp@250") & (ms["reference"] == "none")
            & (ms["arm"] == "spread")].set_index("bits")
    out.append(f"the spread term gains {_ci(ms.loc[8])} at 8 bits and {_ci(ms.loc[16])} at 16 bits")
    fc = pd.read_csv(RES / "feature_comparison.csv").set_index(["backbone", "resolution"])
    lite0, lite2 = fc.loc[("efficientnet_lite0", 128)], fc.loc[("efficientnet_lite2", 224)]
    out.append(f"EfficientNet-Lite2 at 224 px raises one method's validation mAHP@250 from {lite0['val_mahp@250']:.3f} to "
               f"{lite2['val_mahp@250']:.3f} for {lite2['s_per_1000_images'] / lite0['s_per_1000_images']:.1f}x the "
               "extraction time")
    # the selected grid points (results/kl_ablation_selection_ablation.csv) and the published anchors
    from semhash_lib.ablation import selected_points
    from semhash_lib.results import PUBLISHED_ANCHORS

    top = max(yaml.safe_load((ROOT / "semhash_lib" / "profiles" / "ablation.yaml").read_text())
              ["notebooks"]["09_when_does_kl_help"]["grid"]["weights"])
    out.append(f"selected weight ({top:.1f}) is the top of the grid")
    a = PUBLISHED_ANCHORS["mahp@250"]
    best64 = max(pd.read_csv(p).query("bits == 64 and protocol == 'test_vs_test'").groupby("method")["mahp@250"].mean().max()
                 for p in sorted(RES.glob("hashing_*.csv")))
    out += [f"embeddings ({a.min():.3f}–{a.max():.3f}, end to end)", f"our best 64-bit codes reach {best64:.3f}"]
    return out


def test_every_claim_is_what_the_tables_give(claims):
    text = _section()
    missing = [c for c in claims if c not in text]
    assert not missing, f"README 'What we found' does not say what the tables give: {missing}"


def test_every_decimal_number_is_tied_to_a_table(claims):
    text = _section()
    covered = [(m.start(), m.start() + len(c)) for c in claims for m in re.finditer(re.escape(c), text)]
    loose = [m.group() for m in re.finditer(r"(?<![\w@.])[−+-]?\d+\.\d+", text)
             if not any(a <= m.start() and m.end() <= b for a, b in covered)]
    assert not loose, f"numbers in README 'What we found' that no test ties to a table: {loose}"


def test_integers_are_settings_the_tables_record():
    """The integers of the section are settings: code lengths, the 95 % level, the notebook number, and the
    study's size, each checked against the table or profile that records it."""
    text = _section()
    ints = {m.group() for m in re.finditer(r"(?<![\w@.,/-])\d+(?:,\d{3})*(?![\d.])", text)}
    t = pd.read_csv(RES / "kl_ablation_ablation.csv")
    sel = pd.read_csv(RES / "kl_ablation_selection_ablation.csv")
    tuned = yaml.safe_load((RES / "tuned_quick.yaml").read_text())["methods"]
    profile = yaml.safe_load((ROOT / "semhash_lib" / "profiles" / "ablation.yaml").read_text())
    fit = int(t[t["protocol"] == "train_db"]["n_db"].iloc[0])          # the database of train_db = the fit split
    steps = fit // int(profile["train"]["batch_size"]) * int(t["epochs"].iloc[0])
    per_arm = sel[sel["arm"] != "none"].groupby(["regime", "bits", "arm"]).size()
    med = pd.read_csv(RES / "hashing_medium.csv")
    med_images = int(med[(med["dataset"] == "cifar100") & (med["protocol"] == "train_db")]["n_db"].iloc[0])
    lite2 = pd.read_csv(RES / "feature_comparison.csv").query("backbone == 'efficientnet_lite2'")["resolution"]
    settings = {
        "8", "16", "32", "64", "09", "95", "0", "1",        # code lengths, notebook, level, "hold 0", N(±1, σ²)
        f"{fit:,}", str(steps), str(t["seed"].nunique()),                     # 20,000 images, 546 steps, 5 seeds
        str(per_arm.iloc[0]),                                                 # the 8-point budget per arm
        str(tuned["semhash"]["n_trials"]),                                    # 20 validation trials
        f"{med_images:,}", str(med["seed"].nunique()),                        # medium: 50,000 images, 3 seeds
        str(int(lite2.min())),                                                # Lite2 at 224 px
    }
    assert f"On all {med_images:,} images with {med['seed'].nunique()} seeds (profile `medium`)" in text
    assert per_arm.nunique() == 1 and len({v["n_trials"] for v in tuned.values()}) == 1
    assert f"{steps} optimiser steps on {fit:,} images per run, {t['seed'].nunique()} paired seeds" in text
    assert f"the same {per_arm.iloc[0]}-point budget" in text
    assert f"{tuned['semhash']['n_trials']} validation trials each" in text
    assert ints <= settings, f"integers the test does not know: {sorted(ints - settings)}"


def test_verdicts_the_section_states(summary):
    """The words of the section that carry no number: who beats no term where, and the selected weights."""
    s = pd.read_csv(RES / "kl_ablation_summary_ablation.csv")
    s = s[(s["protocol"] == "test_vs_test") & (s["reference"] == "none")]
    mahp = s[s["metric"] == "mahp@250"]
    nc = mahp[mahp["regime"] == "no_classifier"]
    # every KL variant beats no term at 8 bits; at 32 and 64 bits no arm differs; the penalty never does
    assert (nc[(nc["bits"] == 8) & nc["arm"].str.startswith("kl_")]["verdict"] == "better").all()
    assert (nc[nc["bits"].isin([32, 64])]["verdict"] == "no detectable difference").all()
    assert (nc[nc["arm"] == "quant"]["verdict"] == "no detectable difference").all()
    # at 16 bits nearest-corner, mixture and spread cut the drop; the penalty does not
    drop = s[(s["metric"] == "drop_mahp@250") & (s["regime"] == "no_classifier") & (s["bits"] == 16)].set_index("arm")
    assert (drop.loc[["kl_nearest_corner", "kl_mixture", "spread"], "verdict"] == "better").all()
    assert drop.loc["quant", "verdict"] == "no detectable difference"
    # tanh + CE: every mAHP@250 interval within ±0.005, no detectable difference
    tanh = mahp[mahp["regime"] == "tanh_ce"]
    assert (tanh["ci_low"] >= -0.005).all() and (tanh["ci_high"] <= 0.005).all()
    assert (tanh["verdict"] == "no detectable difference").all()
    # the mixture KL is detectably below the penalty on the linear bottleneck
    assert all(summary("linear_ce", b, "kl_mixture", ref="quant")["verdict"] == "worse" for b in (16, 64))
    # without a classifier: spread selected the top weight at every length, sampled at 16-64 bits
    from semhash_lib.ablation import selected_points

    sel = selected_points(pd.read_csv(RES / "kl_ablation_selection_ablation.csv")).set_index(["regime", "arm", "bits"])
    top = 1.0
    assert (sel.loc[("no_classifier", "spread"), "weight"] == top).all()
    assert (sel.loc[("no_classifier", "kl_sampled"), "weight"].loc[[16, 32, 64]] == top).all()
    assert sel.loc[("no_classifier", "kl_sampled", 8), "weight"] < top
    # the main table: the semantic losses beat classification and CSQ test-vs-test; CSQ has the best train_db mAP
    h = pd.read_csv(RES / "hashing_quick.csv").query("dataset == 'cifar100' and bits == 32")
    tv = h[h["protocol"] == "test_vs_test"].groupby("method")["mahp@250"].mean()
    db = h[h["protocol"] == "train_db"].groupby("method")["map@1000"].mean()
    assert tv[FAMILY].min() > max(tv["classification"], tv["csq"]) and db.idxmax() == "csq"
    assert tv[["dsh", "dpsh", "hashnet"]].max() < tv[["classification", "csq"]].min() or \
        tv[["dsh", "dpsh", "hashnet"]].max() < tv[FAMILY].min()
