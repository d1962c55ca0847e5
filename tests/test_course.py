"""The course (docs/course.md, docs/primer.md, docs/project.md) and its instructor section (docs/solutions.md,
docs/instructor/): the primer's worked example is what the library's metrics compute, the code snippets the
students are given run, every lecture has its parts, and the instructor pages are kept apart from the
student pages in the book."""

import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from semhash_lib.metrics import (average_hierarchical_precision, average_precision, hierarchical_precision_curve,
                                 precision_curve)
from semhash_lib.targets import ClassHierarchy

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PRIMER = (DOCS / "primer.md").read_text(encoding="utf-8")
COURSE = (DOCS / "course.md").read_text(encoding="utf-8")
INSTRUCTOR = sorted((DOCS / "instructor").glob("*.md"))


# -- the primer's worked example ------------------------------------------------------------------------------

def _rows(text: str, first_column: str) -> list[list[str]]:
    """The body rows of the markdown table whose header starts with ``| first_column |``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_column} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def _code(cell: str) -> np.ndarray:
    return np.array([1.0 if c == "+" else -1.0 for c in cell.strip("`")])


CLASSES = ["cat", "dog", "truck", "car"]


def _example():
    db_rows = _rows(PRIMER, "item")
    q_rows = _rows(PRIMER, "query")
    db = np.stack([_code(r[2]) for r in db_rows])
    db_labels = np.array([CLASSES.index(r[1]) for r in db_rows])
    queries = np.stack([_code(r[2]) for r in q_rows])
    q_labels = np.array([CLASSES.index(r[1]) for r in q_rows])
    return db_rows, db, db_labels, queries, q_labels


def _similarity() -> np.ndarray:
    """The primer's tree, through the library's LCA-height similarity (checked against the hand values)."""
    tree = ClassHierarchy({"mammal": "root", "vehicle": "root", "cat": "mammal", "dog": "mammal",
                           "truck": "vehicle", "car": "vehicle"}, CLASSES)
    return tree.similarity_matrix("lca_height")


def test_the_tree_gives_the_similarities_the_primer_states():
    by_hand = np.array([[1, .5, 0, 0], [.5, 1, 0, 0], [0, 0, 1, .5], [0, 0, .5, 1]])
    np.testing.assert_allclose(_similarity(), by_hand)
    assert "s = 1 for the same class, s = 1 − 1/2 = 0.5 within a superclass" in " ".join(PRIMER.split())


def test_the_distance_columns_are_the_hamming_distances_of_the_codes():
    db_rows, db, _, queries, _ = _example()
    assert len(db_rows) == 6 and queries.shape == (2, 4)
    for j, q in enumerate(queries):
        hamming = (db.shape[1] - db @ q) / 2
        assert [int(r[3 + j]) for r in db_rows] == hamming.astype(int).tolist()


def _ranked_codes(classes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A cat query and a database in which the item at position r lies at Hamming distance r (no ties)."""
    n = len(classes)
    db = np.ones((n, n))
    for r in range(n):
        db[r, :r] = -1.0
    return np.ones((1, n)), db, np.array([0]), np.array([CLASSES.index(c) for c in classes])


def _library_values() -> dict[str, float]:
    _, db, db_labels, queries, q_labels = _example()
    S = _similarity()
    ap = average_precision(queries, db, q_labels, db_labels, k=4)
    ap_avg = average_precision(queries, db, q_labels, db_labels, k=4, ties="average")
    ahp = average_hierarchical_precision(queries, db, q_labels, db_labels, S, k=4)
    ahp_avg = average_hierarchical_precision(queries, db, q_labels, db_labels, S, k=4, ties="average")
    q1 = (queries[:1], db, q_labels[:1], db_labels)
    q2 = (queries[1:], db, q_labels[1:], db_labels)
    hp_q1 = hierarchical_precision_curve(*q1, S, ks=[2, 4])
    out = {
        "P@2(q1)": precision_curve(*q1, ks=[2])[0], "P@4(q1)": precision_curve(*q1, ks=[4])[0],
        "P@4(q2)": precision_curve(*q2, ks=[4])[0],
        "AP@4(q1)": ap[0], "AP@4(q2)": ap[1], "mAP@4": ap.mean(), "AP@4(q1, ties averaged)": ap_avg[0],
        "hP@2(q1)": hp_q1[0], "hP@4(q1)": hp_q1[1],
        "AHP@4(q1)": ahp[0], "AHP@4(q2)": ahp[1], "mAHP@4": ahp.mean(), "AHP@4(q1, ties averaged)": ahp_avg[0],
    }
    for name, order in [("class-only", ["cat", "cat", "truck", "truck", "dog", "dog"]),
                        ("semantic", ["cat", "cat", "dog", "dog", "truck", "truck"])]:
        args = _ranked_codes(order)
        out[f"AP@4({name})"] = average_precision(*args, k=4)[0]
        out[f"AHP@4({name})"] = average_hierarchical_precision(*args, S, k=4)[0]
    return out


def _stated_values() -> dict[str, tuple[str, float]]:
    rows = [r for r in _rows(PRIMER, "quantity") + _rows(PRIMER.split("trivial solution in six items")[1], "quantity")]
    return {r[0].strip("`"): (r[1], float(r[2])) for r in rows}


def test_every_worked_number_of_the_primer_is_what_the_library_computes():
    stated, computed = _stated_values(), _library_values()
    assert set(stated) == set(computed), f"unchecked: {set(stated) ^ set(computed)}"
    wrong = {k: (v, computed[k]) for k, (_, v) in stated.items() if abs(v - computed[k]) > 5e-5}
    assert not wrong, f"the primer states (value, library): {wrong}"


def test_the_hand_fractions_are_the_stated_decimals():
    """Where the 'by hand' column ends in a fraction (``= 5/6``, ``67/96``, ``1/2``), it rounds to the value."""
    for key, (by_hand, value) in _stated_values().items():
        last = by_hand.split("=")[-1].strip()
        if re.fullmatch(r"\d+(/\d+)?", last):
            assert abs(float(Fraction(last)) - value) <= 5e-5, (key, by_hand, value)


def test_the_primer_defines_what_the_notebooks_take_for_granted():
    text = " ".join(PRIMER.split())
    for term in ("Hamming distance", "ties", "Precision@k", "Average precision@k", "mAP@k",
                 "Hierarchical precision@k", "Average hierarchical precision@k", "mAHP@k", "reconstruction",
                 "(k − 1)/k", "Deng, Berg & Fei-Fei", "Barz & Denzler"):
        assert term in text, term


# -- the code the students and instructors are given ----------------------------------------------------------

def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.DOTALL)


SNIPPET_PAGES = [DOCS / "primer.md", DOCS / "course.md", DOCS / "instructor" / "exercises.md"]
SNIPPETS = [(p, i, code) for p in SNIPPET_PAGES for i, code in enumerate(_python_blocks(p))]
SNIPPET_IDS = [f"{p.relative_to(DOCS).as_posix()}[{i}]" for p, i, _ in SNIPPETS]


@pytest.mark.parametrize("page, i, code", SNIPPETS, ids=SNIPPET_IDS)
def test_every_snippet_compiles_and_uses_only_what_the_library_has(page, i, code):
    compile(code, f"{page.name}[{i}]", "exec")
    import importlib
    for module, names in re.findall(r"^from (semhash_lib[\w.]*) import ([^\n(]+)$", code, flags=re.MULTILINE):
        mod = importlib.import_module(module)
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(mod, name) or importlib.util.find_spec(f"{module}.{name}"), f"{module}.{name}"
    for path in re.findall(r'"(results/[^"]+)"', code):
        assert (ROOT / path).exists(), path


@pytest.mark.slow
@pytest.mark.parametrize("page, i, code", SNIPPETS, ids=SNIPPET_IDS)
def test_every_snippet_runs_from_the_repository_root(page, i, code, monkeypatch):
    """Each snippet runs as the page gives it (the explore snippets in well under a minute each on the
    development machine's busy core; the instructor solutions assert their agreement with the library)."""
    monkeypatch.chdir(ROOT)
    exec(compile(code, f"{page.name}[{i}]", "exec"), {"__name__": "__snippet__"})


def test_each_course_snippet_is_the_explore_exercise_of_one_lecture():
    lectures = _lectures()
    assert [name for name, _ in lectures] == ["P"] + [str(i) for i in range(10)]
    for name, text in lectures:
        assert text.count("```python") == 1, f"lecture {name}: one explore snippet"


# -- every lecture has its parts ------------------------------------------------------------------------------

def _lectures() -> list[tuple[str, str]]:
    parts = re.split(r"^## Lecture (\w+) — ", COURSE, flags=re.MULTILINE)
    return [(parts[i], parts[i + 1].split("\n## ")[0]) for i in range(1, len(parts), 2)]


@pytest.mark.parametrize("name, text", _lectures(), ids=lambda x: x if len(x) < 4 else "")
def test_every_lecture_has_objectives_prerequisites_time_reading_and_three_exercises(name, text):
    for part in ("**Objectives.**", "**Prerequisites.**", "**Study time.**", "**Read.**", "**Discuss.**",
                 "*Implement.*", "*Derive.*", "*Explore.*"):
        assert part in text, f"lecture {name} lacks {part}"


CHECKS = {"0": "check_similarity_loss", "1": "check_lca_similarity", "4": "check_knn_kl", "5": "check_ahp_at_k"}


def test_the_checker_exercises_keep_their_names_and_lectures():
    from semhash_lib import exercises
    lectures = dict(_lectures())
    for lecture, check in CHECKS.items():
        assert callable(getattr(exercises, check))
        assert check in lectures[lecture].split("*Implement.*")[1].split("*Derive.*")[0], (lecture, check)


def test_the_reading_list_cites_every_baseline_the_library_implements():
    """Each baseline of semhash_lib.methods (its description names the paper) is in the reading list, and
    the primary sources of the brief are cited with their venue."""
    from semhash_lib.methods import METHODS
    text = " ".join(COURSE.split())
    reading = text.split("## Reading list")[1]
    baselines = {"dsh": "Liu, H., Wang, R., Shan, S. & Chen, X. (2016)", "dpsh": "Li, W.-J., Wang, S. & Kang, W.-C. (2016)",
                 "hashnet": "Cao, Z., Long, M., Wang, J. & Yu, P. S. (2017)",
                 "greedyhash": "Su, S., Zhang, C., Han, K. & Tian, Y. (2018)", "csq": "Yuan, L., Wang, T., Zhang, X."}
    implemented = {m for m in METHODS if not m.startswith("semhash") and m != "classification"}
    assert implemented == set(baselines)
    for method, ref in baselines.items():
        assert ref in reading, method
        assert METHODS[method].description.split("(")[1].split()[0].rstrip(",") in ref, method
    for ref in ("Wang, Q., Kulkarni, S. R. & Verdú, S. (2009)", "IEEE Transactions on Information Theory",
                "Kozachenko, L. F. & Leonenko, N. N. (1987)", "Barz, B. & Denzler, J. (2019)", "WACV",
                "arXiv:2005.04917"):
        assert ref in reading, ref


# -- the instructor section, the mini-project and the routes --------------------------------------------------

def test_the_student_pages_hold_no_solution_and_the_instructor_pages_answer_every_lecture():
    for page in ("course.md", "primer.md", "project.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        assert "def similarity_loss" not in text and "def knn_kl" not in text and "def ahp_at_k" not in text, page
    exercises = (DOCS / "instructor" / "exercises.md").read_text(encoding="utf-8")
    for name in ("def similarity_loss", "def lca_similarity", "def knn_kl", "def ahp_at_k"):
        assert name in exercises
    answers = (DOCS / "instructor" / "answers.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## Lecture (\w+)", answers, flags=re.MULTILINE)
    assert headings == ["P"] + [str(i) for i in range(10)]
    for lecture in [str(i) for i in range(10)] + ["P"]:
        assert f"**{lecture}." in exercises or f"**Lecture {lecture}.**" in exercises, f"derive answer of {lecture}"


def test_every_notebook_question_and_discuss_prompt_has_a_model_answer():
    """As many N answers as the notebook has numbered questions, as many D answers as Discuss prompts."""
    import nbformat
    answers = (DOCS / "instructor" / "answers.md").read_text(encoding="utf-8")
    sections = dict(zip(re.findall(r"^## Lecture (\w+)", answers, flags=re.MULTILINE),
                        re.split(r"^## Lecture \w+.*$", answers, flags=re.MULTILINE)[1:]))
    for nb in sorted((ROOT / "notebooks").glob("0[0-9]_*.ipynb")):
        cells = nbformat.read(nb, as_version=4).cells
        text = "\n".join(c.source for c in cells if c.cell_type == "markdown" and "**Questions.**" in c.source)
        n = len(re.findall(r"\((\d)\)", text.split("**Questions.**")[1]))
        answered = set(re.findall(r"\bN(\d)\b", sections[nb.name[1]]))
        assert answered == {str(i) for i in range(1, n + 1)}, (nb.name, n, answered)


def test_the_book_keeps_the_instructor_pages_apart():
    from semhash_lib import book
    docs = sorted((p for p in DOCS.glob("*.md")), key=book._docs_key)
    instructor = sorted(INSTRUCTOR, key=book._instructor_key)
    toc = book.table_of_contents([p.stem for p in docs], ["00_toy"], [p.stem for p in instructor])
    parts = {p["caption"]: [c["file"] for c in p["chapters"]] for p in toc["parts"]}
    assert list(parts) == ["Start here", "Course", "Notebooks", "Documentation", "For instructors"]
    assert parts["Course"] == ["docs/course", "docs/primer", "docs/project"]
    assert parts["For instructors"] == ["docs/solutions", "docs/instructor/answers", "docs/instructor/exercises",
                                       "docs/instructor/grading"]
    every = [f for files in parts.values() for f in files]
    assert len(every) == len(set(every)) and {f"docs/{p.stem}" for p in docs} <= set(every)
    assert not any("instructor" in f or f == "docs/solutions" for f in parts["Documentation"] + parts["Course"])
    for name in ("course", "primer", "project", "solutions"):
        assert name in book.DOCS_ORDER


def test_collect_copies_the_instructor_pages_and_writes_that_toc(tmp_path):
    import nbformat
    import yaml
    from semhash_lib.book import collect
    run = tmp_path / "run"
    run.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Toy")]), run / "00_toy.ipynb")
    source = collect(ROOT, run, tmp_path / "src")
    assert {p.name for p in (source / "docs" / "instructor").glob("*.md")} == {p.name for p in INSTRUCTOR}
    toc = yaml.safe_load((source / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert all((source / f"{f}.md").exists() or (source / f"{f}.ipynb").exists() for f in files), files
    assert toc["parts"][-1]["caption"] == "For instructors"
    assert "docs/course.md" in (source / "index.md").read_text()


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", [DOCS / "primer.md", DOCS / "project.md", DOCS / "solutions.md", *INSTRUCTOR],
                         ids=lambda p: p.relative_to(DOCS).as_posix())
def test_every_relative_link_of_the_course_points_to_a_file(page):
    text = page.read_text(encoding="utf-8")
    missing = [t for t in LINK.findall(text) if not t.startswith(("http://", "https://"))
               and not (page.parent / t).exists()]
    assert not missing, missing


def test_the_no_install_route_is_binder_from_environment_yml_and_the_book():
    text = " ".join(COURSE.split())
    assert "https://mybinder.org/v2/gh/OWNER/semhash/HEAD" in text and "environment.yml" in text
    assert "make book" in text
    assert "mybinder.org/badge" not in COURSE, "a badge image would be fetched by the offline book"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "mybinder.org/v2/gh/OWNER/semhash/HEAD" in readme and "mybinder.org/badge" not in readme


def test_the_mini_project_has_deliverables_budget_and_a_rubric_of_100_points():
    text = (DOCS / "project.md").read_text(encoding="utf-8")
    for heading in ("## Compute budget", "## Deliverables", "## Grading (100 points)"):
        assert heading in text
    rows = _rows(text, "criterion")
    assert sum(int(r[1]) for r in rows) == 100 and all(len(r) == 5 and all(r) for r in rows)
