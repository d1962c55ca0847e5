"""Which frozen features for the medium profile? EfficientNet-Lite0 at 128 and 224 px against Lite2 at 224 and
260 px (optionally Lite1 at 240 px), measured on a validation split of CIFAR-100's training images.

For each (backbone, resolution): the features of a class-stratified ``--images`` of the training split (seed 0)
are extracted into a cold private cache (timed; seconds per 1000 images on this machine's cores, and the
minutes the 60,000 CIFAR-100 images would take), then cut into a fit split and a 2,500-image validation split
(:func:`semhash_lib.experiment.validation_data`, as ``semhash tune`` does). Quality is measured twice on the
validation split only (the test split is never read):

- a linear probe: multinomial logistic regression (scikit-learn, standardised features) trained on the fit
  split; validation top-1 accuracy;
- one fixed hashing method: ``semhash`` at 32 bits with the quick profile's tuned parameters, 5 epochs on the
  fit split; validation mAHP@250 (2,500 validation queries against the fit split, Hamming ranking).

Quality per minute of extraction (for all 60,000 images) decides which features the medium profile uses
(``benchmarks/README.md``, "Frozen features for the medium profile").

    .venv/bin/python benchmarks/bench_features.py [--images 10000 --variants lite0:128 lite0:224 lite2:224 lite2:260]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from unittest import mock

import numpy as np
import pandas as pd


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10_000, help="class-stratified training images (seed 0)")
    ap.add_argument("--n-val", type=int, default=2_500)
    ap.add_argument("--variants", nargs="+", default=["lite0:128", "lite0:224", "lite2:224", "lite2:260"])
    ap.add_argument("--out", default="results/feature_comparison.csv")
    args = ap.parse_args(argv)

    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from semhash_lib.devices import cpu_threads
    from semhash_lib.experiment import prepare_data, validation_data
    from semhash_lib.experiment.grid import evaluate_run
    from semhash_lib.profiles import load_profile, load_tuned
    from semhash_lib.results import write_table
    from semhash_lib.train import TrainConfig, train

    quick = load_profile("quick")
    rows = []
    print(f"{args.images} training images ({args.n_val} of them validation), {cpu_threads()} cores")
    for variant in args.variants:
        name, res = variant.split(":")
        backbone = f"efficientnet_{name}"
        cfg = TrainConfig.from_dict({**quick["train"], "feature_extractor": backbone, "feature_resolution": int(res),
                                     "train_subset": args.images, "test_subset": 100, "method": "semhash",
                                     "bits": 32, "out_dir": f"data/runs/bench_features/{name}-{res}"})
        cfg = cfg.replace(tuned=load_tuned(quick["tuned"]))
        # a cold, private cache per variant, so extraction is always timed (the project's cache may hold the
        # features, or a larger set they are sliced from); the warm second call (targets, loading) is subtracted
        with tempfile.TemporaryDirectory(prefix="bench_features-") as cache, \
                mock.patch.dict(os.environ, {"SEMHASH_CACHE": cache}):
            t = time.perf_counter()
            prepare_data(cfg.effective(), progress=True)
            cold = time.perf_counter() - t
            t = time.perf_counter()
            data = prepare_data(cfg.effective(), progress=False)
            extract = cold - (time.perf_counter() - t)
        per_1000 = extract / (args.images + 100) * 1000
        vdata = validation_data(data, args.n_val)
        scaler = StandardScaler().fit(vdata.x_train.numpy())
        t = time.perf_counter()
        probe = LogisticRegression(max_iter=300).fit(scaler.transform(vdata.x_train.numpy()), vdata.y_train.numpy())
        acc = float((probe.predict(scaler.transform(vdata.x_test.numpy())) == vdata.y_test.numpy()).mean())
        probe_s = time.perf_counter() - t
        t = time.perf_counter()
        result = train(cfg, vdata, progress=False, resume=False)
        scores = evaluate_run(result.model, vdata, result.config, [("train_db", cfg.similarity)])[0]
        hash_s = time.perf_counter() - t
        row = {"backbone": backbone, "resolution": int(res), "s_per_1000_images": per_1000,
               "minutes_60k_images": per_1000 * 60 / 60, "val_probe_accuracy": acc,
               "val_mahp@250": scores["mahp@250"], "val_map@1000": scores["map@1000"],
               "probe_seconds": probe_s, "hash_run_seconds": hash_s, "images": args.images, "n_val": args.n_val,
               "cores": cpu_threads(), "torch": torch.__version__}
        rows.append(row)
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    table = pd.DataFrame(rows)
    base = table.iloc[0]      # gains per extra minute of extraction over the first variant
    extra = (table["minutes_60k_images"] - base["minutes_60k_images"]).where(lambda m: m > 0, np.nan)
    table["mahp_gain_per_extra_minute"] = (table["val_mahp@250"] - base["val_mahp@250"]) / extra
    table["probe_gain_per_extra_minute"] = (table["val_probe_accuracy"] - base["val_probe_accuracy"]) / extra
    write_table(table, args.out)
    print(table.to_markdown(index=False, floatfmt=".4g"))
    return table


if __name__ == "__main__":
    main()
