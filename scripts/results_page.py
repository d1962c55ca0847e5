"""Write docs/results.md, the results page, from the published results/*.csv and results/timings_*.json.

    python scripts/results_page.py           # (re)write docs/results.md
    python scripts/results_page.py --check   # exit 1 if docs/results.md is not what the tables give

Every number on the page comes from a published table, formatted here (mean ± std over seeds where a table
has several), and every section names the command, profile, seeds, machine and date that produced it (from
the timings file ``semhash reproduce`` writes), so the page and results/ cannot drift apart
(``tests/test_docs.py`` runs ``--check``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import yaml

from semhash_lib.profiles import load_profile
from semhash_lib.results import format_mean_std, summarize

ROOT = Path(__file__).resolve().parent.parent
RES = ROOT / "results"
PAGE = ROOT / "docs" / "results.md"


def wide(table: pd.DataFrame, columns: list[tuple[str, str, int | None]], methods: list[str], digits=3) -> str:
    """One row per method; each column = (protocol, metric, bits or None for all rows of that method)."""
    head = ["method"] + [f"{p} {m} {b or ''}".strip() for p, m, b in columns]
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * len(columns)]
    for meth in methods:
        cells = [f"`{meth}`"]
        for p, m, b in columns:
            r = table[(table["method"] == meth) & (table["protocol"] == p) & ((table["bits"] == b) if b else True)]
            if r.empty or r[m].isna().all():
                cells.append("—")
                continue
            s = summarize(r, [m], by=("method",))
            cells.append(format_mean_std(s, [m], digits)[m].iloc[0])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def trained_vs_frozen(trained: pd.DataFrame, frozen: pd.DataFrame) -> str:
    """Per method and bits: frozen -> trained top for train_db mAHP@250 / mAP@1000 and test_vs_test mAHP@250
    (the finetune profile against finetune-frozen, the same images, head, epochs and seed)."""
    cols = [("train_db", "mahp@250"), ("train_db", "map@1000"), ("test_vs_test", "mahp@250")]
    lines = ["| method | bits | " + " | ".join(f"{p} {m} frozen → trained" for p, m in cols) + " |",
             "| --- | ---: |" + " ---: |" * len(cols)]
    for meth in dict.fromkeys(trained["method"]):
        for b in sorted(trained["bits"].unique()):
            cells = []
            for p, m in cols:
                pick = lambda t: t[(t["method"] == meth) & (t["bits"] == b) & (t["protocol"] == p)][m]
                a, c = pick(frozen), pick(trained)
                cells.append(f"{a.mean():.3f} → {c.mean():.3f}" if len(a) and len(c) else "—")
            lines.append(f"| `{meth}` | {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def provenance(profile: str, tables: list[pd.DataFrame]) -> str:
    """The line under a section's title: command, profile, seeds, machine, date and time of the run."""
    t = json.loads((RES / f"timings_{profile}.json").read_text())
    first = next(iter(t.values()))
    seeds = sorted({int(s) for tab in tables if "seed" in tab.columns for s in tab["seed"].dropna()})
    minutes = sum(v["seconds"] for v in t.values()) / 60
    return (f"Command `{first['command']}`; profile `{profile}`; seeds {', '.join(map(str, seeds)) or '—'}; "
            f"machine: {first['machine']}; {first['date']}; notebooks {', '.join(k[:2] for k in t)}: "
            f"{minutes:.0f} min in all.")


def ablation_section(profile: str, title: str) -> list[str]:
    per_seed = pd.read_csv(RES / f"kl_ablation_{profile}.csv")
    summary = pd.read_csv(RES / f"kl_ablation_summary_{profile}.csv")
    selection = pd.read_csv(RES / f"kl_ablation_selection_{profile}.csv")
    from semhash_lib.ablation import SUMMARY_METRICS, selected_points, validation_ranking

    runs = per_seed.drop_duplicates("config_key")
    compute = (f"Time of the runs themselves (recorded in the tables; a re-run reads finished runs back): "
               f"{len(selection)} selection runs trained in {selection['train_seconds'].sum() / 60:.0f} min, "
               f"{len(runs)} final runs in {runs['train_seconds'].sum() / 60:.0f} min, their test evaluation "
               f"{per_seed['eval_seconds'].sum() / 60:.0f} min (one CPU core each).")
    out = [f"## {title}", "", provenance(profile, [per_seed]), "", compute, "",
           "Arms differ only in the binarisation term added to one shared base (`docs/reconstruction.md`, "
           "\"The KL ablation\"). Selected points (validation mAHP@250, seed 0):", ""]
    chosen = selected_points(selection)[["regime", "bits", "arm", "weight", "k", "sigma", "val_mahp@250"]]
    out += [chosen.to_markdown(index=False, floatfmt=".4g"), "", "Ranking on the validation split:", "",
            validation_ranking(selection).to_markdown(index=False, floatfmt=".4f"), ""]
    for protocol in ("test_vs_test", "train_db"):
        t = per_seed[per_seed["protocol"] == protocol].assign(method=per_seed["arm"])
        s = format_mean_std(summarize(t, list(SUMMARY_METRICS), by=("regime", "bits", "method")),
                            list(SUMMARY_METRICS), 3)
        out += [f"Test split, protocol `{protocol}`, mean ± std over seeds:", "",
                s.rename(columns={"method": "arm"}).to_markdown(index=False), ""]
    t = summary[summary["protocol"] == "test_vs_test"]
    t = t.assign(diff=t["diff"].map("{:+.4f}".format),
                 interval=[f"[{a:+.4f}, {b:+.4f}]" for a, b in zip(t["ci_low"], t["ci_high"])])
    out += ["Paired differences, test vs test (arm − reference, 95 % Student-t interval over the seeds):", "",
            t[["regime", "bits", "arm", "reference", "metric", "diff", "interval", "n_seeds", "verdict"]]
            .to_markdown(index=False), ""]
    return out


def tuning_section(profile: str) -> list[str]:
    doc = yaml.safe_load((RES / f"tuned_{profile}.yaml").read_text())
    rows = [{"method": f"`{m}`", "trials": e["n_trials"], "val mAHP@250": round(e["best"]["val_mahp@250"], 4),
             "val mAP@1000": round(e["best"]["val_map@1000"], 4), "shared base": e.get("shared_base", "—"),
             "own parameters": ", ".join(f"{k.replace('loss.', '')} {v:.3g}" if isinstance(v, float) else
                                         f"{k.replace('loss.', '')} {v}" for k, v in e["params"].items()
                                         if not e.get("shared_base") or k.startswith("loss.k") or
                                         k in ("loss.quant",))}
            for m, e in doc["methods"].items()]
    return [f"### Tuning (`semhash tune --profile {profile}`)", "",
            f"Objective {doc['objective']} at {doc['bits']} bits; {doc['split']}; sampler seed {doc['seed']}.", "",
            pd.DataFrame(rows).to_markdown(index=False), ""]


def hashing_section(profile: str, title: str) -> list[str]:
    h = pd.read_csv(RES / f"hashing_{profile}.csv")
    out = [f"## {title}", "", provenance(profile, [h]), ""]
    if (RES / f"tuned_{profile}.yaml").exists():
        out += tuning_section(profile)
    else:
        tuned = load_profile(profile).get("tuned")
        if tuned:
            out += [f"Every method trains with the tuned parameters of `{tuned}` (`semhash tune`).", ""]
    c = h[h["dataset"] == "cifar100"]
    methods, bits = list(dict.fromkeys(c["method"])), sorted(c["bits"].unique())
    frozen = RES / f"hashing_{profile.replace('-', '_')}_frozen.csv"
    if frozen.exists():
        out += [f"Frozen → trained top (`{frozen.name}`):", "", trained_vs_frozen(c, pd.read_csv(frozen)), ""]
    cols = ([("train_db", "mahp@250", b) for b in bits] + [("train_db", "map@1000", b) for b in bits]
            + [("test_vs_test", "mahp@250", b) for b in bits])
    out += [f"CIFAR-100 (`hashing_{profile}.csv`):", "", wide(c, cols, methods), ""]
    if 32 in bits:
        out += ["Binarisation at 32 bits (`train_db`; drop = metric of h ranked by Euclidean distance minus that "
                "of sign(h) ranked by Hamming distance):", "",
                wide(c, [("train_db", m, 32) for m in ("near_zero", "quant_error", "cont_mahp@250", "drop_mahp@250",
                                                        "train_seconds")], methods), ""]
    fm = h[h["dataset"] == "fashion-mnist"]
    if len(fm):
        out += ["Fashion-MNIST:", "", wide(fm, [("train_db", "mahp@250", None), ("train_db", "map@1000", None)],
                                           list(dict.fromkeys(fm["method"]))), ""]
    z = RES / f"zero_shot_{profile}.csv"
    if z.exists():
        t = pd.read_csv(z)
        out += [f"Zero-shot (`{z.name}`):", "",
                wide(t, [(p, m, None) for p in ("zs_unseen", "zs_mixed") for m in ("map@1000", "mahp@250")],
                     list(dict.fromkeys(t["method"]))), ""]
    for name in (f"sentence_vs_wordnet_{profile}.csv", f"captions_{profile}.csv", f"trivial_solutions_{profile}.csv"):
        if (RES / name).exists():
            t = pd.read_csv(RES / name)
            keep = [c for c in t.columns if c in ("method", "bits", "protocol", "targets", "similarity", "eval_similarity",
                                                   "mahp@250", "map@all", "d_map", "d_mahp") or c.startswith("semhash ")]
            out += [f"`{name}`:", "", t[keep].round(3).to_markdown(index=False), ""]
    if (RES / f"kl_ablation_{profile}.csv").exists():
        out += ablation_section(profile, f"The reduced KL ablation of profile `{profile}`")[2:]
    return out


SECTIONS = [("ablation", ablation_section, "The KL ablation (profile `ablation`)"),
            ("quick", hashing_section, "Quick profile (CPU)"),
            ("medium", hashing_section, "Medium profile (CPU: all 50,000 training images, 3 seeds)"),
            ("finetune", hashing_section, "Fine-tuning the backbone's top (profile `finetune`, against `finetune-frozen`)")]


def render() -> str:
    lines = ["# Results", "",
             "<!-- written by `python scripts/results_page.py` from results/*.csv and results/timings_*.json; "
             "do not edit by hand -->", "",
             "Every number here was measured by this code; none is the paper's (its numbers are unavailable). "
             "What they mean: the README's \"What we found\". Protocols: `train_db` = test queries against the "
             "training images (2,000 class-stratified queries), `test_vs_test` = each test image against the "
             "other test images (Barz & Denzler's mAHP protocol). All runs train hashing heads on frozen "
             "ImageNet EfficientNet-Lite0 features of CIFAR-100 (128 px) unless the section says otherwise.", ""]
    for profile, make, title in SECTIONS:
        if (RES / f"timings_{profile}.json").exists():
            lines += make(profile, title)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE} is not what results/ gives; run: python scripts/results_page.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
