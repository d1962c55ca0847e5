"""The HTML book (``semhash book``, docs/book.md) of a `test`-profile run, read in headless Chromium.

Two notebooks (00: formulas and figures, no data; 05: figures of trained runs) are executed with the `test`
profile, the book is built from that run folder, and Debian's Chromium, driven by Playwright (no browser
download), opens every page of it from a localhost server with every request recorded: each page loads,
every image has loaded, formulas are typeset by the local MathJax, no script fails, no request goes
anywhere but the book's own files, and the search page finds a word. A screenshot of the landing page is
kept in the test's folder; two pages are read from ``file://`` too. Marked slow: about 90 s on 2 busy cores,
60 of them executing the notebooks. Skips only where Chromium, Jupyter Book (the book extra) or Playwright
(the test extra) is absent.
"""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from semhash_lib.book import NoExecutedRun, build, collect, find_run
from semhash_lib.cli import main
from semhash_lib.reproduce import find_notebooks, run_notebooks

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: the word looked up on the search page (it is on the landing page and in the README)
SEARCH_WORD = "hashing"

#: every image of the page has loaded (``loading="lazy"`` ones are made eager first, so that none waits for
#: a scroll); resolves to the sources of those that did not
IMAGES_NOT_LOADED = """async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = "eager"; });
  await Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })));
  return imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);
}"""


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """The HTML folder of a book built from a `test`-profile run of notebooks 00 and 05."""
    pytest.importorskip("jupyter_book", reason='the book extra is not installed (pip install -e ".[book]")')
    tmp = tmp_path_factory.mktemp("book")
    run = tmp / "run"
    run_notebooks(find_notebooks(ROOT / "notebooks", ["00", "05"]), "test", run / "notebooks", run / "figures",
                  run, progress=False)
    source = collect(ROOT, find_run(ROOT, run), tmp / "src")
    build(source, tmp / "html")
    return tmp / "html"


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright (the test extra) is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is absent (Debian package chromium; scripts/install_system_packages.sh)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without a log line per request."""

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(book):
    """``http://127.0.0.1:<port>/``, serving the book's folder only."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(book)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.mark.slow
def test_every_page_reads_offline_in_chromium(browser, book, server, tmp_path):
    pages = sorted(p.relative_to(book).as_posix() for p in book.rglob("*.html")
                   if not p.relative_to(book).parts[0].startswith("_"))
    assert {"index.html", "README.html", "search.html", "notebooks/00_the_method_on_a_toy.html",
            "notebooks/05_hierarchical_precision.html", "docs/book.html"} <= set(pages)
    context = browser.new_context()
    requests, errors = [], []
    context.on("request", lambda r: requests.append(r.url))
    # a request that leaves the book is recorded (above) and refused, so the test never waits on a network
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server) else route.abort())
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    typeset = []
    for name in pages:
        response = page.goto(server + name, wait_until="load")
        assert response is not None and response.ok, f"{name}: {response and response.status}"
        assert page.title(), f"{name}: no title"
        assert page.evaluate(IMAGES_NOT_LOADED) == [], f"{name}: images not loaded"
        if page.locator(".math").count():
            page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
            typeset.append(name)
    assert "notebooks/00_the_method_on_a_toy.html" in typeset

    page.goto(server + "index.html", wait_until="load")
    page.screenshot(path=str(tmp_path / "landing.png"), full_page=True)
    assert "Read first" in page.inner_text("main")

    page.goto(f"{server}search.html?q={SEARCH_WORD}", wait_until="load")
    hits = page.locator("#search-results ul.search li")
    hits.first.wait_for(timeout=20_000)
    assert hits.count() >= 2, f"search for {SEARCH_WORD!r} found {hits.count()} page(s)"
    context.close()

    assert not errors, errors
    outside = sorted({u for u in requests if not u.startswith((server, "data:"))})
    assert not outside, f"requests that left the book's files: {outside}"
    assert (tmp_path / "landing.png").stat().st_size > 0


@pytest.mark.slow
def test_book_reads_from_disk(browser, book):
    """Opened as files (``file://``, what a reader does with ``build/book/html/index.html``): the landing page
    and notebook 00 load with their images and typeset formulas, and nothing else is requested."""
    context = browser.new_context()
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    for name in ["index.html", "notebooks/00_the_method_on_a_toy.html"]:
        page.goto((book / name).as_uri(), wait_until="load")
        assert page.evaluate(IMAGES_NOT_LOADED) == [], f"{name}: images not loaded"
    page.wait_for_selector("mjx-container", state="attached", timeout=20_000)
    context.close()
    assert requests and all(u.startswith(("file://", "data:")) for u in requests), requests


def test_the_latest_run_is_chosen(tmp_path):
    """Of the published run (results/notebooks) and the reproduce runs, the one written last."""
    published = tmp_path / "results" / "notebooks"
    reproduced = tmp_path / "results" / "reproduced" / "quick" / "notebooks"
    for folder, when in [(published, 1_000_000), (reproduced, 2_000_000)]:
        folder.mkdir(parents=True)
        (folder / "00_toy.ipynb").write_text("{}")
        os.utime(folder / "00_toy.ipynb", (when, when))
    assert find_run(tmp_path) == reproduced
    os.utime(published / "00_toy.ipynb", (3_000_000, 3_000_000))
    assert find_run(tmp_path) == published
    assert find_run(tmp_path, reproduced.parent) == reproduced


def test_no_run_is_one_line_naming_the_command(tmp_path, capsys):
    with pytest.raises(NoExecutedRun, match="make publish"):
        find_run(tmp_path)
    assert main(["book", "--run", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "semhash reproduce --profile quick" in err
