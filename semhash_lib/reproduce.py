"""``semhash reproduce``: run the paper's notebooks in order under a named profile, with papermill.

    semhash reproduce [--profile quick|medium|paper|test] [--only 03 [--only 05]] [--from 04] [-p NAME VALUE]
                      [--publish] [--dry-run]

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
command cannot do is refused before anything runs (:class:`Refused`), with one line on stderr and exit status 2:
an unknown profile, a ``-p NAME`` that no selected notebook declares (the line lists the parameters they do
declare), a ``-p`` value that is not YAML, an ``--only``/``--from`` that matches no notebook.

The summary prints each table of the run, except large ones (more than :data:`SUMMARY_MAX_ROWS` rows or
:data:`SUMMARY_MAX_COLUMNS` columns, e.g. the 100 x 100 similarity matrix of notebook 01), which it names
with their shape.

The command line (:mod:`semhash_lib.cli`) parses the arguments and calls these functions in that order:
:func:`checked_profile`, :func:`parse_overrides`, :func:`select_notebooks`, :func:`reproduce_dirs`,
:func:`plan_notebooks`, then :func:`print_plan` (``--dry-run``) or :func:`run_notebooks`,
:func:`compare_with_published` and :func:`write_summary`.
"""

from __future__ import annotations

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
from .io import atomic_write

__all__ = ["find_notebooks", "declared_parameters", "check_parameters", "notebook_parameters", "run_notebooks",
           "reproduce_dirs", "write_summary", "checked_profile", "parse_overrides", "select_notebooks",
           "plan_notebooks", "print_plan", "compare_with_published", "NotebookFailed", "UnknownParameter",
           "Refused", "SUMMARY_MAX_ROWS", "SUMMARY_MAX_COLUMNS"]

SUMMARY_MAX_ROWS = 200      # larger tables are named with their shape in the summary, not printed
SUMMARY_MAX_COLUMNS = 40   # the per-run tables (27 columns) are shown; a 100 x 101 matrix is not


class NotebookFailed(RuntimeError):
    """A notebook raised; the message names the notebook, the cell and the error."""


class UnknownParameter(ValueError):
    """A ``-p NAME`` override that no selected notebook declares in its ``parameters`` cell."""


class Refused(ValueError):
    """What ``semhash reproduce`` cannot do, found before anything runs: one line on stderr, exit status 2."""


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


def _gpu_name() -> str | None:
    try:
        import torch
        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:
        return None


def checked_profile(name: str, dry_run: bool = False) -> dict:
    """The profile ``name`` (:func:`semhash_lib.profiles.load_profile`). :class:`Refused` when it is unknown or
    unreadable, or when it trains on a CUDA GPU and this machine has none (unless ``dry_run``, which runs
    nothing)."""
    import yaml

    from .profiles import load_profile

    try:
        prof = load_profile(name)
    except (ValueError, OSError, yaml.YAMLError) as e:
        raise Refused(str(e)) from e
    if prof.get("device") == "cuda" and not dry_run:
        import torch

        if not torch.cuda.is_available():
            raise Refused(f"profile {name!r} trains on a CUDA GPU and this machine has none "
                          "(torch.cuda.is_available() is False); on a CPU use the quick, medium or finetune "
                          "profile, or --dry-run to see what it would run")
    return prof


def parse_overrides(pairs) -> dict:
    """The ``-p NAME VALUE`` pairs as ``{NAME: VALUE read as YAML}``; :class:`Refused` for a value that is not
    YAML."""
    import yaml

    extra = {}
    for name, value in pairs or []:
        try:
            extra[name] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise Refused(f"-p {name} {value!r}: the value is not YAML ({getattr(e, 'problem', None) or e})") from e
    return extra


def select_notebooks(notebook_dir: Path, profile: str, prof: dict, only: list[str] | None = None,
                     start: str | None = None) -> list[Path]:
    """The notebooks that ``only``/``start`` select (:func:`find_notebooks`) and the profile ``prof`` (named
    ``profile``) has settings for. :class:`Refused` when no notebook matches, when ``only`` names one the
    profile has no settings for (it would run with other data), or when the profile covers none of them."""
    try:
        books = find_notebooks(notebook_dir, only, start)
    except FileNotFoundError as e:
        raise Refused(str(e)) from e
    except SystemExit as e:               # no notebook matches --only / --from
        if isinstance(e.code, str):
            raise Refused(e.code.removeprefix("semhash: ")) from e
        raise
    covered = set(prof.get("notebooks") or {})
    if only:
        missing = [nb.stem for nb in books if nb.stem not in covered]
        if missing:
            raise Refused(f"profile {profile!r} has no settings for {missing}; it covers {sorted(covered)}")
    books = [nb for nb in books if nb.stem in covered]
    if not books:
        raise Refused(f"profile {profile!r} covers none of the selected notebooks; it covers {sorted(covered)}")
    return books


def plan_notebooks(notebooks: list[Path], profile: str, dirs: dict[str, Path], extra: dict) -> list[tuple[Path, dict]]:
    """Each notebook with the parameters it will receive (:func:`notebook_parameters`, into the folders of
    :func:`reproduce_dirs`); prints, for an override that only some of the notebooks declare, which ones get it.
    :class:`Refused` for an override that none declares (:func:`check_parameters`), a parameters cell that is
    not Python or a notebook that cannot be read."""
    try:
        found = check_parameters(notebooks, list(extra))
        plans = notebook_parameters(notebooks, profile, dirs["figures"], dirs["results"], extra)
    except (ValueError, OSError) as e:
        raise Refused(str(e)) from e
    for name, where in found.items():
        skipped = [nb.stem for nb in notebooks if nb not in where]
        if skipped:
            print(f"[semhash] -p {name} goes to {', '.join(nb.stem for nb in where)} only "
                  f"(not declared by {', '.join(skipped)})", flush=True)
    return plans


def print_plan(plans: list[tuple[Path, dict]], profile: str, dirs: dict[str, Path], extra: dict) -> None:
    """What ``--dry-run`` prints: the folders, then each notebook with the parameters it would receive (JSON
    values; ``# -p`` marks an override)."""
    print(f"[semhash] dry run, nothing is executed: profile {profile}, {len(plans)} notebook(s); "
          f"tables -> {dirs['results']}, figures -> {dirs['figures']}, executed copies -> {dirs['notebooks']}")
    for nb, params in plans:
        print(nb.name)
        for k, v in params.items():
            print(f"  {k} = {json.dumps(v, default=str)}" + ("   # -p" if k in extra else ""))


def compare_with_published(results_dir: Path, reference_dir: Path, profile: str, tolerance: float) -> str | None:
    """Compare the run's tables with the published ones (:func:`semhash_lib.results.compare_results_dirs`):
    write ``comparison_<profile>.csv`` into ``results_dir``, print the report and return the markdown section
    for :func:`write_summary`; ``None`` when the comparison failed (the reason is printed on stderr)."""
    from .results import compare_results_dirs, comparison_report

    try:
        table, markdown = compare_results_dirs(results_dir, reference_dir, profile, tolerance=tolerance)
    except Exception as e:   # keep the run's summary and timings; say why there is no comparison
        print(f"semhash: comparison with {reference_dir} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return None
    csv = results_dir / f"comparison_{profile}.csv"
    with atomic_write(csv, "w") as f:
        table.to_csv(f, index=False)
    print(f"[semhash] comparison with the published tables in {reference_dir} "
          f"(band: max(2 x published seed std, 0.005), or +-{tolerance:g} for single-seed tables): "
          + comparison_report(table) + f"\n[semhash] comparison table: {csv}", flush=True)
    return markdown
