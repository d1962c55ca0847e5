"""The project as an HTML book that builds and reads offline: ``semhash book`` (``make book``).

The book holds the executed notebooks of the latest run, as that run left them (nothing is executed again),
the pages of ``docs/`` and ``README.md``, under a landing page that says what to read first. The notebooks
come from a run folder of ``semhash reproduce``: ``results/notebooks/`` (``--publish``) or
``results/reproduced/<profile>/notebooks/``, whichever was written last, or the folder given with ``--run``.

:func:`collect` copies them into a source folder laid out like the project (``README.md``, ``docs/``,
``notebooks/``, the committed ``figures/`` that the README shows) and writes the landing page ``index.md``,
``_toc.yml`` and ``_config.yml``; :func:`build` runs Jupyter Book 1 (Sphinx + MyST-NB) on it. Jupyter Book 1
is used because it builds offline (Jupyter Book 2 downloads its theme at build time). What would make the
book reach the network is turned off: MathJax is the local copy of ``sphinx-mathjax-offline`` (MathJax 3,
copied into ``_static/mathjax``), the ipywidgets scripts of MyST-NB are not added and the progress-bar
widgets of the executed notebooks are dropped (a static page has no widget runtime), and no launch,
repository or comment buttons are shown. Its default output, ``build/book/html/index.html``, is git-ignored.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import yaml

__all__ = ["NoExecutedRun", "BookUnavailable", "run_folders", "find_run", "collect", "build", "WIDGET_MIME",
           "DOCS_ORDER", "COURSE_PAGES", "INSTRUCTOR_FRONT", "INSTRUCTOR_ORDER", "EXTENSIONS", "table_of_contents"]

#: the mime type of an ipywidgets output (tqdm's progress bars in the notebooks); dropped from the book
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

#: the docs pages in reading order; any page not named here follows, alphabetically
DOCS_ORDER = ["usage", "book", "paper", "reconstruction", "results", "course", "primer", "project", "solutions",
              "data", "gpu", "retrieval", "speed", "design"]

#: the course's student pages (``docs/course.md`` first): the book's "Course" part, before the notebooks
COURSE_PAGES = ["course", "primer", "project"]

#: the instructor section, kept apart from the student pages in the book's last part "For instructors":
#: ``docs/solutions.md`` (its front page) and the pages of ``docs/instructor/`` in this order (others follow,
#: alphabetically)
INSTRUCTOR_FRONT = "solutions"
INSTRUCTOR_ORDER = ["answers", "exercises", "grading"]

#: Jupyter Book's Sphinx extensions, less ``sphinx_thebe`` (live code from a CDN; its page script also fails,
#: declared twice) and ``sphinx.ext.intersphinx`` (other projects' inventories), plus the local MathJax
EXTENSIONS = ["sphinx_togglebutton", "sphinx_copybutton", "myst_nb", "jupyter_book", "sphinx_comments",
              "sphinx_external_toc", "sphinx_design", "sphinx_book_theme", "sphinx-mathjax-offline"]

MAKE_A_RUN = "`make publish` or `semhash reproduce --profile quick`"


class NoExecutedRun(FileNotFoundError):
    """No run folder holds executed notebooks, so there is nothing to make a book of."""


class BookUnavailable(ImportError):
    """Jupyter Book 1 (the ``book`` extra) is not installed."""


def run_folders(root: Path) -> list[Path]:
    """The folders ``semhash reproduce`` writes executed notebooks into, those that exist: the published run
    ``results/notebooks`` and each ``results/reproduced/<profile>/notebooks``."""
    candidates = [root / "results" / "notebooks", *sorted((root / "results" / "reproduced").glob("*/notebooks"))]
    return [d for d in candidates if any(d.glob("[0-9][0-9]_*.ipynb"))]


def find_run(root: Path, run: Path | None = None) -> Path:
    """The folder of executed notebooks to make the book of: ``run`` (a folder of notebooks, or a run folder
    holding ``notebooks/``), else the run folder whose newest notebook was written last. Raises
    :class:`NoExecutedRun`, naming the commands that make a run, when there is none."""
    if run is not None:
        run = Path(run)
        folder = run / "notebooks" if (run / "notebooks").is_dir() else run
        if not any(folder.glob("[0-9][0-9]_*.ipynb")):
            raise NoExecutedRun(f"{run} holds no executed notebooks (NN_*.ipynb); make a run with {MAKE_A_RUN}")
        return folder
    folders = run_folders(root)
    if not folders:
        raise NoExecutedRun(f"no executed notebooks in results/notebooks or results/reproduced/*/notebooks; "
                            f"make a run with {MAKE_A_RUN}, then build the book")
    return max(folders, key=lambda d: max(p.stat().st_mtime for p in d.glob("[0-9][0-9]_*.ipynb")))


def _static_notebook(src: Path, dst: Path) -> dict:
    """Copy an executed notebook without its widget outputs and widget state; returns its papermill record
    (parameters, end time), ``{}`` where it has none."""
    nb = nbformat.read(src, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if WIDGET_MIME not in o.get("data", {})]
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, dst)
    return nb.metadata.get("papermill", {})


def _title(path: Path) -> str:
    """The first ``# heading`` of a markdown page or of a notebook's first markdown cell."""
    if path.suffix == ".ipynb":
        cells = nbformat.read(path, as_version=4).cells
        text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    else:
        text = path.read_text()
    return next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")), path.stem)


def _docs_key(path: Path) -> tuple[int, str]:
    return (DOCS_ORDER.index(path.stem) if path.stem in DOCS_ORDER else len(DOCS_ORDER), path.stem)


def _instructor_key(path: Path) -> tuple[int, str]:
    return (INSTRUCTOR_ORDER.index(path.stem) if path.stem in INSTRUCTOR_ORDER else len(INSTRUCTOR_ORDER), path.stem)


def table_of_contents(docs: list[str], notebooks: list[str], instructor: list[str]) -> dict:
    """The book's ``_toc.yml`` from the stems of ``docs/*.md`` (in :data:`DOCS_ORDER`), of the notebooks and
    of ``docs/instructor/*.md``: "Start here" (the README), "Course" (:data:`COURSE_PAGES`), "Notebooks",
    "Documentation" (the other docs pages) and, apart from the student pages, "For instructors"
    (:data:`INSTRUCTOR_FRONT` and the instructor pages). A part with no page is left out."""
    course = [p for p in COURSE_PAGES if p in docs]
    front = [INSTRUCTOR_FRONT] if INSTRUCTOR_FRONT in docs else []
    other = [p for p in docs if p not in course and p not in front]
    parts = [
        {"caption": "Start here", "chapters": [{"file": "README", "title": "Overview (the README)"}]},
        {"caption": "Course", "chapters": [{"file": f"docs/{p}"} for p in course]},
        {"caption": "Notebooks", "chapters": [{"file": f"notebooks/{nb}"} for nb in notebooks]},
        {"caption": "Documentation", "chapters": [{"file": f"docs/{p}"} for p in other]},
        {"caption": "For instructors", "chapters": [{"file": f"docs/{p}"} for p in front]
         + [{"file": f"docs/instructor/{p}"} for p in instructor]},
    ]
    return {"format": "jb-book", "root": "index", "parts": [p for p in parts if p["chapters"]]}


def _landing_page(notebooks: list[Path], run: str, record: dict) -> str:
    """``index.md``: what the book is, which run it shows, and what to read first."""
    params = record.get("parameters", {})
    profile = params.get("profile", "unknown")
    when = (record.get("end_time") or "")[:16].replace("T", " ")
    toy = next((nb for nb in notebooks if nb.name.startswith("00_")), None)
    lines = [
        "# semhash: the book", "",
        "The runnable companion to Arponen & Bishop (2020), *Learning to hash with semantic similarity metrics "
        "and empirical KL divergence*, as a book: the project's notebooks as one run executed them, "
        "with their figures and tables, and the project's documentation. It reads offline.", "",
        "## Read first", "",
        "1. [The overview](README.md): what the method is, what the project reproduces and the published results.",
        *([f"1. [{_title(toy)}](notebooks/{toy.name}): the method on a toy, without data."] if toy else []),
        "1. The notebooks in order (left sidebar); each opens with what you will see.",
        "1. [The paper](docs/paper.md) and [what semhash reconstructs](docs/reconstruction.md), where the "
        "paper leaves details open.",
        "1. Teaching or studying it: [the course](docs/course.md) (part \"Course\"; start with its primer); "
        "the solutions and model answers are kept apart, in the last part, \"For instructors\".", "",
        "## This run", "",
        f"The notebooks were executed by `semhash reproduce` with profile `{profile}`"
        + (f", finished {when} UTC" if when else "")
        + f" (executed copies in `{run}`); {len(notebooks)} notebook(s): "
        + ", ".join(nb.name[:2] for nb in notebooks) + ". The book does not run them again; "
        "[docs/book.md](docs/book.md) says how to build it from another run.", "",
    ]
    return "\n".join(lines)


def collect(root: Path, run: Path, source: Path) -> Path:
    """Lay out the book's sources in ``source`` (emptied first): ``README.md``, ``docs/*.md`` and
    ``docs/instructor/*.md``, the executed notebooks of ``run`` in ``notebooks/`` (without widgets), the
    README's ``figures/*.png``, the landing page ``index.md``, ``_toc.yml`` (:func:`table_of_contents`) and
    ``_config.yml``. Returns ``source``."""
    if source.exists():
        shutil.rmtree(source)
    (source / "docs").mkdir(parents=True)
    (source / "notebooks").mkdir()
    shutil.copy2(root / "README.md", source / "README.md")
    docs = sorted((root / "docs").glob("*.md"), key=_docs_key)
    for page in docs:
        shutil.copy2(page, source / "docs" / page.name)
    instructor = sorted((root / "docs" / "instructor").glob("*.md"), key=_instructor_key)
    if instructor:
        (source / "docs" / "instructor").mkdir()
    for page in instructor:
        shutil.copy2(page, source / "docs" / "instructor" / page.name)
    shutil.copytree(root / "figures", source / "figures", ignore=shutil.ignore_patterns("*.svg"))
    notebooks, record = [], {}
    for nb in sorted(run.glob("[0-9][0-9]_*.ipynb")):
        record = _static_notebook(nb, source / "notebooks" / nb.name) or record
        notebooks.append(source / "notebooks" / nb.name)
    shown = run.resolve().relative_to(root.resolve()) if run.resolve().is_relative_to(root.resolve()) else run
    (source / "index.md").write_text(_landing_page(notebooks, shown.as_posix(), record))
    toc = table_of_contents([p.stem for p in docs], [nb.stem for nb in notebooks], [p.stem for p in instructor])
    (source / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    (source / "_config.yml").write_text(yaml.safe_dump(_config(), sort_keys=False))
    return source


def _config() -> dict:
    """Jupyter Book's ``_config.yml``: no execution, nothing fetched from the network when reading."""
    return {
        "title": "semhash",
        "author": "the semhash authors",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "launch_buttons": {"notebook_interface": "classic", "binderhub_url": "", "jupyterhub_url": "",
                           "thebe": False, "colab_url": ""},
        "html": {"use_repository_button": False, "use_issues_button": False, "use_edit_page_button": False,
                 "comments": {"hypothesis": False, "utterances": False}},
        "latex": {"use_jupyterbook_latex": False},
        "sphinx": {
            "config": {
                "extensions": EXTENSIONS,
                "mathjax_path": "mathjax/tex-chtml.js",   # the local copy in _static/ (sphinx-mathjax-offline)
                "nb_ipywidgets_js": {},                    # MyST-NB would add require.js and widgets from a CDN
                "html_show_copyright": False,
                "suppress_warnings": ["myst.xref_missing"],  # links to source files that are not book pages
            },
        },
    }


def build(source: Path, out: Path, quiet: bool = True) -> Path:
    """Build the HTML book of ``source`` (from :func:`collect`) into ``out``; returns ``out/index.html``.
    Raises :class:`BookUnavailable` without Jupyter Book and ``RuntimeError`` when Sphinx fails."""
    try:
        from jupyter_book.sphinx import build_sphinx
    except ImportError as e:
        raise BookUnavailable(f"Jupyter Book 1 is not installed ({e}); install the book extra: "
                              'pip install -c requirements/constraints.txt -e ".[book]" (or run make book)') from e
    result = build_sphinx(source, out, path_config=source / "_config.yml", doctreedir=out.parent / ".doctrees",
                          confoverrides={"external_toc_path": (source / "_toc.yml").as_posix(),
                                         "latex_individualpages": False},
                          noconfig=True, freshenv=True, quiet=quiet)
    if result != 0:
        raise RuntimeError(f"the book did not build ({result!r}); run with --verbose to see Sphinx's log")
    return out / "index.html"
