"""Cost of the paper's loss terms next to one backbone training step (issue 4: KL + similarity <= 10 %).

Times (wall clock, best of ``--repeat`` after one warm-up) of forward + backward, batch ``--batch`` (256),
``--bits`` (64) bits, on CPU (``--threads`` threads) and on CUDA when available:
- ``binary_kl_loss`` (k = 1, m = n fresh uniform-corner targets; and the ``nu="nearest_corner"`` variant);
- ``similarity_loss`` (relative form, relaxed Hamming; and the softmax form);
- KL + similarity together (``SemanticHashingLoss(ce=0, sim=1, kl=1)``);
- one ``cifar_resnet18`` step on 32x32 images: forward through ``HashingNetwork`` (64 bits, 100 classes),
  cross-entropy, backward, SGD update.
The ratio (KL + similarity) / ResNet step is printed per device.

    .venv/bin/python benchmarks/bench_losses.py [--batch 256 --bits 64 --threads 2 --repeat 3 --no-resnet]
"""

from __future__ import annotations

import argparse
import time

import torch


def timed(fn, device: torch.device, repeat: int) -> float:
    """Best wall-clock seconds of ``fn()`` over ``repeat`` runs after one warm-up (CUDA synchronised)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best


def loss_cases(batch: int, bits: int, device: torch.device):
    from semhash_lib.losses import SemanticHashingLoss, binary_kl_loss, similarity_loss

    g = torch.Generator(device=device).manual_seed(0)
    z = torch.randn(batch, bits, device=device, generator=g)
    labels = torch.randint(0, 100, (batch,), device=device, generator=g)
    target = torch.rand(100, 100, device=device, generator=g)
    target = ((target + target.T) / 2).fill_diagonal_(0)[labels][:, labels]
    both = SemanticHashingLoss(ce=0.0, sim=1.0, kl=1.0)

    def run(loss_fn):
        def step():
            h = torch.tanh(z).requires_grad_(True)
            loss_fn(h).backward()
        return step

    return {
        "binary_kl_loss (sampled targets)": run(lambda h: binary_kl_loss(h)),
        "binary_kl_loss (nearest_corner)": run(lambda h: binary_kl_loss(h, nu="nearest_corner")),
        "similarity_loss (relative)": run(lambda h: similarity_loss(h, target)),
        "similarity_loss (softmax)": run(lambda h: similarity_loss(h, target, form="softmax")),
        "KL + similarity (SemanticHashingLoss)": run(lambda h: both(h, None, None, target)[0]),
    }


def resnet_step(batch: int, bits: int, device: torch.device):
    from semhash_lib.models import HashingNetwork, build_backbone

    torch.manual_seed(0)
    net = HashingNetwork(build_backbone("cifar_resnet18")[0], bits, num_classes=100).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 100, (batch,), device=device)

    def step():
        _, logits = net(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-resnet", action="store_true", help="skip the (slow on CPU) ResNet-18 step")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"batch {args.batch}, {args.bits} bits, {args.threads} CPU threads, torch {torch.__version__}")
    for device in devices:
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
        print(f"\n{name}")
        print(f"{'step':44s} {'ms':>10s}")
        times = {}
        for label, fn in loss_cases(args.batch, args.bits, device).items():
            times[label] = timed(fn, device, args.repeat) * 1e3
            print(f"{label:44s} {times[label]:10.2f}")
        if not args.no_resnet:
            label = f"cifar_resnet18 step (32x32, fwd+bwd+SGD)"
            repeat = args.repeat if device.type == "cuda" else max(1, min(args.repeat, 2))
            times[label] = timed(resnet_step(args.batch, args.bits, device), device, repeat) * 1e3
            print(f"{label:44s} {times[label]:10.2f}")
            ratio = times["KL + similarity (SemanticHashingLoss)"] / times[label]
            print(f"{'ratio (KL + similarity) / ResNet-18 step':44s} {100 * ratio:9.2f}%  (target <= 10 %)")


if __name__ == "__main__":
    main()
