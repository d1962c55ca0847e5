"""The ``semhash`` command: run the paper's notebooks in order under a named profile.

    semhash reproduce [--profile quick|medium|paper|test] [--only 03 [--only 05]] [--from 04] [-p NAME VALUE]
                      [--publish] [--dry-run]
    semhash tune [--profile quick] [--methods semhash dsh ...] [--trials 20]   # Optuna, validation split
    semhash list                      # the notebooks and profiles
    semhash resources                 # provision and check WordNet, the sentence model, the weights
    semhash book [--run DIR]          # the latest run's executed notebooks and docs/ as an offline HTML book

``reproduce`` executes ``notebooks/NN_*.ipynb`` with papermill (working directory ``notebooks/``), passing
``profile``, ``figures_dir``, ``results_dir``, the profile's parameters for that notebook and the
``-p NAME VALUE`` overrides (YAML values) that the notebook declares in its ``parameters`` cell
(:func:`declared_parameters`). ``--dry-run`` prints each selected notebook with those parameters and runs
nothing. The kernel talks to papermill over IPC sockets in a private temporary folder, not over
unencrypted TCP. By default it computes every number itself in a
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

A failing notebook stops the run with the notebook, the cell and the error named (exit status 1). What the
command cannot do is refused before anything runs, with one line on stderr and exit status 2: an unknown
profile, a ``-p NAME`` that no selected notebook declares (the line lists the parameters they do declare),
a ``-p`` value that is not YAML, an ``--only``/``--from`` that matches no notebook.

The summary prints each table of the run, except large ones (more than :data:`SUMMARY_MAX_ROWS` rows or
:data:`SUMMARY_MAX_COLUMNS` columns, e.g. the 100 x 100 similarity matrix of notebook 01), which it names
with their shape.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as dt
import difflib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from .devices import cpu_threads
from .io import atomic_write, project_root

__all__ = ["main", "find_notebooks", "declared_parameters", "check_parameters", "notebook_parameters",
           "run_notebooks", "reproduce_dirs", "write_summary", "NotebookFailed", "UnknownParameter",
           "SUMMARY_MAX_ROWS", "SUMMARY_MAX_COLUMNS"]

SUMMARY_MAX_ROWS = 200      # larger tables are named with their shape in the summary, not printed
SUMMARY_MAX_COLUMNS = 40   # the per-run tables (27 columns) are shown; a 100 x 101 matrix is not


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook, the cell and the error."""


class UnknownParameter(ValueError):
    """A ``-p NAME`` override that no selected notebook declares in its ``parameters`` cell."""


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


def declared_parameters(path: str | os.PathLike) -> list[str]:
    """The names a notebook assigns in its papermill ``parameters`` cell (the cell tagged ``parameters``), in
    order; ``[]`` when it has none. Read with :mod:`ast`: plain, annotated and tuple assignments count;
    IPython magics and shell lines (``%...``, ``!...``) are skipped."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    names: list[str] = []

    def add(target: ast.AST) -> None:
        if isinstance(target, ast.Name) and target.id not in names:
            names.append(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for t in target.elts:
                add(t)

    for cell in cells:
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError as e:
            raise ValueError(f"{Path(path).name}: the parameters cell is not valid Python ({e.msg}, line {e.lineno})") from e
        for node in tree.body:
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    add(t)
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
                add(node.target)
    return names


def check_parameters(notebooks: list[Path], names) -> dict[str, list[Path]]:
    """For each override name, the notebooks of ``notebooks`` that declare it (:func:`declared_parameters`).

    Raises :class:`UnknownParameter` (one line) for names that no notebook declares, listing the parameters
    the notebooks do declare and the closest match.
    """
    declared = {nb: declared_parameters(nb) for nb in notebooks}
    found = {name: [nb for nb in notebooks if name in declared[nb]] for name in names}
    unknown = [name for name, where in found.items() if not where]
    if unknown:
        every = sorted({n for ns in declared.values() for n in ns})
        close = {u: difflib.get_close_matches(u, every, n=1) for u in unknown}
        hints = [f"{m[0]!r}" + (f" for {u!r}" if len(unknown) > 1 else "") for u, m in close.items() if m]
        which = (notebooks[0].stem if len(notebooks) == 1 else
                 "the selected notebooks " + ", ".join(nb.stem if len(notebooks) <= 3 else nb.stem[:2] for nb in notebooks))
        raise UnknownParameter(
            f"-p {', '.join(unknown)}: no selected notebook declares {'it' if len(unknown) == 1 else 'them'}"
            + (f" (did you mean {', '.join(hints)}?)" if hints else "")
            + f"; parameters declared by {which}: {', '.join(every) or '(none)'}")
    return found


def notebook_parameters(notebooks: list[Path], profile: str, figures_dir: Path, results_dir: Path,
                        extra: dict | None = None) -> list[tuple[Path, dict]]:
    """``(notebook, parameters)`` as :func:`run_notebooks` passes them: ``profile``, ``figures_dir``,
    ``results_dir`` (absolute), the profile's section for the notebook, then each ``extra`` override that
    the notebook declares. Raises :class:`UnknownParameter` for an override that none declares and
    ``ValueError`` for an unknown profile."""
    from .profiles import load_profile

    per_notebook = load_profile(profile).get("notebooks", {}) or {}
    found = check_parameters(notebooks, list(extra or {}))
    plans = []
    for nb in notebooks:
        params = {"profile": profile, "figures_dir": str(Path(figures_dir).resolve()),
                  "results_dir": str(Path(results_dir).resolve())}
        params.update(per_notebook.get(nb.stem, {}) or {})
        params.update({k: v for k, v in (extra or {}).items() if nb in found[k]})
        plans.append((nb, params))
    return plans


@contextlib.contextmanager
def _kernel_over_ipc():
    """Engine keyword arguments that make the papermill kernel use IPC (Unix-domain sockets in a private
    temporary folder, removed afterwards) instead of unencrypted TCP on localhost: a traitlets ``config`` for
    the kernel manager of nbclient (``KernelManager.transport = "ipc"``, ``KernelManager.ip`` = the socket
    path prefix; an absolute prefix, since papermill changes the working directory). Where Unix sockets are
    unavailable (Windows) or the path would be too long for one, nothing changes (TCP)."""
    if os.name == "nt":
        yield {}
        return
    from traitlets.config import Config

    with tempfile.TemporaryDirectory(prefix="semhash-kernel-") as d:
        prefix = os.path.join(d, "k")
        if len(prefix) > 90:          # sun_path holds ~104-108 bytes, "-<port>" is appended
            yield {}
            return
        os.chmod(d, 0o700)
        yield {"config": Config({"KernelManager": {"transport": "ipc", "ip": prefix}})}


def _failure_message(nb_path: Path, err: Exception) -> str:
    cell = getattr(err, "exec_count", None)
    ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
    where = f"cell [{cell}]" if cell is not None else "a cell"
    return f"notebook {nb_path.name} failed in {where}: {ename}: {evalue}"


def run_notebooks(notebooks: list[Path], profile: str, output_dir: Path, figures_dir: Path,
                  results_dir: Path, extra: dict | None = None, kernel: str = "python3",
                  progress: bool = True) -> list[dict]:
    """Execute ``notebooks`` in order with papermill; returns one record per notebook.

    Parameters: :func:`notebook_parameters` (an ``extra`` name that no notebook declares raises
    :class:`UnknownParameter` before anything runs). The kernel runs over IPC (:func:`_kernel_over_ipc`).
    Raises :class:`NotebookFailed` on the first failure (its executed copy, with the traceback, is kept).
    """
    import papermill as pm

    plans = notebook_parameters(notebooks, profile, figures_dir, results_dir, extra)
    output_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    records = []
    with _kernel_over_ipc() as engine_kwargs:
        for nb, params in plans:
            out = output_dir / nb.name
            print(f"[semhash] {nb.name} (profile={profile}) ...", flush=True)
            t0 = time.perf_counter()
            try:
                pm.execute_notebook(str(nb), str(out), parameters=params, cwd=str(nb.parent),
                                    kernel_name=kernel, progress_bar=progress, log_output=False, **engine_kwargs)
            except Exception as err:  # papermill wraps the cell error; keep the executed copy for inspection
                raise NotebookFailed(_failure_message(nb, err) + f"\n  executed copy: {out}") from err
            seconds = time.perf_counter() - t0
            print(f"[semhash] {nb.name} done in {seconds:.0f} s", flush=True)
            records.append({"notebook": nb.name, "seconds": round(seconds, 1), "output": str(out)})
    return records


def write_summary(records: list[dict], profile: str, results_dir: Path, figures_dir: Path,
                  command: str | None = None, comparison: str | None = None,
                  max_rows: int = SUMMARY_MAX_ROWS, max_columns: int = SUMMARY_MAX_COLUMNS) -> Path:
    """A markdown summary: what ran, how long, on what machine, the results tables and the figures, and with
    ``comparison`` (markdown from :func:`semhash_lib.results.compare_results_dirs`) a section
    "Comparison with the published tables".

    A table with more than ``max_rows`` rows or ``max_columns`` columns is named with its shape instead of
    being printed (the CSV holds it).

    The per-notebook timings are kept in ``results/timings_<profile>.json`` and merged by notebook name, so a
    partial run (``--only 05``) updates its own rows and leaves the others' timings and dates in place.
    """
    import pandas as pd

    now = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    machine = (f"{platform.node() or 'unknown'}, {platform.machine()}, {cpu_threads()} CPU cores, "
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
        rows, cols = table.shape
        if rows > max_rows or cols > max_columns:
            lines += ["", f"## {csv.name}", "",
                      f"{rows} rows x {cols} columns: too large to show here (more than {max_rows} rows or "
                      f"{max_columns} columns); see `{csv.name}`."]
        else:
            lines += ["", f"## {csv.name}", "", table.to_markdown(index=False, floatfmt=".4f")]
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


def _gpu_name() -> str | None:
    try:
        import torch
        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:
        return None


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
                     help="override a parameter declared in the notebooks' parameters cell (YAML value), e.g. "
                          "-p bits '[32]'; passed to the selected notebooks that declare it")
    rep.add_argument("--dry-run", action="store_true",
                     help="print each selected notebook with the parameters it would receive; run nothing")
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
    args = parser.parse_args(argv)

    if args.command == "data":
        return _data_command(args)
    if args.command == "resources":
        from .resources import provision
        return 0 if all(v.startswith("ok") for v in provision().values()) else 1
    if args.command == "tune":
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
    if args.command == "train":
        return _train_command(args)
    if args.command == "book":
        return _book_command(args, root)
    if args.command == "list":
        from .profiles import available_profiles
        for nb in find_notebooks(root / "notebooks"):
            print(nb.name)
        print("profiles:", ", ".join(available_profiles()))
        return 0

    import yaml

    from .profiles import load_profile

    def refuse(message: str) -> int:
        print("semhash reproduce: " + " ".join(str(message).split()), file=sys.stderr)
        return 2

    try:
        prof = load_profile(args.profile)
    except (ValueError, OSError, yaml.YAMLError) as e:
        return refuse(e)
    if prof.get("device") == "cuda" and not args.dry_run:
        import torch

        if not torch.cuda.is_available():
            return refuse(f"profile {args.profile!r} trains on a CUDA GPU and this machine has none "
                          "(torch.cuda.is_available() is False); on a CPU use the quick, medium or finetune "
                          "profile, or --dry-run to see what it would run")
    extra = {}
    for name, value in args.parameter or []:
        try:
            extra[name] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            return refuse(f"-p {name} {value!r}: the value is not YAML ({getattr(e, 'problem', None) or e})")
    try:
        books = find_notebooks(args.notebook_dir, args.only, args.start)
    except FileNotFoundError as e:
        return refuse(e)
    except SystemExit as e:               # no notebook matches --only / --from
        if isinstance(e.code, str):
            return refuse(e.code.removeprefix("semhash: "))
        raise
    covered = set(prof.get("notebooks") or {})
    if args.only:                         # a notebook the profile has no settings for would run with other data
        missing = [nb.stem for nb in books if nb.stem not in covered]
        if missing:
            return refuse(f"profile {args.profile!r} has no settings for {missing}; it covers {sorted(covered)}")
    books = [nb for nb in books if nb.stem in covered]
    if not books:
        return refuse(f"profile {args.profile!r} covers none of the selected notebooks; it covers {sorted(covered)}")
    dirs = reproduce_dirs(root, args.profile, args.publish, args.results_dir, args.figures_dir, args.output_dir)
    try:
        found = check_parameters(books, list(extra))
        plans = notebook_parameters(books, args.profile, dirs["figures"], dirs["results"], extra)
    except (ValueError, OSError) as e:    # UnknownParameter, an unparsable parameters cell, an unreadable notebook
        return refuse(e)
    for k, where in found.items():
        skipped = [nb.stem for nb in books if nb not in where]
        if skipped:
            print(f"[semhash] -p {k} goes to {', '.join(nb.stem for nb in where)} only "
                  f"(not declared by {', '.join(skipped)})", flush=True)
    if args.dry_run:
        print(f"[semhash] dry run, nothing is executed: profile {args.profile}, {len(plans)} notebook(s); "
              f"tables -> {dirs['results']}, figures -> {dirs['figures']}, executed copies -> {dirs['notebooks']}")
        for nb, params in plans:
            print(nb.name)
            for k, v in params.items():
                print(f"  {k} = {json.dumps(v, default=str)}" + ("   # -p" if k in extra else ""))
        return 0
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
