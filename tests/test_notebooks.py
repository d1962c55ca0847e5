"""Every notebook runs end to end under papermill on the tiny `test` profile (real data subsets), and stays
thin: text, one library call per computation, a figure; short code cells that define nothing."""

import ast
import json
from pathlib import Path

import nbformat
import pytest

from semhash_lib.reproduce import NotebookFailed, declared_parameters, find_notebooks, run_notebooks

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]

#: the most lines a code cell may have (blank lines count); the ``parameters`` cell is exempt, since it only
#: declares papermill parameters, one per line (checked by :func:`test_parameters_cell_only_declares_values`)
MAX_CODE_LINES = 12


def _is_parameters(cell) -> bool:
    return "parameters" in cell.get("metadata", {}).get("tags", [])


def _is_exercise(cell) -> bool:
    """A cell tagged ``exercise`` holds the skeleton of a function the reader writes (semhash_lib.exercises)."""
    return "exercise" in cell.get("metadata", {}).get("tags", [])


def _exercise_skeleton(node: ast.AST, tree: ast.Module) -> bool:
    """The one exemption from "define nothing": in a cell tagged ``exercise``, one top-level ``def`` (the
    function the reader writes), nothing nested in it and no class or lambda anywhere."""
    tops = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    inner = [n for top in tops for n in ast.walk(top) if n is not top
             and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))]
    return len(tops) == 1 and node is tops[0] and not inner


def _code_cells(path: Path) -> list[tuple[int, object]]:
    """``(index, cell)`` of every code cell of the notebook except the ``parameters`` cell."""
    nb = nbformat.read(path, as_version=4)
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not _is_parameters(c)]


def test_notebooks_are_ordered_thin_and_parameterised():
    assert NOTEBOOKS, "no notebooks found"
    numbers = [int(p.name[:2]) for p in NOTEBOOKS]
    assert numbers == sorted(set(numbers)), "notebook numbers must be unique and ordered"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
        assert "profile" in tagged[0].source and "figures_dir" in tagged[0].source, path.name
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
            f"{path.name}: commit notebooks without outputs"
        assert nb.cells[0].cell_type == "markdown", f"{path.name}: should open with text, like the paper"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_code_cells_are_short_and_define_nothing(path):
    """Logic lives in semhash_lib: every code cell has at most MAX_CODE_LINES lines and no ``def``, ``class``
    or ``lambda`` (parsed with ast, so a comment or string that mentions them does not count). Exemption: a
    cell tagged ``exercise`` may hold one top-level ``def``, the skeleton the reader fills in
    (:func:`_exercise_skeleton`), still within MAX_CODE_LINES."""
    problems = []
    for i, cell in _code_cells(path):
        n = len(cell.source.splitlines())
        if n > MAX_CODE_LINES:
            problems.append(f"cell {i}: {n} lines (at most {MAX_CODE_LINES})")
        tree = ast.parse(cell.source, filename=f"{path.name} cell {i}")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                if _is_exercise(cell) and _exercise_skeleton(node, tree):
                    continue
                what = "lambda" if isinstance(node, ast.Lambda) else f"{type(node).__name__} {node.name!r}"
                problems.append(f"cell {i}, line {node.lineno}: defines {what}; move it into semhash_lib")
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_parameters_cell_only_declares_values(path):
    """The parameters cell is papermill's: one ``name = literal`` per statement, no computation."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if _is_parameters(c))
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name), \
            f"{path.name}: parameters cell line {node.lineno} is not a plain `name = value`"
        ast.literal_eval(node.value)   # raises for anything but a literal


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_papermill_parses_every_parameter(path, caplog):
    """papermill's own parser reads every parameter of the cell (a comment holding "=", such as ">=", made it
    print "Unable to parse line" and drop the parameter's type and help)."""
    import logging

    import papermill

    with caplog.at_level(logging.WARNING, logger="papermill"):
        inferred = papermill.inspect_notebook(str(path))
    assert not [r.getMessage() for r in caplog.records if "Unable to parse" in r.getMessage()]
    assert set(inferred) == set(declared_parameters(path))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_setup_cell_is_the_shared_preamble(path):
    """The cell after the parameters cell calls ``notebook.setup(profile, "<this notebook>", globals(),
    figures_dir, results_dir)``; no notebook merges profile parameters, builds paths or run folders itself,
    or draws with matplotlib (figures come from semhash_lib.plotting)."""
    nb = nbformat.read(path, as_version=4)
    first = next(i for i, c in enumerate(nb.cells) if _is_parameters(c))
    setup = nb.cells[first + 1]
    calls = [n for n in ast.walk(ast.parse(setup.source)) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and n.func.attr == "setup"
             and isinstance(n.func.value, ast.Name) and n.func.value.id == "notebook"]
    assert len(calls) == 1, f"{path.name}: the cell after the parameters must call notebook.setup(...) once"
    args = calls[0].args
    assert [ast.unparse(a) for a in args] == ["profile", repr(path.stem), "globals()", "figures_dir", "results_dir"], \
        f"{path.name}: expected notebook.setup(profile, {path.stem!r}, globals(), figures_dir, results_dir)"
    for i, cell in _code_cells(path):
        for banned, why in [("notebook_parameters", "use notebook.setup"), ("Path(", "setup gives Path objects"),
                            ("b-s", "name run folders with semhash_lib.runs or Session.run_dir"),
                            ("matplotlib", "draw with semhash_lib.plotting"), ("plt.", "draw with semhash_lib.plotting")]:
            assert banned not in cell.source, f"{path.name} cell {i}: contains {banned!r} ({why})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_opens_with_what_you_will_see_and_ends_with_questions(path):
    nb = nbformat.read(path, as_version=4)
    assert "**What you will see.**" in nb.cells[0].source, f"{path.name}: first cell needs **What you will see.**"
    assert nb.cells[-1].cell_type == "markdown" and "**Questions.**" in nb.cells[-1].source, \
        f"{path.name}: should end with a markdown cell of **Questions.** for the reader"
    for cell in nb.cells:
        assert "shared/paper.md" not in cell.source, f"{path.name}: cite docs/paper.md, not a file outside the repository"


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_notebook_executes_on_test_profile(notebook, tmp_path):
    figures, results = tmp_path / "figures", tmp_path / "results"
    records = run_notebooks([notebook], "test", tmp_path / "executed", figures, results, progress=False)
    executed = nbformat.read(records[0]["output"], as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    produced = list(figures.glob("*.png")) + list(results.glob("*.csv"))
    assert produced, f"{notebook.name} wrote no figure or table"
    for png in figures.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000


def test_failing_notebook_names_notebook_cell_and_error(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("profile = 'x'\nfigures_dir = '.'\nresults_dir = '.'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# broken"), params,
                nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise ValueError('bad input 42')")]
    path = tmp_path / "nb" / "09_broken.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    with pytest.raises(NotebookFailed) as info:
        run_notebooks([path], "test", tmp_path / "out", tmp_path / "f", tmp_path / "r", progress=False)
    msg = str(info.value)
    assert "09_broken.ipynb" in msg and "ValueError" in msg and "bad input 42" in msg and "cell" in msg


def test_find_notebooks_selects_by_number_and_stem():
    books = find_notebooks(ROOT / "notebooks")
    first = books[0]
    assert find_notebooks(ROOT / "notebooks", only=[first.name[:2]]) == [first]
    assert find_notebooks(ROOT / "notebooks", only=[first.stem]) == [first]
    assert find_notebooks(ROOT / "notebooks", start=books[-1].name[:2]) == [books[-1]]
    with pytest.raises(SystemExit):
        find_notebooks(ROOT / "notebooks", only=["99"])


def _parameter_names(path: Path) -> set[str]:
    return set(declared_parameters(path))


def test_every_profile_parameter_is_a_notebook_parameter():
    """papermill only warns about a parameter the notebook does not declare, and the value is then ignored
    silently; every key a profile passes must be assigned in that notebook's parameters cell."""
    from semhash_lib.profiles import available_profiles, load_profile

    by_stem = {p.stem: p for p in NOTEBOOKS}
    for profile in available_profiles():
        for stem, params in (load_profile(profile).get("notebooks") or {}).items():
            assert stem in by_stem, f"profile {profile!r} configures a notebook that does not exist: {stem}"
            unknown = set(params or {}) - _parameter_names(by_stem[stem])
            assert not unknown, f"profile {profile!r} passes {sorted(unknown)} that {stem} does not declare"


def test_summary_merges_partial_runs(tmp_path):
    """`semhash reproduce --only 05` must update 05's timing and keep the other notebooks' rows."""
    import json

    from semhash_lib.reproduce import write_summary

    (tmp_path / "hashing_quick.csv").write_text("method,mahp@250\nsemhash,0.75\n")
    (tmp_path / "hashing_medium.csv").write_text("method,mahp@250\nsemhash,0.80\n")
    write_summary([{"notebook": "03_x.ipynb", "seconds": 600.0}, {"notebook": "05_y.ipynb", "seconds": 20.0}],
                  "quick", tmp_path, tmp_path, "semhash reproduce --profile quick")
    path = write_summary([{"notebook": "05_y.ipynb", "seconds": 44.0}], "quick", tmp_path, tmp_path,
                         "semhash reproduce --profile quick --only 05")
    timings = json.loads((tmp_path / "timings_quick.json").read_text())
    assert timings["03_x.ipynb"]["seconds"] == 600.0 and timings["05_y.ipynb"]["seconds"] == 44.0
    assert timings["05_y.ipynb"]["command"].endswith("--only 05")
    text = path.read_text()
    assert "| **total** | 644 |" in text
    assert "hashing_quick.csv" in text and "hashing_medium.csv" not in text
