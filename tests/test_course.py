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
