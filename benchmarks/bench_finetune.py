"""Speed of the fine-tuning regime (EfficientNet-Lite0 cut after a stage) per cut point and resolution.

For each stage (``--stages``, Tan & Le 2019 numbering, :mod:`semhash_lib.models.efficientnet_split`) and
resolution (``--resolutions``) it prints, on the current device (``--device``, default CPU threads of
:func:`semhash_lib.devices.cpu_threads`):

- ``cache img/s``: building the activation cache: real CIFAR-100 test images resized, normalised and passed
  through the frozen bottom (:func:`semhash_lib.features.features_from_images` with ``stage=``, no cache
  written), ``--cache-images`` images, less a first call on 16 images (the one-off set-up: weights loaded);
- ``train img/s``: one optimisation step of the trainable top + the quick profile's head (hidden 512,
  32-bit tanh bottleneck, 100-way classifier) on cached activations, batch ``--batch``, Adam,
  cross-entropy + the similarity loss (best of ``--steps`` steps after one warm-up);
- ``encode img/s``: the top in eval mode without gradients, batch 1024 (what evaluation costs);
- ``KB/img``: the float16 cache per image; ``est. run s``: ``epochs * n / train + (n + n_test) / encode``,
  one run of ``--epochs`` epochs on ``--train`` training images, evaluated on them plus ``--test`` test
  images (cache build excluded: it is done once per profile).

Each rate is given twice: per wall-clock second, and per CPU second of this process (all its threads),
which other processes on a shared machine change least; the CPU-based run estimate divides by the thread
count (what an idle machine would reach at best).

    .venv/bin/python benchmarks/bench_finetune.py [--stages 6 7 8 --resolutions 96 128 --batch 256
        --steps 3 --cache-images 256 --train 10000 --test 10000 --epochs 5 --threads 2 --device cpu]

On a shared machine the numbers vary with the other jobs; the script prints the load average before and
after.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch


def timed(fn, device: torch.device, repeat: int) -> tuple[float, float]:
    """``(best wall-clock seconds, least process CPU seconds)`` of ``fn()`` over ``repeat`` runs after one
    warm-up (CUDA synchronised). The CPU seconds (all threads of this process) are what contention from
    other processes changes least: on an idle machine with ``t`` threads, wall ~ CPU / t at best."""
    fn()
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t, c = time.perf_counter(), time.process_time()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.process_time() - c)
    return best, best_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stages", type=int, nargs="+", default=[5, 6, 7, 8])
    ap.add_argument("--resolutions", type=int, nargs="+", default=[64, 96, 128])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--cache-images", type=int, default=528)
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--test", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    from semhash_lib.data import load_arrays
    from semhash_lib.devices import resolve_device, use_cpu_threads
    from semhash_lib.features import features_from_images
    from semhash_lib.losses import SemanticHashingLoss
    from semhash_lib.models import HashingNetwork, split_efficientnet_lite0
    from semhash_lib.targets import pairwise_targets

    device = resolve_device(args.device)
    use_cpu_threads(device)
    if args.threads:
        torch.set_num_threads(args.threads)
    images, labels, _ = load_arrays("cifar100", "test")
    images = images[:max(args.cache_images, args.batch)]
    labels = torch.as_tensor(labels[:args.batch]).long().to(device)
    S = torch.rand(100, 100, generator=torch.Generator().manual_seed(0))
    S = ((S + S.T) / 2).fill_diagonal_(1.0).to(device)
    T = pairwise_targets(labels, S)
    print(f"device {device}, torch threads {torch.get_num_threads()}, load average {os.getloadavg()}")
    print(f"estimate: {args.epochs} epochs on {args.train} images, encode {args.train} + {args.test}")
    threads = torch.get_num_threads() if device.type == "cpu" else 1
    print("each column: wall clock / per CPU-second of this process (contention changes the latter least); "
          f"est. run s: wall / CPU seconds divided by {threads} thread(s) (an idle machine's best case)")
    header = (f"{'stage':>5} {'px':>4} {'act shape':>12} {'KB/img':>7} {'cache img/s':>14} {'train img/s':>14} "
              f"{'encode img/s':>14} {'est. run s':>15}")
    print(header)
    for res in args.resolutions:
        for stage in args.stages:
            n0 = 16  # a first call on n0 images times the one-off set-up (weights loaded, shapes found)
            t0, c0 = time.perf_counter(), time.process_time()
            features_from_images(images[:n0], resolution=res, stage=stage, device=device, progress=False)
            t1, c1 = time.perf_counter(), time.process_time()
            acts = features_from_images(images[:args.cache_images], resolution=res, stage=stage, device=device,
                                        progress=False)
            t2, c2 = time.perf_counter(), time.process_time()
            cache = ((args.cache_images - n0) / max(1e-9, (t2 - t1) - (t1 - t0)),
                     (args.cache_images - n0) / max(1e-9, (c2 - c1) - (c1 - c0)))
            x = torch.from_numpy(np.resize(acts, (args.batch, *acts.shape[1:]))).to(device)
            torch.manual_seed(0)
            _, top = split_efficientnet_lite0(stage)
            backbone = torch.nn.Sequential(top, torch.nn.Linear(top.feature_dim, 512), torch.nn.ReLU())
            backbone.feature_dim = 512
            net = HashingNetwork(backbone, 32, num_classes=100).to(device)
            loss_fn = SemanticHashingLoss(kl=0.0).to(device)
            opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-4)

            def step():
                net.train()
                h, logits = net(x)
                total, _ = loss_fn(h, logits, labels, T)
                opt.zero_grad(set_to_none=True)
                total.backward()
                opt.step()

            def encode():
                net.eval()
                with torch.inference_mode():
                    for i in range(0, len(xe), 1024):
                        net(xe[i:i + 1024])

            train = [args.batch / t for t in timed(step, device, args.steps)]
            xe = x.repeat(max(1, 1024 // args.batch), 1, 1, 1)
            enc = [len(xe) / t for t in timed(encode, device, max(1, args.steps - 1))]
            est = [args.epochs * args.train / tr + (args.train + args.test) / en for tr, en in zip(train, enc)]
            kb = acts[0].nbytes / 1024
            print(f"{stage:>5} {res:>4} {'x'.join(map(str, acts.shape[1:])):>12} {kb:>7.1f} "
                  f"{cache[0]:>6.0f} / {cache[1]:<5.0f} {train[0]:>6.0f} / {train[1]:<5.0f} "
                  f"{enc[0]:>6.0f} / {enc[1]:<5.0f} {est[0]:>6.0f} / {est[1] / threads:<6.0f}", flush=True)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
