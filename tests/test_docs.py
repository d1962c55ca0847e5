"""The library cites the project's own account of the paper (docs/paper.md), never a file outside the
repository, and carries no tracker words; every section it cites exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "semhash_lib"
OUTSIDE = "shared/paper.md"
TRACKER = re.compile(r"\bissues? \d+", re.IGNORECASE)
CITATION = re.compile(r"docs/paper\.md`*\s*§\s*(\d+(?:\.\d+)?)")


def _text_files(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or "__pycache__" in p.parts:
            continue
        try:
            p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue                       # binary data (none today)
        out.append(p)
    return out


FILES = _text_files(LIBRARY)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_library_cites_docs_paper_and_no_tracker(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    outside = [f"{i}: {line.strip()}" for i, line in enumerate(lines, 1) if OUTSIDE in line]
    assert not outside, f"{path.name} cites a file outside the repository (use docs/paper.md): {outside}"
    tracker = [f"{i}: {line.strip()}" for i, line in enumerate(lines, 1) if TRACKER.search(line)]
    assert not tracker, f"{path.name} carries tracker words: {tracker}"


def test_readme_and_docs_link_docs_paper():
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        assert OUTSIDE not in path.read_text(encoding="utf-8"), path.name


def _sections() -> set[str]:
    text = (ROOT / "docs" / "paper.md").read_text(encoding="utf-8")
    return set(re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", text, flags=re.MULTILINE))


def test_every_cited_section_of_docs_paper_exists():
    sections = _sections()
    assert {"1", "4", "4.1", "4.2", "4.3", "4.4", "4.5", "5.1", "6", "7", "9"} <= sections
    cited = {(p.relative_to(ROOT).as_posix(), s) for p in FILES for s in CITATION.findall(p.read_text("utf-8"))}
    assert cited, "no docs/paper.md citation found in the library"
    missing = sorted((f, s) for f, s in cited if s not in sections)
    assert not missing, f"citations of sections docs/paper.md does not have: {missing}"


def test_docs_paper_names_the_paper_and_points_to_the_reconstruction():
    text = " ".join((ROOT / "docs" / "paper.md").read_text(encoding="utf-8").split())
    assert "2005.04917" in text and "Arponen" in text and "Bishop" in text
    assert "Learning to hash with semantic similarity metrics and empirical KL divergence" in text
    assert "(reconstruction.md)" in text and OUTSIDE not in text


def test_readme_is_a_short_front_door():
    """The README is at most 200 lines: what it is, the two commands, what we found, the notebooks, the map
    of docs/; the rest lives in docs/."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    for heading in ("## Two commands", "## What we found", "## Notebooks", "## Documentation"):
        assert heading in text


LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda p: p.name)
def test_every_relative_link_points_to_a_file(page):
    text = page.read_text(encoding="utf-8")
    missing = [t for t in LINK.findall(text) if not t.startswith(("http://", "https://", "mailto:"))
               and not (page.parent / t).exists()]
    assert not missing, f"{page.name}: links to missing files {missing}"


def test_results_page_is_what_the_published_tables_give():
    """docs/results.md is generated from results/*.csv and the timings files (scripts/results_page.py); a
    table changed without regenerating the page fails here."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "results_page.py"), "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
