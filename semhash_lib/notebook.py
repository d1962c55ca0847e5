"""The shared first cell of every notebook: profile parameters, output folders and run folders.

A notebook's ``parameters`` cell (papermill) assigns ``profile``, ``figures_dir``, ``results_dir`` and its
own parameters, most of them ``None``; the cell after it is::

    from semhash_lib import notebook
    nb = notebook.setup(profile, "05_hierarchical_precision", globals(), figures_dir, results_dir)

:func:`setup` fills every parameter left at ``None`` from the profile
(:func:`semhash_lib.profiles.notebook_parameters`, so papermill's values win), replaces ``figures_dir``
and ``results_dir`` in the notebook by resolved :class:`~pathlib.Path` objects (created when missing),
adds ``runs_dir = results_dir / "runs" / profile`` and returns a :class:`Session` holding the same.
:meth:`Session.run_dir` names a run's folder exactly as :func:`semhash_lib.experiment.run_grid` writes it
(:func:`semhash_lib.runs.run_folder`), so figures are drawn from the grid's finished runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .plotting.style import save_figure
from .profiles import notebook_parameters
from .runs import run_folder

__all__ = ["Session", "setup"]


@dataclass(frozen=True)
class Session:
    """What a notebook's setup cell established: ``profile``, the notebook's stem, its merged
    ``parameters``, and the resolved ``figures_dir``, ``results_dir`` and ``runs_dir``
    (``results_dir / "runs" / profile``, the root of every grid's run folders)."""

    profile: str
    notebook: str
    figures_dir: Path
    results_dir: Path
    runs_dir: Path
    parameters: dict = field(default_factory=dict)

    def grid_dir(self, name: str) -> Path:
        """``runs_dir / name``: the ``out_dir`` of a grid's base configuration (``name`` is the dataset, or a
        variant such as ``"cifar100-zeroshot"``)."""
        return self.runs_dir / name

    def run_dir(self, dataset: str, method: str, bits: int, seed: int) -> Path:
        """``runs_dir / dataset / "<method>-<bits>b-s<seed>"``: the folder of one run of the grid whose
        base ``out_dir`` is ``runs_dir / dataset`` (:func:`semhash_lib.runs.run_folder`)."""
        return run_folder(self.grid_dir(dataset), method, bits, seed)

    def save(self, fig, name: str) -> list[Path]:
        """Save ``fig`` as ``<figures_dir>/<name>.png`` and ``.svg`` (:func:`semhash_lib.plotting.save_figure`)."""
        return save_figure(fig, self.figures_dir, name)


def setup(profile: str | os.PathLike, notebook: str, namespace: dict | None, figures_dir: str | os.PathLike,
          results_dir: str | os.PathLike, verbose: bool = True) -> Session:
    """Prepare a notebook run and return its :class:`Session` (module doc).

    ``namespace`` is the notebook's ``globals()``: parameters that are missing there or ``None`` are set from
    the profile's section for ``notebook``, and ``figures_dir``, ``results_dir`` (resolved paths, created) and
    ``runs_dir`` are set there too. ``verbose`` prints the profile's name.
    """
    params = notebook_parameters(profile, notebook, namespace)
    figures, results = Path(figures_dir).resolve(), Path(results_dir).resolve()
    figures.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    session = Session(profile=str(profile), notebook=notebook, figures_dir=figures, results_dir=results,
                      runs_dir=results / "runs" / str(profile), parameters=params)
    if namespace is not None:
        namespace.update(figures_dir=session.figures_dir, results_dir=session.results_dir,
                         runs_dir=session.runs_dir)
    if verbose:
        print(f"profile={profile!r}")
    return session
