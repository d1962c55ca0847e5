"""Retrieval benchmark at CIFAR-100 scale: 10,000 queries x 50,000 database codes, 64 bits.

Times (wall clock, best of ``--repeat``), on ``--threads`` threads for both semhash and faiss:
- ``hamming_topk`` (exact, ties by index) with each backend (``numpy``, ``faiss`` counting search, ``auto``) vs
  ``faiss.IndexBinaryFlat`` (default heap search, and its counting variant ``use_heap=False``), k = 100 and
  1000 (``--ks``); the processor is printed with the numbers (``--topk-only`` stops there);
- mAP@1000 and mAHP@250 (trapezoid), also with ``ties="average"``;
- a straightforward per-query numpy loop (distance row, ``np.argsort`` of the row, AP@1000), timed on
  ``--loop-queries`` queries and extrapolated linearly to all queries; compared with mAP@1000 on
  ``--threads`` threads and on one thread (the loop's own thread count, so the ratio does not depend on
  how busy the other core is).
Peak RSS of the process is read after each step (``ru_maxrss``; monotone, so it bounds each step).

Codes are synthetic but structured like a trained model's: 100 classes in 20 superclasses, each code its
class centre with 20 % of the bits flipped; similarity 1 (same class), 0.5 (same superclass), 0.

    .venv/bin/python benchmarks/bench_retrieval.py [--queries 10000 --db 50000 --bits 64 --threads 2]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np


def peak_rss_gb() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 1e9


def processor() -> str:
    """The processor's model name and whether it has AVX-512 VPOPCNTDQ (vectorised popcount), from /proc/cpuinfo."""
    try:
        info = open("/proc/cpuinfo").read()
    except OSError:
        return "unknown"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    return f"{name}, {'with' if 'avx512_vpopcntdq' in info else 'without'} AVX-512 VPOPCNTDQ"


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def make_data(n_query, n_db, bits, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.random((100, bits)) < 0.5
    ql, dbl = np.arange(n_query) % 100, np.arange(n_db) % 100

    def codes(labels):
        return np.where(centres[labels] ^ (rng.random((labels.size, bits)) < 0.2), 1.0, -1.0).astype(np.float32)

    sup = np.arange(100) // 5
    S = np.where(sup[:, None] == sup[None, :], 0.5, 0.0)
    np.fill_diagonal(S, 1.0)
    return codes(ql), codes(dbl), ql, dbl, S


def loop_map(qp, dp, ql, dbl, k):
    """The straightforward version: one query at a time, full distance row, argsort, AP@k."""
    dw = dp.view(np.uint64)
    aps = []
    for i in range(qp.shape[0]):
        d = np.bitwise_count(qp[i].view(np.uint64)[None, :] ^ dw).sum(axis=1)
        order = np.argsort(d, kind="stable")[:k]
        rel = dbl[order] == ql[i]
        hits = np.cumsum(rel)
        aps.append((rel * hits / np.arange(1, k + 1)).sum() / hits[-1] if hits[-1] else 0.0)
    return float(np.mean(aps))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--db", type=int, default=50_000)
    ap.add_argument("--bits", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--loop-queries", type=int, default=200)
    ap.add_argument("--ks", type=int, nargs="+", default=[100, 1000], help="k of the top-k timings")
    ap.add_argument("--topk-only", action="store_true", help="time the top-k searches only (no metrics, no loop)")
    args = ap.parse_args(argv)

    import faiss
    from semhash_lib.metrics import mean_average_hierarchical_precision, mean_average_precision
    from semhash_lib.retrieval import hamming_topk, pack_codes

    faiss.omp_set_num_threads(args.threads)
    q, db, ql, dbl, S = make_data(args.queries, args.db, args.bits)
    qp, dp = pack_codes(q), pack_codes(db)
    th = args.threads
    rows = []

    def report(name, seconds, note=""):
        rows.append((name, seconds, peak_rss_gb(), note))
        print(f"{name:<44s} {seconds:8.3f} s   peak RSS {rows[-1][2]:.2f} GB  {note}", flush=True)

    print(f"{args.queries} queries x {args.db} database, {args.bits} bits, {th} threads; processor: {processor()}")
    times = {}
    for k in args.ks:
        for backend in ("numpy", "faiss", "auto"):
            t, out = best_of(lambda: hamming_topk(qp, dp, k, num_threads=th, backend=backend), args.repeat)
            times[k, backend] = (t, out)
            report(f"semhash hamming_topk k={k} backend={backend}", t)
        index = faiss.IndexBinaryFlat(8 * dp.shape[1])
        index.add(dp)
        t_heap, (d_heap, _) = best_of(lambda: index.search(qp, k), args.repeat)
        t_auto, (d_auto, i_auto) = times[k, "auto"]
        report(f"faiss IndexBinaryFlat k={k} (heap, default)", t_heap, f"faiss/semhash = {t_heap / t_auto:.2f}")
        index.use_heap = False
        t_mc, (d_mc, i_mc) = best_of(lambda: index.search(qp, k), args.repeat)
        report(f"faiss IndexBinaryFlat k={k} (use_heap=False)", t_mc, f"faiss/semhash = {t_mc / t_auto:.2f}")
        assert np.array_equal(d_auto, d_heap), "k-NN distances differ from faiss"
        assert np.array_equal(i_auto, i_mc) and np.array_equal(times[k, "numpy"][1][1], i_auto), \
            "the backends' stable (distance, index) orders differ"
    t_ours = times[args.ks[-1], "auto"][0]
    t_faiss = t_heap

    if args.topk_only:
        return rows
    t_map, m = best_of(lambda: mean_average_precision(qp, dp, ql, dbl, k=1000, num_threads=th), args.repeat)
    report("mAP@1000", t_map, f"= {m:.4f}")
    t_ahp, a = best_of(lambda: mean_average_hierarchical_precision(qp, dp, ql, dbl, S, k=250, num_threads=th),
                       args.repeat)
    report("mAHP@250 (trapezoid)", t_ahp, f"= {a:.4f}")
    t, m2 = best_of(lambda: mean_average_precision(qp, dp, ql, dbl, k=1000, ties="average", num_threads=th), 1)
    report("mAP@1000 ties='average'", t, f"= {m2:.4f}")
    t, a2 = best_of(lambda: mean_average_hierarchical_precision(qp, dp, ql, dbl, S, k=250, ties="average",
                                                                num_threads=th), 1)
    report("mAHP@250 ties='average'", t, f"= {a2:.4f}")

    rng = np.random.default_rng(1)
    hq, hdb = q + 0.5 * rng.standard_normal(q.shape), db + 0.5 * rng.standard_normal(db.shape)
    t, m3 = best_of(lambda: mean_average_precision(hq, hdb, ql, dbl, k=1000, rank="euclidean", num_threads=th), 1)
    report("mAP@1000 continuous h, rank='euclidean'", t, f"= {m3:.4f} (sign(h): "
           f"{mean_average_precision(hq, hdb, ql, dbl, k=1000, num_threads=th):.4f})")

    n_loop = min(args.loop_queries, args.queries)
    t_loop, m_loop = best_of(lambda: loop_map(qp[:n_loop], dp, ql[:n_loop], dbl, 1000), 1)
    t_loop_all = t_loop * args.queries / n_loop
    m_check = mean_average_precision(qp[:n_loop], dp, ql[:n_loop], dbl, k=1000, num_threads=th)
    assert abs(m_loop - m_check) < 1e-12, (m_loop, m_check)
    report(f"per-query numpy loop mAP@1000 (extrapolated from {n_loop})", t_loop_all,
           f"loop/semhash mAP = {t_loop_all / t_map:.1f}x")
    t_map1, _ = best_of(lambda: mean_average_precision(qp, dp, ql, dbl, k=1000, num_threads=1), args.repeat)
    report("mAP@1000, 1 thread (same thread count as the loop)", t_map1,
           f"loop/semhash mAP = {t_loop_all / t_map1:.1f}x")
    print(f"loop / semhash hamming_topk = {t_loop_all / t_ours:.1f}x, "
          f"loop / faiss (heap) = {t_loop_all / t_faiss:.1f}x")
    return rows


if __name__ == "__main__":
    main()
