"""Index benchmark at millions of codes: HashIndex kind="flat" (exact) vs kind="ivf" (faiss IndexBinaryIVF).

For each database size N (``--sizes``), 64-bit codes with class structure like a trained model's (not
uniform noise): ``--classes`` random class-centre codes, each code its class centre with every bit flipped
with probability ``--flip``; the queries are drawn the same way. Printed per size, as a markdown table:

- build time (flat: packing and storing; ivf: k-means training on a sample + adding all codes);
- queries/s of ``search(queries, k)`` (best of ``--repeat``) by the wall clock and per CPU second of this
  process, and the speed-up over flat in both. On a shared machine the wall clock measures the other jobs
  too; with ``--threads 1`` the CPU time is the stable measure (with more threads it also counts OpenMP's
  waiting);
- tie-aware recall@k against exact search (``semhash_lib.retrieval.tie_aware_recall``): the share of the k
  returned ids whose distance is at most the exact k-th distance (a neighbour tied with the k-th counts);
- memory: the index's own bytes (flat ``N * bits/8``; ivf ``N * (bits/8 + 8)`` with faiss' int64 ids, plus
  the centroids) and the growth of the process' resident memory while the index was built.

ivf runs with the library's default ``nlist`` (``semhash_lib.retrieval.ivf_parameters``) and default ``nprobe``
(measured at build time for ``target_recall`` 0.95 on a sample of the codes,
``semhash_lib.retrieval.calibrate_nprobe``; its build time includes that measurement), and the ``--nprobe``
values listed; ``--nlist-factor 1 4`` also builds ``nlist = 4 sqrt(N)``.

    .venv/bin/python benchmarks/bench_index.py [--sizes 500000 1000000 --queries 2000 --threads 2]
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np


def rss_bytes() -> int:
    """Current resident set size of this process (Linux ``/proc/self/statm``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def structured_codes(rng, centres, n, flip, chunk=1_000_000):
    """Packed codes (n, bits/8): a random class centre each, every bit flipped with probability ``flip``."""
    bits = centres.shape[1]
    out = np.empty((n, bits // 8), dtype=np.uint8)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        labels = rng.integers(0, centres.shape[0], e - s)
        noisy = centres[labels] ^ (rng.random((e - s, bits), dtype=np.float32) < flip)
        out[s:e] = np.packbits(noisy, axis=1, bitorder="little")
    return out


def best_of(fn, repeat):
    """``(best wall seconds, best CPU seconds of this process, result)`` over ``repeat`` calls."""
    wall, cpu, out = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--flip", type=float, default=0.2)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--nprobe", type=int, nargs="*", default=[2, 4, 16, 32])
    ap.add_argument("--nlist-factor", type=float, nargs="+", default=[1.0],
                    help="nlist = factor * sqrt(N); 1 = the library default (ivf_parameters)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from semhash_lib.retrieval import HashIndex, ivf_parameters, tie_aware_recall

    print(f"# {args.bits}-bit codes, {args.classes} classes, flip {args.flip}, {args.queries} queries, "
          f"k={args.k}, {args.threads} threads, best of {args.repeat}")
    for n in args.sizes:
        rng = np.random.default_rng(args.seed)
        centres = rng.random((args.classes, args.bits)) < 0.5
        t = time.perf_counter()
        db = structured_codes(rng, centres, n, args.flip)
        queries = structured_codes(rng, centres, args.queries, args.flip)
        print(f"\n## N = {n:,} (codes drawn in {time.perf_counter() - t:.1f} s)\n")
        print(f"| index | nlist | nprobe | build s (CPU s) | queries/s | queries/CPU-s | speed-up wall (CPU) "
              f"| recall@{args.k} | index MB | RSS growth MB |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

        r0 = rss_bytes()
        build, build_cpu, flat = best_of(lambda: HashIndex(args.bits, num_threads=args.threads), 1)
        b, bc, _ = best_of(lambda: flat.add(db), 1)
        build, build_cpu, grown = build + b, build_cpu + bc, rss_bytes() - r0
        t_flat, c_flat, exact = best_of(lambda: flat.search(queries, args.k), args.repeat)
        print(f"| flat (exact) | | | {build:.2f} ({build_cpu:.2f}) | {args.queries / t_flat:,.0f} | "
              f"{args.queries / c_flat:,.0f} | 1.0 (1.0) | 1.000 | {flat.codes.nbytes / 1e6:.0f} | {grown / 1e6:.0f} |",
              flush=True)
        del flat

        default_nlist = ivf_parameters(n)[0]
        for factor in args.nlist_factor:
            nlist = default_nlist if factor == 1.0 else int(round(factor * math.sqrt(n)))
            r0 = rss_bytes()
            ivf = HashIndex(args.bits, kind="ivf", nlist=nlist, num_threads=args.threads, seed=args.seed)
            build, build_cpu, _ = best_of(lambda: ivf.add(db), 1)
            grown = rss_bytes() - r0
            size_mb = (n * (args.bits // 8 + 8) + nlist * args.bits // 8) / 1e6
            for nprobe in sorted({ivf.nprobe, *args.nprobe}):
                if nprobe > nlist:
                    continue
                t_ivf, c_ivf, found = best_of(lambda: ivf.search(queries, args.k, nprobe=nprobe), args.repeat)
                mark = (f" (default: nprobe measured at build, recall {ivf.measured_recall:.3f} on its sample)"
                        if nprobe == ivf.nprobe and factor == 1.0 else "")
                print(f"| ivf{mark} | {nlist} | {nprobe} | {build:.2f} ({build_cpu:.2f}) | {args.queries / t_ivf:,.0f} | "
                      f"{args.queries / c_ivf:,.0f} | {t_flat / t_ivf:.1f} ({c_flat / c_ivf:.1f}) | "
                      f"{tie_aware_recall(found, exact):.3f} | {size_mb:.0f} | {grown / 1e6:.0f} |", flush=True)
            del ivf
        del db


if __name__ == "__main__":
    main()
