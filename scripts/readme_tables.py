"""Print the README's results tables (markdown) from the published results/*.csv of a profile.

    python scripts/readme_tables.py quick
    python scripts/readme_tables.py finetune      # also against hashing_finetune_frozen.csv

Every number the README shows for a profile comes from these tables; this script only formats them
(mean ± std over seeds where a table has several), so the README and results/ cannot drift apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from semhash_lib.results import format_mean_std, summarize

ROOT = Path(__file__).resolve().parent.parent


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


def main(profile: str) -> None:
    res = ROOT / "results"
    h = pd.read_csv(res / f"hashing_{profile}.csv")
    h = h[h["dataset"] == "cifar100"]
    methods = list(dict.fromkeys(h["method"]))
    bits = sorted(h["bits"].unique())
    frozen = res / f"hashing_{profile}_frozen.csv"
    if frozen.exists():
        print(f"## hashing_{profile}.csv against {frozen.name}\n")
        print(trained_vs_frozen(h, pd.read_csv(frozen)) + "\n")
    print(f"## hashing_{profile}.csv (CIFAR-100)\n")
    cols = ([("train_db", "mahp@250", b) for b in bits] + [("train_db", "map@1000", b) for b in bits]
            + [("test_vs_test", "mahp@250", b) for b in bits] + [("test_vs_test", "map@all", 32)])
    print(wide(h, cols, methods))
    print("\n## binarization at 32 bits (train_db)\n")
    print(wide(h, [("train_db", m, 32) for m in ("near_zero", "quant_error", "cont_mahp@250", "drop_mahp@250",
                                                   "drop_map@1000", "train_seconds")], methods))
    fm = pd.read_csv(res / f"hashing_{profile}.csv")
    fm = fm[fm["dataset"] == "fashion-mnist"]
    if len(fm):
        print("\n## Fashion-MNIST\n")
        print(wide(fm, [("train_db", "mahp@250", None), ("train_db", "map@1000", None)], list(dict.fromkeys(fm["method"]))))
    for name, cols in ((f"zero_shot_{profile}.csv", [("zs_unseen", "map@1000", None), ("zs_unseen", "mahp@250", None),
                                                     ("zs_mixed", "map@1000", None), ("zs_mixed", "mahp@250", None)]),):
        if not (res / name).exists():
            continue
        t = pd.read_csv(res / name)
        print(f"\n## {name}\n")
        print(wide(t, cols, list(dict.fromkeys(t["method"]))))
    kl = res / f"kl_ablation_summary_{profile}.csv"
    if kl.exists():
        t = pd.read_csv(kl)
        t = t[t["protocol"] == "test_vs_test"]
        print(f"\n## {kl.name} (test vs test; paired difference, 95 % interval over seeds)\n")
        t = t.assign(diff=t["diff"].map("{:+.3f}".format),
                     interval=[f"[{a:+.3f}, {b:+.3f}]" for a, b in zip(t["ci_low"], t["ci_high"])])
        print(t[["regime", "bits", "arm", "reference", "metric", "arm_mean", "reference_mean", "diff", "interval",
                 "n_seeds", "verdict"]].round(3).to_markdown(index=False))
    for name in (f"sentence_vs_wordnet_{profile}.csv", f"captions_{profile}.csv", f"trivial_solutions_{profile}.csv"):
        if (res / name).exists():
            t = pd.read_csv(res / name)
            keep = [c for c in t.columns if c in ("method", "bits", "protocol", "targets", "similarity", "eval_similarity",
                                                   "mahp@250", "map@all", "d_map", "d_mahp") or c.startswith("semhash ")]
            print(f"\n## {name}\n")
            print(t[keep].round(3).to_markdown(index=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "quick")
