"""The free-output toy behind the KL term's default (docs/reconstruction.md, "The KL term at many bits").

    python benchmarks/bench_kl_binarization.py                  # the table of docs/reconstruction.md
    python benchmarks/bench_kl_binarization.py --skewed         # from imbalanced, correlated bits
    python benchmarks/bench_kl_binarization.py --nu nearest_corner --bits 16 32

256 free outputs h ~ 0.3 N(0, 1) (``--skewed``: half the bits shifted by +0.3, bit 1 a noisy copy of
bit 0), the KL term alone, Adam lr 0.02, 300 steps, seed 0; prints quantization error, share near zero,
worst bit balance, mean |bit correlation| and seconds.
"""

from __future__ import annotations

import argparse
import time

import torch

from semhash_lib.losses import NU_MODES, binary_kl_loss
from semhash_lib.toy import binarization_statistics, chance_correlation, optimise_free_outputs


def skewed_start(n: int, bits: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    h = 0.3 * torch.randn(n, bits, generator=g)
    h[:, : bits // 2] += 0.3
    h[:, 1] = h[:, 0] + 0.05 * torch.randn(n, generator=g)
    return h


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nu", nargs="+", default=list(NU_MODES), choices=NU_MODES)
    ap.add_argument("--bits", nargs="+", type=int, default=[16, 32, 64, 128])
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skewed", action="store_true")
    args = ap.parse_args()
    print(f"| nu | K | quant. error | share |h|<0.1 | max |mean sign| | mean |corr| (chance {chance_correlation(args.n):.3f}) | s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for nu in args.nu:
        for bits in args.bits:
            init = skewed_start(args.n, bits, args.seed) if args.skewed else None
            t0 = time.perf_counter()
            h = optimise_free_outputs(lambda x: binary_kl_loss(x, nu=nu), bits, n=args.n, steps=args.steps,
                                      seed=args.seed, init=init)
            s = binarization_statistics(h)
            print(f"| {nu} | {bits} | {s['quant_error']:.3f} | {s['near_zero']:.3f} | {s['max_sign_balance']:.3f} | "
                  f"{s['mean_abs_corr']:.3f} | {time.perf_counter() - t0:.1f} |", flush=True)


if __name__ == "__main__":
    main()
