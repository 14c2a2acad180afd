"""The built book works in a real browser, offline.

The site is built once per test session (``built_site`` in conftest.py: ``jupyter-book build`` into
a temporary folder, every notebook executed at ``HAIEND_SIZE=quick``, warnings as errors), served on
127.0.0.1 and opened page by page in the system's Chromium, driven by Playwright:

* ``test_site_builds``: the build exits 0.
* ``test_page_in_browser``: for every page named in ``_toc.yml``, no console error and no uncaught
  script error, every ``<img>`` loaded, MathJax typeset every formula (no TeX errors), and no
  request left 127.0.0.1 (such requests are aborted and reported: the site must work offline).
* ``test_cartridge_pages_in_browser``: the same checks on the offline copies of a lab and a chapter
  in the Moodle cartridge (``haiend export moodle``), served from the unpacked cartridge.
* ``test_internal_links``: every link between the site's files resolves to a file of the build,
  and a ``#fragment`` to an element with that id (parsed from the HTML; needs no browser).

Playwright's own browser download does not work offline, so the system Chromium is used
(Debian: ``apt-get install chromium``); without it the browser test is skipped.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import shutil
import threading
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOCAL_HOST = "127.0.0.1"
PAGE_TIMEOUT_MS = 60_000
CHROMIUM_ARGS = [
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-sandbox",  # Chromium refuses to start as root without it
]
# Playwright's launch() already gives Chromium a fresh temporary --user-data-dir (and refuses one
# in args), so no profile is shared with, or left behind by, this test.


def toc_pages() -> list[str]:
    """Every page of _toc.yml (root, parts, chapters, sections), as paths without suffix."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read _toc.yml: pip install pyyaml")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages: list[str] = []

    def add(entry: str) -> None:
        path = Path(entry)
        if path.suffix in (".md", ".ipynb", ".rst"):
            path = path.with_suffix("")
        pages.append(path.as_posix())

    def walk(node) -> None:
        if isinstance(node, dict):
            if "file" in node:
                add(str(node["file"]))
            for key, value in node.items():
                if key != "file":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    add(str(toc["root"]))
    walk({key: value for key, value in toc.items() if key != "root"})
    return pages


PAGES = toc_pages()


# --- The build (the session fixture built_site is in conftest.py, shared with test_export_moodle) --


@pytest.fixture(scope="session")
def site_html(built_site: dict) -> Path:
    """The built HTML folder; the browser checks run even when the build only warned."""
    html = built_site["html"]
    if not (html / "index.html").is_file():
        pytest.fail(
            f"the build produced no HTML (exit status {built_site['returncode']}):\n{built_site['output']}"
        )
    return html


@pytest.mark.slow
def test_site_builds(built_site: dict) -> None:
    assert built_site["returncode"] == 0, (
        f"jupyter-book build -W --keep-going failed (exit status {built_site['returncode']}); "
        f"every warning is an error:\n{built_site['output']}"
    )


# --- Serving and the browser ------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class names it so
        pass


@contextlib.contextmanager
def _served(directory: Path):
    """``directory`` served on 127.0.0.1 at a free port, in a background thread, until the block ends."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://{LOCAL_HOST}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def site_url(site_html: Path):
    """The built site served on 127.0.0.1 at a free port, in a background thread."""
    with _served(site_html) as url:
        yield url


def _chromium() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


@pytest.fixture(scope="session")
def browser_context():
    """A Chromium context in which every request to a host other than 127.0.0.1 is recorded and aborted."""
    executable = _chromium()
    if executable is None:
        pytest.skip(
            "Chromium is not installed, so the built site is not checked in a browser "
            "(Debian: apt-get install chromium)."
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is needed: pip install playwright"
    )
    offsite: list[str] = []

    def guard(route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            offsite.append(url)
            route.abort()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context()
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.route("**/*", guard)
        try:
            yield context, offsite
        finally:
            context.close()
            browser.close()


# Waits for every image (lazy ones made eager), at most 20 s, then names those that did not load.
BROKEN_IMAGES_JS = """
async () => {
  const images = [...document.images];
  for (const img of images) img.loading = "eager";
  const settle = img => (img.complete ? Promise.resolve() : img.decode().catch(() => null));
  await Promise.race([
    Promise.all(images.map(settle)),
    new Promise(resolve => setTimeout(resolve, 20000)),
  ]);
  return images
    .filter(img => !(img.naturalWidth > 0))
    .map(img => img.currentSrc || img.getAttribute("src") || img.outerHTML.slice(0, 200));
}
"""

# Every formula Sphinx marked up (class "math"): how many, how many MathJax typeset, TeX errors.
MATH_JS = """
() => {
  const formulas = [...document.querySelectorAll(".math")];
  return {
    formulas: formulas.length,
    typeset: formulas.filter(el => el.querySelector("mjx-container")).length,
    containers: document.querySelectorAll("mjx-container").length,
    errors: [...document.querySelectorAll("mjx-merror")].map(el => el.textContent.slice(0, 200)),
  };
}
"""


# Tables in a lab's outputs: rows taller than a few lines of text, and tables whose last columns
# lie beyond the right edge of the page's article (hidden, or reached only by scrolling).
TABLES_JS = """
() => {
  const problems = [];
  const article = document.querySelector("article") || document.body;
  const right = article.getBoundingClientRect().right;
  for (const table of document.querySelectorAll(".cell_output table")) {
    const line = parseFloat(getComputedStyle(table).lineHeight) || 1.5 * parseFloat(getComputedStyle(table).fontSize);
    for (const row of table.rows) {
      const height = row.getBoundingClientRect().height;
      if (height > 3.5 * line) problems.push(`a row ${Math.round(height)} px tall: ${row.textContent.trim().slice(0, 80)}`);
    }
    const last = table.rows.length ? table.rows[0].cells[table.rows[0].cells.length - 1] : null;
    if (last && last.getBoundingClientRect().right > right + 1) {
      problems.push(`its last column ends ${Math.round(last.getBoundingClientRect().right - right)} px beyond the page: ${table.rows[0].textContent.trim().slice(0, 80)}`);
    }
  }
  return problems;
}
"""


def source_has_display_math(page_path: str) -> bool:
    """Whether a page's source has display math ($$ or a {math} directive or role) in its prose."""
    for suffix in (".md", ".ipynb", ".rst"):
        source = ROOT / f"{page_path}{suffix}"
        if source.is_file():
            break
    else:
        return False
    text = source.read_text(encoding="utf-8")
    if source.suffix == ".ipynb":
        cells = json.loads(text).get("cells", [])
        text = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown")
    return "$$" in text or "{math}" in text


@pytest.mark.slow
@pytest.mark.parametrize("page_path", PAGES)
def test_page_in_browser(page_path: str, browser_context, site_url: str) -> None:
    context, offsite = browser_context
    problems = _browser_problems(context, offsite, urljoin(site_url, f"{page_path}.html"), page_path)
    assert not problems, f"{page_path}.html:\n" + "\n".join(problems)


#: Pages of the Moodle cartridge opened in the browser: a lab with figures and tables of results,
#: and a chapter with formulas (the cartridge carries its own copy of each, made to read offline).
CARTRIDGE_PAGES = ("labs/matmul", "book/roofline/index")


@pytest.mark.slow
def test_cartridge_pages_in_browser(site_html: Path, browser_context, tmp_path: Path) -> None:
    from haiend import cli

    out = tmp_path / "haiend.imscc"
    assert cli.main(["export", "moodle", str(out), "--source", str(ROOT), "--book", str(site_html)]) == 0
    folder = tmp_path / "cartridge"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(folder)
    context, offsite = browser_context
    with _served(folder) as url:
        for page_path in CARTRIDGE_PAGES:
            page_url = urljoin(url, f"html/{page_path}.html")
            problems = _browser_problems(context, offsite, page_url, page_path, settle="load")
            assert not problems, f"the cartridge's {page_path}.html:\n" + "\n".join(problems)


def _browser_problems(
    context, offsite: list[str], url: str, page_path: str, settle: str = "networkidle"
) -> list[str]:
    """What is wrong with the page at ``url`` (built from ``page_path``) in the browser; empty if nothing.

    ``settle="networkidle"`` waits until nothing has been requested for half a second. A cartridge
    page is checked with ``settle="load"`` instead: once it has loaded and MathJax has typeset, it
    waits a fixed two seconds, and every request that failed or answered 400 or more is a problem
    (what an offline copy must not have). A networkidle wait on the unpacked cartridge once hung
    for 60 s in CI while the same pages went idle within 1.5 s here, so it is not relied on there.
    """
    offsite.clear()
    console_errors: list[str] = []
    page_errors: list[str] = []
    failed: list[str] = []
    page = context.new_page()
    page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
    page.on(
        "response",
        lambda response: response.status >= 400 and failed.append(f"{response.url}: HTTP {response.status}"),
    )
    page.on(
        "console", lambda msg: msg.type == "error" and console_errors.append(f"{msg.text} ({msg.location})")
    )
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        response = page.goto(url, wait_until="load")
        assert response is not None and response.ok, f"{url}: HTTP {response and response.status}"
        broken_images = page.evaluate(BROKEN_IMAGES_JS)
        # the labs' tables of results must fit the page (issue 11); chapters' own tables are not checked
        table_problems = page.evaluate(TABLES_JS) if page_path.startswith("labs/") else []
        math = page.evaluate(MATH_JS)
        if math["formulas"]:
            page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            math = page.evaluate(MATH_JS)
        if settle == "networkidle":
            page.wait_for_load_state("networkidle")
        else:
            page.wait_for_timeout(2000)
    finally:
        page.close()

    problems = []
    if offsite:
        problems.append(f"requests to hosts other than {LOCAL_HOST} (the site must work offline): {offsite}")
    if failed and settle != "networkidle":
        problems.append(f"requests that failed or were refused: {failed}")
    if console_errors:
        problems.append(f"console errors: {console_errors}")
    if page_errors:
        problems.append(f"script errors: {page_errors}")
    if broken_images:
        problems.append(f"images that did not load: {broken_images}")
    if source_has_display_math(page_path) and not math["formulas"]:
        problems.append("the source has display math but no formula is marked up for MathJax (class 'math')")
    if math["formulas"] and (math["typeset"] < math["formulas"] or not math["containers"]):
        problems.append(f"MathJax typeset {math['typeset']} of {math['formulas']} formulas")
    if math["errors"]:
        problems.append(f"TeX errors in formulas: {math['errors']}")
    if table_problems:
        problems.append(f"tables that do not fit the page: {table_problems}")
    return problems


# --- Internal links ---------------------------------------------------------------------------


class _PageParser(HTMLParser):
    """The hrefs of <a> elements and every id (and <a name>) on one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a":
            if values.get("name"):
                self.ids.add(values["name"])
            if values.get("href") is not None:
                self.hrefs.append(values["href"])


@functools.cache
def _parse(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return parser


@pytest.mark.slow
def test_internal_links(site_html: Path) -> None:
    base = "http://site.invalid/"  # a stand-in host: links that resolve elsewhere are external
    broken: list[str] = []
    checked: dict[str, str | None] = {}  # target -> the problem with it, or None
    for page_path in PAGES:
        page_file = site_html / f"{page_path}.html"
        assert page_file.is_file(), f"{page_path}.html was not built."
        page_url = urljoin(base, f"{page_path}.html")
        for href in _parse(page_file).hrefs:
            href = href.strip()
            if not href or href.startswith("#"):
                continue  # an anchor on this same page
            target = urlsplit(urljoin(page_url, href))
            if target.scheme not in ("http", "https") or target.netloc != "site.invalid":
                continue  # another host, mailto:, javascript:, data:
            key = f"{target.path}#{target.fragment}" if target.fragment else target.path
            if key not in checked:
                checked[key] = _link_problem(site_html, unquote(target.path), unquote(target.fragment))
            if checked[key]:
                broken.append(f"{page_path}.html: {href} -> {checked[key]}")
    assert checked, "no internal link found: did the pages build?"
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def _link_problem(site_html: Path, path: str, fragment: str) -> str | None:
    relative = path.lstrip("/")
    file = site_html / relative
    if relative == "" or path.endswith("/"):
        file = file / "index.html"
    if not file.is_file():
        return f"no file {file.relative_to(site_html)} in the build"
    if fragment and file.suffix == ".html" and fragment not in _parse(file).ids:
        return f"no element with id {fragment!r} in {file.relative_to(site_html)}"
    return None
