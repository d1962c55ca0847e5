"""The ``semhash`` command: run the paper's notebooks in order under a named profile.

    semhash reproduce [--profile quick|medium|paper|test] [--only 03 [--only 05]] [--from 04] [-p NAME VALUE]
                      [--publish] [--dry-run]
    semhash tune [--profile quick] [--methods semhash dsh ...] [--trials 20]   # Optuna, validation split
    semhash train --config run.yaml [-s KEY VALUE]   # one run (data-parallel under torchrun)
    semhash data conceptual-captions --tsv FILE --out DIR [--max N]
    semhash list                      # the notebooks and profiles
    semhash resources                 # provision and check WordNet, the sentence model, the weights
    semhash book [--run DIR]          # the latest run's executed notebooks and docs/ as an offline HTML book

This module is the argument parser and one short function per sub-command; the work is done elsewhere:
``reproduce`` by :mod:`semhash_lib.reproduce` (which describes the run folder, the comparison with the published
tables and the summary), ``tune`` by :func:`semhash_lib.tuning.tune`, ``train`` by
:mod:`semhash_lib.experiment.single`, ``data`` by :func:`semhash_lib.data.download_conceptual_captions`,
``book`` by :mod:`semhash_lib.book`.
Input a sub-command cannot use is refused before any work with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import reproduce
from .io import project_root

__all__ = ["main", "build_parser"]


def build_parser(root: Path) -> argparse.ArgumentParser:
    """The ``semhash`` parser; ``root`` (the project root) gives the default notebook and reference folders."""
    parser = argparse.ArgumentParser(prog="semhash", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _reproduce_arguments(sub.add_parser("reproduce", help="run the notebooks in order with papermill"), root)
    tun = sub.add_parser("tune", help="tune every method on a validation split (Optuna, resumable SQLite study)")
    tun.add_argument("--profile", default="quick", help="the profile whose 'tune' section is run (default quick)")
    tun.add_argument("--methods", nargs="+", help="methods to tune (default: the profile's tune.methods)")
    tun.add_argument("--trials", type=int, help="finished trials per method (default: the profile's tune.trials)")
    tun.add_argument("--storage", type=Path, help="SQLite study file (default results/tuning/<profile>.sqlite3)")
    tun.add_argument("--out", type=Path, help="result YAML (default results/tuned_<profile>.yaml)")
    trn = sub.add_parser("train", help="train one run from a TrainConfig YAML (data-parallel under torchrun)")
    trn.add_argument("--config", required=True, type=Path, help="YAML mapping of TrainConfig keys")
    trn.add_argument("--out", type=Path, help="run folder (default: the config's out_dir, else data/runs/<name>)")
    trn.add_argument("-s", "--set", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                     help="override a config key with a YAML value, e.g. -s lr 3e-4 -s loss.kl 0.2; repeatable")
    trn.add_argument("--protocols", nargs="*", default=["train_db", "test_vs_test"],
                     help="retrieval protocols evaluated after training on rank 0 (none: no evaluation)")
    trn.add_argument("--eval-queries", type=int, help="evaluate on a class-stratified subset of this many queries")
    trn.add_argument("--no-progress", action="store_true", help="no progress bar")
    sub.add_parser("list", help="list notebooks and profiles")
    sub.add_parser("resources", help="provision and check offline resources")
    bok = sub.add_parser("book", help="the executed notebooks of the latest run and docs/ as an offline HTML book")
    bok.add_argument("--run", type=Path, help="a folder of executed notebooks, or a run folder holding notebooks/ "
                                              "(default: the latest of results/notebooks, results/reproduced/*/notebooks)")
    bok.add_argument("--out", type=Path, default=root / "build" / "book",
                     help="build folder: the sources in src/, the book in html/ (default build/book)")
    bok.add_argument("--verbose", action="store_true", help="print Sphinx's progress, not only its warnings")
    dat = sub.add_parser("data", help="download dataset images (Conceptual Captions with img2dataset)")
    dsub = dat.add_subparsers(dest="dataset", required=True)
    dcc = dsub.add_parser("conceptual-captions", help='the images of a caption<TAB>url TSV (pip install "semhash[cc]")')
    dcc.add_argument("--tsv", required=True, type=Path, help="a Conceptual Captions TSV (caption<TAB>url, no header)")
    dcc.add_argument("--out", required=True, type=Path, help="output folder (img2dataset 'files' layout; a re-run resumes)")
    dcc.add_argument("--max", type=int, help="only the first N rows of the TSV")
    dcc.add_argument("--image-size", type=int, default=256, help="shorter image side in pixels (default 256)")
    dcc.add_argument("--processes", type=int, help="download processes (default: the number of CPU cores)")
    dcc.add_argument("--threads", type=int, default=64, help="download threads per process (default 64)")
    dcc.add_argument("--dry-run", action="store_true", help="print the img2dataset call; download nothing")
    return parser


def _reproduce_arguments(rep: argparse.ArgumentParser, root: Path) -> None:
    """The options of ``semhash reproduce`` (:mod:`semhash_lib.reproduce`)."""
    rep.add_argument("--profile", default="quick", help="quick (CPU, default), medium, paper (GPU) or test")
    rep.add_argument("--only", action="append", help="run only this notebook (number like 03, or stem); repeatable")
    rep.add_argument("--from", dest="start", help="start at this notebook")
    rep.add_argument("--notebook-dir", type=Path, default=root / "notebooks")
    rep.add_argument("--publish", action="store_true",
                     help="write into results/ and figures/ (the committed, published tables) instead of the run "
                          "folder results/reproduced/<profile>/, and compare nothing")
    rep.add_argument("--output-dir", type=Path, default=None,
                     help="executed notebooks (default: <run folder>/notebooks; with --publish results/notebooks)")
    rep.add_argument("--figures-dir", type=Path, default=None,
                     help="figures (default: <run folder>/figures; with --publish figures/)")
    rep.add_argument("--results-dir", type=Path, default=None,
                     help="tables and summary (default: the run folder results/reproduced/<profile>; "
                          "with --publish results/)")
    rep.add_argument("--reference-dir", type=Path, default=root / "results",
                     help="the published tables to compare with (default: results/)")
    rep.add_argument("--tolerance", type=float, default=0.02,
                     help="allowed absolute difference where the published table has a single seed (default 0.02)")
    rep.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="override a parameter declared in the notebooks' parameters cell (YAML value), e.g. "
                          "-p bits '[32]'; passed to the selected notebooks that declare it")
    rep.add_argument("--dry-run", action="store_true",
                     help="print each selected notebook with the parameters it would receive; run nothing")


def _reproduce_command(args, root: Path, command: str) -> int:
    """``semhash reproduce``: check everything first (exit 2 with one line on what cannot be done), then print
    the plan (``--dry-run``) or run the notebooks, compare with the published tables and write the summary
    (exit 1 when a notebook or the comparison failed). ``command`` is recorded in the summary."""
    try:
        prof = reproduce.checked_profile(args.profile, args.dry_run)
        extra = reproduce.parse_overrides(args.parameter)
        books = reproduce.select_notebooks(args.notebook_dir, args.profile, prof, args.only, args.start)
        dirs = reproduce.reproduce_dirs(root, args.profile, args.publish, args.results_dir, args.figures_dir,
                                        args.output_dir)
        plans = reproduce.plan_notebooks(books, args.profile, dirs, extra)
    except reproduce.Refused as e:
        print("semhash reproduce: " + " ".join(str(e).split()), file=sys.stderr)
        return 2
    if args.dry_run:
        reproduce.print_plan(plans, args.profile, dirs, extra)
        return 0
    compare = not args.publish and dirs["results"].resolve() != args.reference_dir.resolve()
    print(f"[semhash] writing tables to {dirs['results']}, figures to {dirs['figures']}"
          + (f"; published reference: {args.reference_dir}" if compare else ""), flush=True)
    t0 = time.perf_counter()
    try:
        records = reproduce.run_notebooks(books, args.profile, dirs["notebooks"], dirs["figures"], dirs["results"],
                                          extra)
    except reproduce.NotebookFailed as e:
        print(f"semhash: {e}", file=sys.stderr)
        return 1
    comparison = (reproduce.compare_with_published(dirs["results"], args.reference_dir, args.profile, args.tolerance)
                  if compare else None)
    summary = reproduce.write_summary(records, args.profile, dirs["results"], dirs["figures"], command, comparison)
    print(f"[semhash] {len(records)} notebooks in {time.perf_counter() - t0:.0f} s; summary: {summary}")
    return 1 if compare and comparison is None else 0


def _tune_command(args) -> int:
    """``semhash tune``: tune the profile's methods (:func:`semhash_lib.tuning.tune`) and print the best of each."""
    from .profiles import ProfileError, load_profile
    from .tuning import TuningError, tune

    try:
        res = tune(load_profile(args.profile), args.methods, args.trials, args.storage, args.out)
    except (TuningError, ProfileError, FileNotFoundError) as e:
        print(f"semhash tune: {e}", file=sys.stderr)
        return 2
    for m, e in res["methods"].items():
        print(f"{m:24s} {e['n_trials']:3d} trials  val mAHP@250 {e['best']['val_mahp@250']:.4f}  "
              f"val mAP@1000 {e['best']['val_map@1000']:.4f}")
    print(f"[semhash] tuned parameters: {args.out or 'results/tuned_' + res['profile'] + '.yaml'} "
          f"({res['seconds']:.0f} s)")
    return 0


def _train_command(args) -> int:
    """``semhash train``: check the config completely, then train (and evaluate on rank 0)."""
    from .experiment.single import RunConfigError, load_run_config, train_and_evaluate

    try:
        config = load_run_config(args.config, args.set, args.out)
    except RunConfigError as e:
        print(f"semhash train: {e}", file=sys.stderr)
        return 2
    try:
        out = train_and_evaluate(config, args.protocols or None, args.eval_queries, progress=not args.no_progress)
    except ValueError as e:               # a damaged checkpoint, a checkpoint of other settings, bad data
        print(f"semhash train: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    if out["rank"] == 0:
        last = out["history"][-1] if out["history"] else {}
        print(f"[semhash] {config.method} {config.bits} bits: {len(out['history'])} epochs in "
              f"{sum(r['seconds'] for r in out['history']):.1f} s ({last.get('images_per_s', 0):.0f} img/s, "
              f"{out['world_size']} process(es)); run folder {out['out_dir']}")
        for row in out["metrics"]:
            print(f"  {row['protocol']:14s} mAP@1000 {row['map@1000']:.4f}  mAHP@250 {row['mahp@250']:.4f}")
    return 0


def _data_command(args) -> int:
    """``semhash data conceptual-captions --tsv FILE --out DIR [--max N]``: download the images of a Conceptual
    Captions TSV with img2dataset (:func:`semhash_lib.data.download_conceptual_captions`); ``--dry-run`` prints
    the ``img2dataset.download`` call instead. Exit 2 with one line when img2dataset or the TSV is missing."""
    from .data.download import MissingDependencyError, download_conceptual_captions
    from .paths import DataFormatError, DataNotFoundError

    try:
        res = download_conceptual_captions(args.tsv, args.out, args.max, args.image_size, args.processes,
                                           args.threads, dry_run=args.dry_run)
    except (MissingDependencyError, DataNotFoundError, DataFormatError, NotADirectoryError, ValueError) as e:
        print(f"semhash data: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    if args.dry_run:
        print("img2dataset.download(" + ", ".join(f"{k}={v!r}" for k, v in res["arguments"].items() if k != "url_list")
              + f")  # url_list: a temporary TSV with a header and the first {res['rows']} rows of {args.tsv}")
    else:
        print(f"[semhash] {res['images']} of {res['rows']} images in {res['out']} (the others did not download)")
    return 0


def _list_command(root: Path) -> int:
    """``semhash list``: the notebooks and the profiles."""
    from .profiles import available_profiles

    for nb in reproduce.find_notebooks(root / "notebooks"):
        print(nb.name)
    print("profiles:", ", ".join(available_profiles()))
    return 0


def _resources_command() -> int:
    """``semhash resources``: provision and check the offline resources (exit 1 when one is not ok)."""
    from .resources import provision

    return 0 if all(v.startswith("ok") for v in provision().values()) else 1


def _book_command(args, root: Path) -> int:
    """``semhash book``: :mod:`semhash_lib.book` collects, then builds; a missing run or a missing Jupyter Book
    is one line on stderr (exit status 2)."""
    from .book import BookUnavailable, NoExecutedRun, build, collect, find_run

    try:
        run = find_run(root, args.run)
        print(f"[semhash] book of {run}", flush=True)
        index = build(collect(root, run, args.out / "src"), args.out / "html", quiet=not args.verbose)
    except (NoExecutedRun, BookUnavailable) as e:
        print(f"semhash book: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:
        print(f"semhash book: {e}", file=sys.stderr)
        return 1
    print(f"[semhash] book: {index}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the process's arguments) and run the sub-command; returns its exit status."""
    from .devices import flush_denormals

    flush_denormals()        # before any torch work starts its threads (semhash_lib.devices.flush_denormals)
    argv = sys.argv[1:] if argv is None else argv
    root = project_root()
    args = build_parser(root).parse_args(argv)
    if args.command == "reproduce":
        return _reproduce_command(args, root, "semhash " + " ".join(argv))
    if args.command == "list":
        return _list_command(root)
    if args.command == "resources":
        return _resources_command()
    if args.command == "book":
        return _book_command(args, root)
    return {"tune": _tune_command, "train": _train_command, "data": _data_command}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
