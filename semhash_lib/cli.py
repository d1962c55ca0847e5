"""The ``semhash`` command: run the paper's notebooks in order under a named profile.

    semhash reproduce [--profile quick|medium|paper|test] [--only 03 [--only 05]] [--from 04] [--publish]
    semhash tune [--profile quick] [--methods semhash dsh ...] [--trials 20]   # Optuna, validation split
    semhash list                      # the notebooks and profiles
    semhash resources                 # provision and check WordNet, the sentence model, the weights

``reproduce`` executes ``notebooks/NN_*.ipynb`` with papermill (working directory ``notebooks/``), passing
``profile`` plus the profile's parameters for that notebook. By default it computes every number itself in a
run folder of its own, ``results/reproduced/<profile>/`` (git-ignored):

- tables ``*.csv`` and a markdown summary ``summary_<profile>.md`` directly there,
- figures (PNG and SVG, written by the notebooks) in ``figures/``, executed copies in ``notebooks/``,
- ``comparison_<profile>.csv``: each reproduced table against the committed (published) table of the same
  name in ``results/``, per method, code length and metric (band rule: :func:`semhash_lib.results.compare_to_reference`),
  also printed on the console and added to the summary.

The committed ``results/*.csv`` are never read as resume state by such a run; re-running it resumes only its
own interrupted run (rows already in its own tables). ``--publish`` writes into ``results/``, ``figures/`` and
``results/notebooks/`` instead (how the published tables are updated) and compares nothing.
``--results-dir``/``--figures-dir``/``--output-dir`` override single folders, ``--reference-dir`` the published
tables (default ``results/``) and ``--tolerance`` the band of single-seed tables (default 0.02).

A failing notebook stops the run with the notebook, the cell and the error named (exit status 1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

from .io import atomic_write, project_root

__all__ = ["main", "find_notebooks", "run_notebooks", "reproduce_dirs", "write_summary", "NotebookFailed"]


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook, the cell and the error."""


def find_notebooks(notebook_dir: Path, only: list[str] | None = None, start: str | None = None) -> list[Path]:
    """Ordered ``NN_*.ipynb`` files; ``only``/``start`` select by number prefix or stem."""
    books = sorted(p for p in notebook_dir.glob("[0-9][0-9]_*.ipynb"))
    if not books:
        raise FileNotFoundError(f"no notebooks (NN_*.ipynb) in {notebook_dir}")

    def matches(p: Path, key: str) -> bool:
        return p.stem == key or p.stem.split("_", 1)[0] == key.zfill(2)

    if only:
        unknown = [k for k in only if not any(matches(p, k) for p in books)]
        if unknown:
            raise SystemExit(f"semhash: no notebook matches {unknown}; have {[p.stem for p in books]}")
        books = [p for p in books if any(matches(p, k) for k in only)]
    if start:
        idx = [i for i, p in enumerate(books) if matches(p, start)]
        if not idx:
            raise SystemExit(f"semhash: no notebook matches --from {start!r}")
        books = books[idx[0]:]
    return books


def _failure_message(nb_path: Path, err: Exception) -> str:
    cell = getattr(err, "exec_count", None)
    ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
    where = f"cell [{cell}]" if cell is not None else "a cell"
    return f"notebook {nb_path.name} failed in {where}: {ename}: {evalue}"


def run_notebooks(notebooks: list[Path], profile: str, output_dir: Path, figures_dir: Path,
                  results_dir: Path, extra: dict | None = None, kernel: str = "python3",
                  progress: bool = True) -> list[dict]:
    """Execute ``notebooks`` in order with papermill; returns one record per notebook.

    Raises :class:`NotebookFailed` on the first failure (its executed copy, with the traceback, is kept).
    """
    import papermill as pm

    from .profiles import load_profile

    prof = load_profile(profile)
    per_notebook = prof.get("notebooks", {}) or {}
    output_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for nb in notebooks:
        params = {"profile": profile, "figures_dir": str(figures_dir.resolve()),
                  "results_dir": str(results_dir.resolve())}
        params.update(per_notebook.get(nb.stem, {}) or {})
        params.update(extra or {})
        out = output_dir / nb.name
        print(f"[semhash] {nb.name} (profile={profile}) ...", flush=True)
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(str(nb), str(out), parameters=params, cwd=str(nb.parent),
                                kernel_name=kernel, progress_bar=progress, log_output=False)
        except Exception as err:  # papermill wraps the cell error; keep the executed copy for inspection
            raise NotebookFailed(_failure_message(nb, err) + f"\n  executed copy: {out}") from err
        seconds = time.perf_counter() - t0
        print(f"[semhash] {nb.name} done in {seconds:.0f} s", flush=True)
        records.append({"notebook": nb.name, "seconds": round(seconds, 1), "output": str(out)})
    return records


def write_summary(records: list[dict], profile: str, results_dir: Path, figures_dir: Path,
                  command: str | None = None, comparison: str | None = None) -> Path:
    """A markdown summary: what ran, how long, on what machine, the results tables and the figures, and with
    ``comparison`` (markdown from :func:`semhash_lib.results.compare_results_dirs`) a section
    "Comparison with the published tables".

    The per-notebook timings are kept in ``results/timings_<profile>.json`` and merged by notebook name, so a
    partial run (``--only 05``) updates its own rows and leaves the others' timings and dates in place.
    """
    import json

    import pandas as pd

    now = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    machine = (f"{platform.node() or 'unknown'}, {platform.machine()}, {_cpu_count()} CPU cores, "
               f"{_gpu_name() or 'no GPU'}")
    command = command or f"semhash reproduce --profile {profile}"
    timings_path = results_dir / f"timings_{profile}.json"
    timings: dict = {}
    if timings_path.exists():
        try:
            timings = json.loads(timings_path.read_text())
        except ValueError:
            timings = {}   # a damaged timings file only loses old timings; it is rewritten below
    for r in records:
        timings[r["notebook"]] = {"seconds": r["seconds"], "date": now, "machine": machine, "command": command}
    with atomic_write(timings_path, "w") as f:
        json.dump(dict(sorted(timings.items())), f, indent=1)

    lines = [f"# semhash reproduce — profile `{profile}`", "",
             f"- last updated: {now}, machine: {machine}",
             f"- command: `{command}`", "",
             "| notebook | seconds | date | machine | command |", "| --- | ---: | --- | --- | --- |"]
    lines += [f"| {nb} | {t['seconds']:.0f} | {t['date']} | {t['machine']} | `{t['command']}` |"
              for nb, t in sorted(timings.items())]
    lines.append(f"| **total** | {sum(t['seconds'] for t in timings.values()):.0f} | | | |")
    for csv in sorted(results_dir.glob("*.csv")):
        if not (csv.stem.endswith(f"_{profile}") or csv.stem[:2].isdigit()) or csv.stem.startswith("comparison_"):
            continue   # another profile's table, or the comparison (its own section below)
        try:
            table = pd.read_csv(csv)
        except Exception:
            continue
        lines += ["", f"## {csv.name}", "", table.head(60).to_markdown(index=False, floatfmt=".4f")]
    figs = sorted(figures_dir.glob("*.png"))
    if figs:
        lines += ["", "## Figures", ""] + [f"- `{f.name}`" for f in figs]
    if comparison:
        lines += ["", "## Comparison with the published tables", "", comparison]
    path = results_dir / f"summary_{profile}.md"
    with atomic_write(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def reproduce_dirs(root: Path, profile: str, publish: bool = False, results_dir: Path | None = None,
                   figures_dir: Path | None = None, output_dir: Path | None = None) -> dict[str, Path]:
    """Where ``semhash reproduce`` writes: ``{"results": ..., "figures": ..., "notebooks": ...}``.

    Default: the run folder ``<root>/results/reproduced/<profile>/`` (tables there, ``figures/`` and
    ``notebooks/`` inside; with only ``results_dir`` given, that folder is the run folder).
    ``publish``: ``<root>/results``, ``<root>/figures`` and ``<root>/results/notebooks``, the published
    reference. Explicit folders override either.
    """
    if publish:
        results = results_dir or root / "results"
        figures, notebooks = figures_dir or root / "figures", output_dir or root / "results" / "notebooks"
    else:
        results = results_dir or root / "results" / "reproduced" / profile
        figures, notebooks = figures_dir or results / "figures", output_dir or results / "notebooks"
    return {"results": Path(results), "figures": Path(figures), "notebooks": Path(notebooks)}


def _same_dir(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _cpu_count() -> int:
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _gpu_name() -> str | None:
    try:
        import torch
        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:
        return None


def main(argv: list[str] | None = None) -> int:
    root = project_root()
    parser = argparse.ArgumentParser(prog="semhash", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="run the notebooks in order with papermill")
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
                     help="override a notebook parameter (YAML value), e.g. -p epochs 2")
    tun = sub.add_parser("tune", help="tune every method on a validation split (Optuna, resumable SQLite study)")
    tun.add_argument("--profile", default="quick", help="the profile whose 'tune' section is run (default quick)")
    tun.add_argument("--methods", nargs="+", help="methods to tune (default: the profile's tune.methods)")
    tun.add_argument("--trials", type=int, help="finished trials per method (default: the profile's tune.trials)")
    tun.add_argument("--storage", type=Path, help="SQLite study file (default results/tuning/<profile>.sqlite3)")
    tun.add_argument("--out", type=Path, help="result YAML (default results/tuned_<profile>.yaml)")
    sub.add_parser("list", help="list notebooks and profiles")
    sub.add_parser("resources", help="provision and check offline resources")
    args = parser.parse_args(argv)

    if args.command == "resources":
        from .resources import provision
        return 0 if all(v.startswith("ok") for v in provision().values()) else 1
    if args.command == "tune":
        from .tuning import TuningError, tune

        try:
            res = tune(args.profile, args.methods, args.trials, args.storage, args.out)
        except (TuningError, FileNotFoundError) as e:
            print(f"semhash tune: {e}", file=sys.stderr)
            return 2
        except ValueError as e:
            if "profile" in str(e):
                print(f"semhash tune: {e}", file=sys.stderr)
                return 2
            raise
        for m, e in res["methods"].items():
            print(f"{m:24s} {e['n_trials']:3d} trials  val mAHP@250 {e['best']['val_mahp@250']:.4f}  "
                  f"val mAP@1000 {e['best']['val_map@1000']:.4f}")
        print(f"[semhash] tuned parameters: {args.out or 'results/tuned_' + res['profile'] + '.yaml'} "
              f"({res['seconds']:.0f} s)")
        return 0
    if args.command == "list":
        from .profiles import available_profiles
        for nb in find_notebooks(root / "notebooks"):
            print(nb.name)
        print("profiles:", ", ".join(available_profiles()))
        return 0

    import yaml

    extra = {k: yaml.safe_load(v) for k, v in (args.parameter or [])}
    books = find_notebooks(args.notebook_dir, args.only, args.start)
    dirs = reproduce_dirs(root, args.profile, args.publish, args.results_dir, args.figures_dir, args.output_dir)
    compare = not args.publish and not _same_dir(dirs["results"], args.reference_dir)
    print(f"[semhash] writing tables to {dirs['results']}, figures to {dirs['figures']}"
          + (f"; published reference: {args.reference_dir}" if compare else ""), flush=True)
    t0 = time.perf_counter()
    try:
        records = run_notebooks(books, args.profile, dirs["notebooks"], dirs["figures"], dirs["results"], extra)
    except NotebookFailed as e:
        print(f"semhash: {e}", file=sys.stderr)
        return 1
    command = "semhash " + " ".join(argv if argv is not None else sys.argv[1:])
    comparison_md, rc = None, 0
    if compare:
        from .results import compare_results_dirs, comparison_report

        try:
            table, comparison_md = compare_results_dirs(dirs["results"], args.reference_dir, args.profile,
                                                        tolerance=args.tolerance)
        except Exception as e:   # keep the run's summary and timings; say why there is no comparison
            print(f"semhash: comparison with {args.reference_dir} failed: {type(e).__name__}: {e}", file=sys.stderr)
            rc = 1
        else:
            csv = dirs["results"] / f"comparison_{args.profile}.csv"
            with atomic_write(csv, "w") as f:
                table.to_csv(f, index=False)
            print(f"[semhash] comparison with the published tables in {args.reference_dir} "
                  f"(band: max(2 x published seed std, 0.005), or +-{args.tolerance:g} for single-seed tables): "
                  + comparison_report(table) + f"\n[semhash] comparison table: {csv}", flush=True)
    summary = write_summary(records, args.profile, dirs["results"], dirs["figures"], command, comparison_md)
    print(f"[semhash] {len(records)} notebooks in {time.perf_counter() - t0:.0f} s; summary: {summary}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
