"""`semhash reproduce` refuses what it cannot do (one line, exit 2), --dry-run runs nothing, the kernel talks
over IPC, and the summary names large tables instead of printing them. Everything in tmp folders."""

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from semhash_lib import cli, reproduce

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"


def _notebook(path: Path, parameters: str, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), params] + [nbformat.v4.new_code_cell(c) for c in cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project root in tmp_path; run_notebooks must not be reached by a refused or dry run."""
    monkeypatch.setattr(cli, "project_root", lambda: tmp_path)

    def must_not_run(*a, **k):
        raise AssertionError("run_notebooks was called")

    monkeypatch.setattr(reproduce, "run_notebooks", must_not_run)
    return tmp_path


def _refused(capsys, argv) -> str:
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("semhash reproduce: "), err
    assert "Traceback" not in err and not out
    return lines[0]


def test_declared_parameters_reads_the_parameters_cell_with_ast(tmp_path):
    nb = _notebook(tmp_path / "01_x.ipynb",
                   "%matplotlib inline\nprofile = 'quick'  # a comment\nbits: list = [16]\na, (b, c) = 1, (2, 3)\n"
                   "d = e = None\nimport os\nif False:\n    hidden = 1\n", "not_a_parameter = 1")
    assert reproduce.declared_parameters(nb) == ["profile", "bits", "a", "b", "c", "d", "e"]
    none = _notebook(tmp_path / "02_y.ipynb", "x = 1")
    raw = nbformat.read(none, as_version=4)
    raw.cells[1].metadata["tags"] = []
    nbformat.write(raw, none)
    assert reproduce.declared_parameters(none) == []
    assert {"profile", "figures_dir", "results_dir", "bits", "config"} <= set(
        reproduce.declared_parameters(NOTEBOOKS / "03_train_hashing.ipynb"))


def test_unknown_parameter_is_refused_with_the_declared_ones(project, capsys):
    line = _refused(capsys, ["reproduce", "--profile", "test", "--only", "03", "-p", "bitz", "[32]",
                             "--notebook-dir", str(NOTEBOOKS)])
    assert "-p bitz: no selected notebook declares it" in line and "did you mean 'bits'?" in line
    declared = line.split("parameters declared by 03_train_hashing: ")[1].split(", ")
    assert declared == sorted(reproduce.declared_parameters(NOTEBOOKS / "03_train_hashing.ipynb"))
    assert not any(project.iterdir())                    # nothing was created


def test_parameter_of_another_notebook_is_refused_for_the_selection(project, capsys):
    # `hierarchy` is a parameter of 01, not of 03: with only 03 selected it cannot take effect
    assert "hierarchy" in reproduce.declared_parameters(NOTEBOOKS / "01_wordnet_targets.ipynb")
    line = _refused(capsys, ["reproduce", "--profile", "test", "--only", "03", "-p", "hierarchy", "barz",
                             "--notebook-dir", str(NOTEBOOKS)])
    assert "-p hierarchy" in line


def test_unknown_profile_bad_value_and_no_match_are_one_line(project, capsys):
    line = _refused(capsys, ["reproduce", "--profile", "nope", "--notebook-dir", str(NOTEBOOKS)])
    assert "unknown profile 'nope'" in line and "quick" in line
    line = _refused(capsys, ["reproduce", "--profile", "test", "-p", "bits", "[32",
                             "--notebook-dir", str(NOTEBOOKS)])
    assert "-p bits '[32'" in line and "not YAML" in line
    line = _refused(capsys, ["reproduce", "--profile", "test", "--only", "99", "--notebook-dir", str(NOTEBOOKS)])
    assert "no notebook matches ['99']" in line
    assert not any(project.iterdir())


def test_dry_run_prints_each_notebook_with_its_parameters_and_runs_nothing(project, capsys):
    from semhash_lib.profiles import load_profile

    rc = cli.main(["reproduce", "--profile", "test", "--only", "01", "--only", "03", "-p", "bits", "[32]",
                   "--dry-run", "--notebook-dir", str(NOTEBOOKS)])
    out = capsys.readouterr().out
    assert rc == 0
    assert not any(project.iterdir())
    run = project / "results" / "reproduced" / "test"
    assert "dry run, nothing is executed" in out and str(run) in out
    assert "-p bits goes to 03_train_hashing only (not declared by 01_wordnet_targets)" in out
    first, second = out.split("01_wordnet_targets.ipynb\n")[1].split("03_train_hashing.ipynb\n")
    assert '  profile = "test"' in first and f'  figures_dir = "{run / "figures"}"' in first
    assert "bits" not in first
    assert "  bits = [32]   # -p" in second and '  methods = ["semhash", "semhash_no_kl"]' in second
    assert load_profile("test")["notebooks"]["03_train_hashing"]["methods"] == ["semhash", "semhash_no_kl"]


def test_overrides_go_only_to_notebooks_that_declare_them(tmp_path):
    a = _notebook(tmp_path / "nb" / "01_a.ipynb", "profile = 'x'\nfigures_dir = '.'\nresults_dir = '.'\nk = 1")
    b = _notebook(tmp_path / "nb" / "02_b.ipynb", "profile = 'x'\nfigures_dir = '.'\nresults_dir = '.'")
    plans = dict(reproduce.notebook_parameters([a, b], "test", tmp_path / "f", tmp_path / "r", {"k": 5}))
    assert plans[a]["k"] == 5 and "k" not in plans[b]
    assert plans[b]["figures_dir"] == str((tmp_path / "f").resolve())
    with pytest.raises(reproduce.UnknownParameter, match="-p q: no selected notebook declares it"):
        reproduce.run_notebooks([a, b], "test", tmp_path / "o", tmp_path / "f", tmp_path / "r", {"q": 1})
    assert not (tmp_path / "o").exists()               # refused before anything ran or was created


def test_kernel_runs_over_ipc_in_a_private_folder(tmp_path, capfd):
    nb = _notebook(tmp_path / "nb" / "01_ipc.ipynb", "profile = 'x'\nfigures_dir = '.'\nresults_dir = '.'",
                   "import ipykernel.connect as c\ninfo = c.get_connection_info(unpack=True)\n"
                   "print(info['transport'], info['ip'])")
    records = reproduce.run_notebooks([nb], "test", tmp_path / "out", tmp_path / "f", tmp_path / "r", progress=False)
    text = nbformat.read(records[0]["output"], as_version=4).cells[-1].outputs[0]["text"]
    transport, prefix = text.split()
    assert transport == "ipc" and Path(prefix).is_absolute()
    assert not Path(prefix).parent.exists()            # the socket folder is removed after the run
    assert sorted(p.name for p in nb.parent.iterdir()) == ["01_ipc.ipynb"]   # no socket files in cwd
    assert "without encryption" not in "".join(capfd.readouterr())


def test_summary_names_large_tables_with_their_shape(tmp_path):
    sim = pd.DataFrame([[float(i == j) for j in range(100)] for i in range(100)],
                       columns=[f"c{j}" for j in range(100)])
    sim.insert(0, "class", [f"k{i}" for i in range(100)])
    sim.to_csv(tmp_path / "01_similarity_cifar100_wordnet_lca_height.csv", index=False)
    pd.DataFrame({"method": [f"m{i}" for i in range(reproduce.SUMMARY_MAX_ROWS + 1)], "mahp@250": 0.5}).to_csv(
        tmp_path / "long_quick.csv", index=False)
    wide = pd.DataFrame({f"col{j}": [0.5] * 64 for j in range(27)})   # a per-run results table: shown
    wide.insert(0, "method", [f"w{i}" for i in range(64)])
    wide.to_csv(tmp_path / "wide_quick.csv", index=False)
    pd.DataFrame({"method": ["semhash", "csq"], "mahp@250": [0.7512, 0.7]}).to_csv(tmp_path / "hashing_quick.csv",
                                                                                  index=False)
    text = reproduce.write_summary([{"notebook": "01_x.ipynb", "seconds": 1.0}], "quick", tmp_path, tmp_path).read_text()
    assert "## 01_similarity_cifar100_wordnet_lca_height.csv\n\n100 rows x 101 columns: too large to show" in text
    assert f"## long_quick.csv\n\n{reproduce.SUMMARY_MAX_ROWS + 1} rows x 2 columns: too large" in text
    assert "k37" not in text and f"m{reproduce.SUMMARY_MAX_ROWS}" not in text   # neither big table is printed
    assert "| semhash  |     0.7512 |" in text           # a small table still is
    assert "w63" in text                                 # as is a 64 x 28 table of runs
