"""Every notebook runs end to end under papermill on the tiny `test` profile (real data subsets)."""

import json
from pathlib import Path

import nbformat
import pytest

from semhash_lib.cli import NotebookFailed, declared_parameters, find_notebooks, run_notebooks

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


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


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
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

    from semhash_lib.cli import write_summary

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
