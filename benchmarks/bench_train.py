"""Training throughput of a backbone on the current device, and the epochs of the ``gpu`` profile it implies.

Runs the project's own training loop (:func:`semhash_lib.train.train`: augmentation on the device, the
method's loss with its B x B targets, AMP on CUDA, channels-last) on random 32x32 uint8 images with
CIFAR-100-sized labels, for ``--epochs`` short epochs of ``--steps`` batches, and reports the images/s of
the last epoch (the first one pays for cuDNN autotuning and ``torch.compile``).

    .venv/bin/python benchmarks/bench_train.py [--backbone cifar_resnet18] [--batch-size 512] [--method semhash]
                                              [--steps 20] [--compile] [--device auto]

Then, for the ``gpu`` profile (10 runs of 50,000 training images, 600 s in all, ~40 s of start-up and ~8 s of
encoding + evaluation per run), it prints how many epochs fit the budget at that throughput. Numbers are
for this machine only; the README quotes them with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import tempfile

import torch

BUDGET_S, STARTUP_S, EVAL_S, RUNS, N_TRAIN = 600.0, 40.0, 8.0, 10, 50_000


def synthetic_cifar(n: int, classes: int = 100, seed: int = 0):
    """Random uint8 32x32 RGB images with balanced labels and a block similarity (10 superclasses)."""
    from semhash_lib.experiment import ExperimentData

    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % classes
    sup = torch.arange(classes) // 10
    S = torch.where(sup[:, None] == sup[None, :], 0.5, 0.0)
    S.fill_diagonal_(1.0)
    return ExperimentData(dataset="synthetic-cifar", input="images", x_train=x, y_train=y, x_test=x[:256],
                          y_test=y[:256], class_names=[f"c{i}" for i in range(classes)], class_similarity=S)


def measure(backbone: str, batch_size: int, method: str, steps: int, epochs: int, compile: bool,
            device: str) -> dict:
    from semhash_lib.train import TrainConfig, train

    data = synthetic_cifar(batch_size * steps)
    with tempfile.TemporaryDirectory() as d:
        cfg = TrainConfig(dataset="synthetic-cifar", input="images", backbone=backbone, method=method, bits=32,
                          optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True, epochs=epochs,
                          batch_size=batch_size, device=device, amp=True, compile=compile, augment=True, out_dir=d)
        result = train(cfg, data, progress=False)
    last = result.history[-1]
    return {"images_per_s": last["images_per_s"], "first_epoch_s": result.history[0]["seconds"],
            "device": str(next(result.model.parameters()).device), "threads": torch.get_num_threads()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backbone", default="cifar_resnet18")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--method", default="semhash")
    ap.add_argument("--steps", type=int, default=20, help="batches per epoch")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="torch.compile the network (TrainConfig.compile)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    r = measure(args.backbone, args.batch_size, args.method, args.steps, args.epochs, args.compile, args.device)
    name = torch.cuda.get_device_name() if r["device"].startswith("cuda") else f"CPU, {r['threads']} threads"
    print(f"{args.backbone} {args.method} batch {args.batch_size}{' compiled' if args.compile else ''} on {name}: "
          f"{r['images_per_s']:.0f} training images/s (first epoch {r['first_epoch_s']:.1f} s)")
    per_run = (BUDGET_S - STARTUP_S) / RUNS - EVAL_S
    epochs = int(per_run * r["images_per_s"] // N_TRAIN)
    print(f"gpu profile ({RUNS} runs x {N_TRAIN} images in {BUDGET_S:.0f} s, {STARTUP_S:.0f} s start-up, "
          f"{EVAL_S:.0f} s evaluation per run): {per_run:.0f} s of training per run -> {epochs} epochs fit "
          f"at this throughput" + ("" if epochs else " (none: this device is too slow for the gpu profile)"))


if __name__ == "__main__":
    main()
