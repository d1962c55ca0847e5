"""The shared first cell of every notebook: profile parameters, output folders and run folders.

A notebook's ``parameters`` cell (papermill) assigns ``profile``, ``figures_dir``, ``results_dir`` and its
own parameters, most of them ``None``; the cell after it is::

    from semhash_lib import notebook
    nb = notebook.setup(profile, "05_hierarchical_precision", globals(), figures_dir, results_dir)

:func:`setup` fills every parameter left at ``None`` from the profile
(:func:`semhash_lib.profiles.notebook_parameters`, so papermill's values win), replaces ``figures_dir``
and ``results_dir`` in the notebook by resolved :class:`~pathlib.Path` objects (created when missing),
adds ``runs_dir = results_dir / "runs" / profile`` and returns a :class:`Session` holding the same.
:meth:`Session.run_grid` runs :func:`semhash_lib.experiment.run_grid` with those folders and the notebook's
evaluation parameters filled in; :meth:`Session.run_dir` names a run's folder exactly as it writes it
(:func:`semhash_lib.runs.run_folder`), so figures are drawn from the grid's finished runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .devices import flush_denormals
from .plotting.style import save_figure
from .profiles import notebook_parameters
from .runs import run_folder

__all__ = ["Session", "setup", "GRID_PARAMETERS"]

#: the notebook parameters that :meth:`Session.run_grid` fills in: the evaluation keywords of
#: :func:`semhash_lib.experiment.run_grid` and the file name of the notebook's results table
GRID_PARAMETERS = ("protocols", "eval_queries", "continuous_rank", "results_name", "workers")


@dataclass(frozen=True)
class Session:
    """What a notebook's setup cell established: ``profile``, the notebook's stem, its merged
    ``parameters``, the resolved ``figures_dir``, ``results_dir`` and ``runs_dir``
    (``results_dir / "runs" / profile``, the root of every grid's run folders), and ``grid_parameters``, the
    values of :data:`GRID_PARAMETERS` in the notebook at setup (those that are not ``None``)."""

    profile: str
    notebook: str
    figures_dir: Path
    results_dir: Path
    runs_dir: Path
    parameters: dict = field(default_factory=dict)
    grid_parameters: dict = field(default_factory=dict)

    def grid_dir(self, name: str) -> Path:
        """``runs_dir / name``: the ``out_dir`` of a grid's base configuration (``name`` is the dataset, or a
        variant such as ``"cifar100-zeroshot"``)."""
        return self.runs_dir / name

    def run_dir(self, dataset: str, method: str, bits: int, seed: int) -> Path:
        """``runs_dir / dataset / "<method>-<bits>b-s<seed>"``: the folder of one run of the grid whose
        base ``out_dir`` is ``runs_dir / dataset`` (:func:`semhash_lib.runs.run_folder`)."""
        return run_folder(self.grid_dir(dataset), method, bits, seed)

    def run_grid(self, methods, bits, seeds, config, data, grid: str | None = None, save_rows: bool = True,
                 **options):
        """:func:`semhash_lib.experiment.run_grid` of ``config`` with this notebook's folders and parameters:
        the runs in :meth:`grid_dir` of ``grid`` (default ``data.dataset``), the notebook's ``protocols``,
        ``eval_queries`` and ``continuous_rank``, and with ``save_rows`` the rows appended to
        ``results_dir / results_name`` (the notebook's results table) with a ``profile`` column; the profile's
        ``workers`` (processes, one per core, ``"auto"``: every core) train the runs in parallel where rows are
        saved. ``options``:
        further run_grid keywords, or these ones changed (``extra`` columns come after ``profile``).
        Returns the grid's rows."""
        from .experiment import run_grid

        options = {**self.grid_parameters, **options}
        results_name = options.pop("results_name", None)
        if save_rows:
            if results_name is None:
                raise ValueError(f"{self.notebook}: no results_name to append the grid's rows to (save_rows=False "
                                 "returns them only)")
            options["results_path"] = self.results_dir / results_name
            options["extra"] = {"profile": self.profile, **(options.get("extra") or {})}
        else:
            options.pop("workers", None)      # worker processes merge their rows into the results table
        out_dir = self.grid_dir(grid or data.dataset)
        return run_grid(methods, bits, seeds, config.replace(out_dir=str(out_dir)), data, **options)

    def save(self, fig, name: str) -> list[Path]:
        """Save ``fig`` as ``<figures_dir>/<name>.png`` and ``.svg`` (:func:`semhash_lib.plotting.save_figure`)."""
        return save_figure(fig, self.figures_dir, name)


def setup(profile: str | os.PathLike, notebook: str, namespace: dict | None, figures_dir: str | os.PathLike,
          results_dir: str | os.PathLike, verbose: bool = True) -> Session:
    """Prepare a notebook run and return its :class:`Session` (module doc).

    ``namespace`` is the notebook's ``globals()``: parameters that are missing there or ``None`` are set from
    the profile's section for ``notebook``, and ``figures_dir``, ``results_dir`` (resolved paths, created) and
    ``runs_dir`` are set there too; its :data:`GRID_PARAMETERS` (else the profile's) go to
    :meth:`Session.run_grid`. ``verbose`` prints the profile's name. Subnormal floats are flushed from here on
    (:func:`semhash_lib.devices.flush_denormals`: the notebook's first torch work comes after this call).
    """
    flush_denormals()
    params = notebook_parameters(profile, notebook, namespace)
    figures, results = Path(figures_dir).resolve(), Path(results_dir).resolve()
    figures.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    values = namespace if namespace is not None else params
    session = Session(profile=str(profile), notebook=notebook, figures_dir=figures, results_dir=results,
                      runs_dir=results / "runs" / str(profile), parameters=params,
                      grid_parameters={k: values[k] for k in GRID_PARAMETERS if values.get(k) is not None})
    if namespace is not None:
        namespace.update(figures_dir=session.figures_dir, results_dir=session.results_dir,
                         runs_dir=session.runs_dir)
    if verbose:
        print(f"profile={profile!r}")
    return session
