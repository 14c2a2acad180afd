"""``haiend export moodle``: the Common Cartridge 1.1 and the IMS content package of a built book.

Most tests use a small built book made here (a ``_toc.yml``, pages in the markup Sphinx writes, an
image, a style sheet with a font, MathJax's folder and a lab notebook); one exports the real book
built once per session (``built_site`` in conftest.py). The manifest is checked with lxml against
the IMS CC 1.1 schemas shipped in the package, independently of the exporter's own check.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from haiend import cli

etree = pytest.importorskip(
    "lxml.etree", reason="lxml is needed to export and check cartridges: pip install lxml"
)

SCHEMAS = Path(__file__).resolve().parents[1] / "src" / "haiend" / "schemas" / "imscc-1.1"
CC_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
WL_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imswl_v1p1"
NS = {"cc": CC_NS, "wl": WL_NS}

TOC = """\
format: jb-book
root: book/intro
parts:
  - caption: Measuring
    chapters:
      - file: book/measuring/index
        sections:
          - file: notebooks/clock
  - caption: Labs
    chapters:
      - file: labs/stream
"""

PAGE = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} &#8212; Tiny Book</title>
<link rel="stylesheet" type="text/css" href="{up}_static/theme.css?digest=1" />
<script src="{up}_static/mathjax/tex-mml-chtml.js"></script>
<script src="{up}_static/gone.js"></script>
<link rel="index" title="Index" href="{up}genindex.html" />
</head>
<body data-default-mode="auto">
<nav class="bd-sidebar"><a href="{up}book/intro.html">Intro</a><a href="{up}search.html">Search</a></nav>
<main><article class="bd-article">
<section id="top"><h1>{title}<a class="headerlink" href="#top" title="Link to this heading">#</a></h1>
{overview}
<p>Read <a href="{up}{link}">the next page</a>, the <a href="{up}genindex.html#A">index</a>, the
<a href="{up}">front page</a>, <a href="{up}book/measuring/">the chapter</a> and
<a href="https://example.org/x">elsewhere</a>.</p>
<img alt="a plot" src="{up}_images/plot.png" />
<section id="first"><h2>First things<a class="headerlink" href="#first">#</a></h2><p>Text.</p></section>
<section id="second"><h2>Second things<a class="headerlink" href="#second">#</a></h2><p>More.</p></section>
{key_points}
</section></article></main>
<footer><a href="{up}genindex.html">Index</a></footer>
</body></html>
"""

CHAPTER_OVERVIEW = """\
<div class="tip admonition"><p class="admonition-title">Overview</p>
<p><strong>Objectives:</strong> know what a timing contains; report its spread.</p>
<p><strong>Prerequisites:</strong> Python. <strong>Minutes:</strong> 10 for this page.</p></div>
"""

LAB_OVERVIEW = """\
<div class="note admonition"><p class="admonition-title">Overview</p>
<p><strong>Teaching:</strong> 25 min. <strong>Exercises:</strong> 20 min.</p>
<p><strong>Questions</strong></p><ul class="simple"><li><p>How fast is memory?</p></li></ul>
<p><strong>Objectives</strong></p>
<ul class="simple"><li><p>Derive the bytes of the triad.</p></li><li><p>Time it honestly.</p></li></ul></div>
"""

KEY_POINTS = """\
<section id="key-points"><h2>Key points<a class="headerlink" href="#key-points">#</a></h2>
<div class="tip admonition"><p class="admonition-title">Key points</p>
<ul class="simple"><li><p>Memory sets the speed of STREAM.</p></li></ul></div></section>
"""

KEY_POINTS_SECTION = """\
<section id="key-points"><h2>Key points<a class="headerlink" href="#key-points">#</a></h2>
<ul class="simple"><li><p>Memory sets the speed of STREAM.</p></li></ul></section>
"""

PAGES = {  # docname: (title, overview, key points, the page it links to)
    "book/intro": ("Tiny Book", "", "", "book/measuring/index.html"),
    "book/measuring/index": ("Measuring honestly", CHAPTER_OVERVIEW, "", "notebooks/clock.html"),
    "notebooks/clock": ("The clock", "", KEY_POINTS_SECTION, "labs/stream.html#top"),
    "labs/stream": ("Lab: STREAM", LAB_OVERVIEW, KEY_POINTS, "book/intro.html"),
}


def _notebook(title: str) -> str:
    cell = {"cell_type": "markdown", "metadata": {}, "source": [f"# {title}\n"]}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A small book's sources and its built HTML (in ``_build/html``), as Jupyter Book lays them out."""
    root = tmp_path / "book-src"
    html = root / "_build" / "html"
    (root / "_toc.yml").parent.mkdir(parents=True)
    (root / "_toc.yml").write_text(TOC)
    for docname, (title, overview, key_points, link) in PAGES.items():
        source = root / (
            f"{docname}.ipynb" if docname.split("/")[0] in ("labs", "notebooks") else f"{docname}.md"
        )
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(_notebook(title) if source.suffix == ".ipynb" else f"# {title}\n")
        page = html / f"{docname}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        up = "../" * docname.count("/")
        page.write_text(PAGE.format(title=title, overview=overview, key_points=key_points, link=link, up=up))
    files = {
        "index.html": '<meta http-equiv="Refresh" content="0; url=book/intro.html" />',
        "genindex.html": "<html><body>Index</body></html>",
        "search.html": "<html><body>Search</body></html>",
        "_static/theme.css": (
            "@import url('base.css');\n@font-face { src: url(fonts/f.woff2) format('woff2'); }\n"
        ),
        "_static/base.css": 'body { background: url("img/bg.png"); }\n',
        "_static/img/bg.png": "png",
        "_static/fonts/f.woff2": "woff2",
        "_static/unused.js": "// no page uses this",
        "_static/mathjax/tex-mml-chtml.js": "// MathJax",
        "_static/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff": "woff",
        "_images/plot.png": "png",
        ".buildinfo": "config: 0",
    }
    for name, text in files.items():
        (html / name).parent.mkdir(parents=True, exist_ok=True)
        (html / name).write_text(text)
    return root


def _export(book: Path, out: Path, *extra: str) -> None:
    assert cli.main(["export", "moodle", str(out), "--source", str(book), *extra]) == 0


def _manifest(archive: zipfile.ZipFile):
    return etree.fromstring(archive.read("imsmanifest.xml"))


def _schema(name: str):
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


@pytest.fixture
def cartridge(book: Path, tmp_path: Path) -> Path:
    out = tmp_path / "course.imscc"
    _export(book, out)
    return out


def test_the_manifest_validates_against_the_cc_1_1_schemas(cartridge: Path) -> None:
    with zipfile.ZipFile(cartridge) as archive:
        raw = archive.read("imsmanifest.xml")
        assert archive.namelist()[0] == "imsmanifest.xml"
    assert CC_NS.encode() in raw[:500]
    schema = _schema("cc11libxml2validator.xsd")
    assert schema.validate(etree.fromstring(raw)), schema.error_log


def test_a_broken_manifest_fails_the_same_check(cartridge: Path) -> None:
    with zipfile.ZipFile(cartridge) as archive:
        manifest = _manifest(archive)
    schema = _schema("cc11libxml2validator.xsd")
    resource = manifest.find(".//cc:resource", NS)
    resource.set("type", "a-type-cc-1.1-does-not-have")
    assert not schema.validate(manifest)
    manifest = etree.fromstring(etree.tostring(manifest).replace(b"1.1.0", b"1.3.0"))
    assert not schema.validate(manifest)


def test_the_manifest_keeps_the_ims_schematron_rules(cartridge: Path) -> None:
    from haiend.export import ims_schemas

    with zipfile.ZipFile(cartridge) as archive:
        manifest = _manifest(archive)
    assert ims_schemas.rule_problems(manifest) == []
    resource = manifest.find(".//cc:resource[@href]", NS)
    resource.set("href", "html/not-one-of-its-files.html")  # RULE 10b; the XML Schema allows it
    assert _schema("cc11libxml2validator.xsd").validate(manifest)
    assert any("RULE 10b" in problem for problem in ims_schemas.rule_problems(manifest))


def test_every_reference_resolves_to_a_file_in_the_zip(cartridge: Path) -> None:
    with zipfile.ZipFile(cartridge) as archive:
        names = set(archive.namelist())
        manifest = _manifest(archive)
        hrefs = manifest.xpath("//cc:resource/@href | //cc:file/@href", namespaces=NS)
        assert hrefs and set(hrefs) <= names
        resources = set(manifest.xpath("//cc:resource/@identifier", namespaces=NS))
        refs = manifest.xpath("//cc:item/@identifierref", namespaces=NS)
        assert set(refs) <= resources
        assert archive.testzip() is None
        # What a page uses travels with it; what no page uses stays behind.
        page = manifest.xpath("//cc:resource[@href='html/labs/stream.html']", namespaces=NS)[0]
        files = set(page.xpath("cc:file/@href", namespaces=NS))
    for needed in (
        "_images/plot.png",
        "_static/theme.css",
        "_static/base.css",
        "_static/img/bg.png",
        "_static/fonts/f.woff2",
        "_static/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
    ):
        assert f"html/{needed}" in files
    assert "html/_static/unused.js" not in names
    assert "html/genindex.html" not in names


def test_every_part_chapter_and_lab_of_the_toc_is_in_the_course(cartridge: Path) -> None:
    with zipfile.ZipFile(cartridge) as archive:
        manifest = _manifest(archive)
        names = set(archive.namelist())
    sections = manifest.xpath("//cc:organization/cc:item/cc:item", namespaces=NS)
    assert [s.findtext("cc:title", namespaces=NS) for s in sections] == ["Tiny Book", "Measuring", "Labs"]
    hrefs = set(manifest.xpath("//cc:resource/@href", namespaces=NS))
    for docname in PAGES:
        assert f"html/{docname}.html" in hrefs
    assert "notebooks/labs/stream.ipynb" in hrefs
    assert (
        json.loads(archive_read(names, "notebooks/labs/stream.ipynb", manifest, cartridge))["nbformat"] == 4
    )
    labs = sections[2].xpath("cc:item/cc:title/text()", namespaces=NS)
    assert "Lab: STREAM" in labs and "Lab: STREAM: the notebook (stream.ipynb)" in labs
    assert not manifest.xpath("//cc:resource[@type='imswl_xmlv1p1']", namespaces=NS)  # no URL, no hub given


def archive_read(names: set[str], name: str, manifest, cartridge: Path) -> bytes:
    assert name in names
    with zipfile.ZipFile(cartridge) as archive:
        return archive.read(name)


def test_pages_read_offline(cartridge: Path) -> None:
    import lxml.html

    with zipfile.ZipFile(cartridge) as archive:
        page = lxml.html.fromstring(archive.read("html/book/measuring/index.html"))
    assert not page.xpath("//nav") and not page.xpath("//footer")  # the site's navigation stays behind
    assert page.xpath("//article//h1")[0].text_content().startswith("Measuring honestly")
    links = [a.get("href") for a in page.xpath("//a") if a.get("href")]
    assert "../../notebooks/clock.html" in links  # a page that travels: kept
    assert "https://example.org/x" in links
    assert not any("genindex" in link for link in links)  # not in the cartridge, and no hosted book
    assert not any(link.endswith("/") for link in links)  # the front page ("../../") did not travel
    assert "index.html" in links  # "../../book/measuring/": a folder whose index page travels
    assert page.xpath("//img/@src") == ["../../_images/plot.png"]
    assert not page.xpath("//script[contains(@src, 'gone.js')]")


def test_with_a_base_url_pages_link_to_the_hosted_book(book: Path, tmp_path: Path) -> None:
    import lxml.html

    out = tmp_path / "c.imscc"
    _export(book, out, "--base-url", "https://haiend.example.ac.uk/book")
    with zipfile.ZipFile(out) as archive:
        manifest = _manifest(archive)
        page = lxml.html.fromstring(archive.read("html/book/measuring/index.html"))
        links = {}
        schema = _schema("ccv1p1_imswl_v1p1.xsd")
        for name in manifest.xpath("//cc:resource[@type='imswl_xmlv1p1']/cc:file/@href", namespaces=NS):
            weblink = etree.fromstring(archive.read(name))
            assert schema.validate(weblink), schema.error_log
            links[weblink.findtext("wl:title", namespaces=NS)] = weblink.find("wl:url", NS).get("href")
    assert links["Lab: STREAM (online)"] == "https://haiend.example.ac.uk/book/labs/stream.html"
    assert len(links) == len(PAGES)
    assert "https://haiend.example.ac.uk/book/genindex.html#A" in page.xpath("//a/@href")
    assert "https://haiend.example.ac.uk/book/index.html" in page.xpath("//a/@href")  # a folder: its index


def test_with_a_hub_each_lab_opens_there_through_nbgitpuller(book: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.imscc"
    _export(
        book,
        out,
        "--hub",
        "https://hub.example.ac.uk",
        "--repo",
        "https://git.example/o/labs",
        "--branch",
        "w1",
    )
    with zipfile.ZipFile(out) as archive:
        manifest = _manifest(archive)
        names = manifest.xpath("//cc:resource[@type='imswl_xmlv1p1']/cc:file/@href", namespaces=NS)
        assert len(names) == 1  # one lab
        url = etree.fromstring(archive.read(names[0])).find("wl:url", NS).get("href")
    parts = urlsplit(url)
    assert parts.netloc == "hub.example.ac.uk" and parts.path == "/hub/user-redirect/git-pull"
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "repo": "https://git.example/o/labs",
        "branch": "w1",
        "urlpath": "lab/tree/labs/labs/stream.ipynb",
    }


def test_each_section_summary_says_what_its_pages_state(cartridge: Path) -> None:
    with zipfile.ZipFile(cartridge) as archive:
        manifest = _manifest(archive)
        summary_html = archive.read("summaries/section-01.html").decode()
    sections = manifest.xpath("//cc:organization/cc:item/cc:item", namespaces=NS)
    label = {s.findtext("cc:title", namespaces=NS): s.find("cc:item", NS) for s in sections}
    assert label["Measuring"].get("identifierref") is None  # a label, not a resource
    measuring = label["Measuring"].findtext("cc:title", namespaces=NS)
    assert "Minutes: 10 for this page." in measuring
    assert "Objectives: know what a timing contains; report its spread." in measuring
    assert "Key points: Memory sets the speed of STREAM." in measuring  # the clock page's
    labs = label["Labs"].findtext("cc:title", namespaces=NS)
    assert "Minutes: teaching 25 min, exercises 20 min" in labs
    assert "Objectives: Derive the bytes of the triad. Time it honestly." in labs
    intro = label["Tiny Book"].findtext("cc:title", namespaces=NS)
    assert "its sections: First things; Second things." in intro  # states nothing else: its contents
    assert "<li>know what a timing contains; report its spread.</li>" in summary_html
    assert 'href="../html/notebooks/clock.html"' in summary_html


def test_the_content_package_holds_the_whole_book(book: Path, tmp_path: Path) -> None:
    from haiend.export import content_package

    out, package = tmp_path / "c.imscc", tmp_path / "book.zip"
    _export(book, out, "--content-package", str(package))
    assert content_package.check_zip(package) == []
    html = book / "_build" / "html"
    built = {p.relative_to(html).as_posix() for p in html.rglob("*") if p.is_file()} - {".buildinfo"}
    with zipfile.ZipFile(package) as archive:
        assert set(archive.namelist()) == built | {"imsmanifest.xml"}
        manifest = etree.fromstring(archive.read("imsmanifest.xml"))
    cp = {"cp": content_package.CP_NS}
    titles = manifest.xpath("//cp:organization/cp:item/cp:title/text()", namespaces=cp)
    assert titles == ["Tiny Book", "Measuring", "Labs"]
    assert manifest.xpath("//cp:item[@identifierref]", namespaces=cp).__len__() == len(PAGES)
    broken = etree.tostring(manifest).replace(b'href="labs/stream.html"', b'href="labs/gone.html"', 1)
    assert content_package.structure_problems(broken, built | {"imsmanifest.xml"})  # the check can fail


def test_the_toc_expands_globs_against_the_built_pages(tmp_path: Path) -> None:
    from haiend.export import toc

    html = tmp_path / "_build" / "html"
    for name in ("index", "intro", "machines", "machines/b", "machines/a", "labs/x"):
        (html / f"{name}.html").parent.mkdir(parents=True, exist_ok=True)
        (html / f"{name}.html").write_text("<html></html>")
    (tmp_path / "_toc.yml").write_text(
        "root: intro.md\nchapters:\n  - file: machines\n    sections:\n      - glob: machines/*\n"
        "  - file: labs/x.ipynb\n  - url: https://example.org\n"
    )
    book = toc.read(tmp_path / "_toc.yml", html)
    assert [p.docname for p in book.pages()] == ["intro", "machines", "machines/a", "machines/b", "labs/x"]
    assert [p.is_lab for p in book.parts[0].pages] == [False, False, False, True]


def _listing(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*")}


@pytest.mark.parametrize(
    ("case", "args"),
    [
        ("no built book", ["OUT", "--book", "{tmp}/nowhere"]),
        ("a page missing", ["OUT", "--remove", "_build/html/labs/stream.html"]),
        ("a corrupt lab notebook", ["OUT", "--corrupt", "labs/stream.ipynb"]),
        ("no table of contents", ["OUT", "--remove", "_toc.yml"]),
        ("a broken table of contents", ["OUT", "--corrupt", "_toc.yml"]),
        (
            "out is a folder",
            [
                "{tmp}",
            ],
        ),
        ("out under a file", ["{src}/_toc.yml/c.imscc"]),
        ("content package under a file", ["OUT", "--content-package", "{src}/_toc.yml/b.zip"]),
        ("bad base url", ["OUT", "--base-url", "haiend.example/book"]),
        ("bad hub", ["OUT", "--hub", "hub.example", "--repo", "https://g/r"]),
        ("hub without repo", ["OUT", "--hub", "https://hub.example"]),
    ],
)
def test_bad_input_is_one_sentence_exit_2_and_nothing_written(case, args, book, tmp_path, capsys) -> None:
    args = list(args)  # the parameter list is shared; edit a copy
    if "--remove" in args:
        (book / args.pop()).unlink()
        args.remove("--remove")
    if "--corrupt" in args:
        (book / args.pop()).write_text('{"cells": [')
        args.remove("--corrupt")
    args = [
        a.replace("OUT", str(tmp_path / "course.imscc"))
        .replace("{tmp}", str(tmp_path))
        .replace("{src}", str(book))
        for a in args
    ]
    before = _listing(tmp_path)
    assert cli.main(["export", "moodle", *args, "--source", str(book)]) == 2, case
    err = capsys.readouterr().err.strip()
    assert err.startswith("haiend: error: ") and "\n" not in err and "Traceback" not in err, err
    assert _listing(tmp_path) == before, case


def test_a_write_that_fails_half_way_leaves_neither_file(book, tmp_path, monkeypatch, capsys) -> None:
    import errno

    from haiend.export import cartridge

    real = cartridge.Package.write
    calls = []

    def fills_the_disk_the_second_time(self, out, manifest):
        calls.append(out)
        real(self, out, manifest)  # the temporary file is written in full...
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")  # ...then the disk is full

    monkeypatch.setattr(cartridge.Package, "write", fills_the_disk_the_second_time)
    before = _listing(tmp_path)
    out, package = tmp_path / "c.imscc", tmp_path / "book.zip"
    assert (
        cli.main(["export", "moodle", str(out), "--source", str(book), "--content-package", str(package)])
        == 2
    )
    assert "No space left on device" in capsys.readouterr().err
    assert len(calls) == 2 and all(call.parent == tmp_path for call in calls)  # both were under way
    assert _listing(tmp_path) == before


def test_an_invalid_manifest_is_never_written(book: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from haiend.export import cartridge

    real = cartridge._manifest

    def without_schema_version(*args):
        manifest = real(*args)
        version = manifest.find(f".//{{{CC_NS}}}schemaversion")
        version.getparent().remove(version)
        return manifest

    monkeypatch.setattr(cartridge, "_manifest", without_schema_version)
    before = _listing(tmp_path)
    assert cli.main(["export", "moodle", str(tmp_path / "c.imscc"), "--source", str(book)]) == 2
    assert "does not validate against the IMS CC 1.1 schema" in capsys.readouterr().err
    assert _listing(tmp_path) == before


@pytest.mark.slow
def test_the_real_book_exports_with_every_chapter_and_lab(built_site: dict, tmp_path: Path) -> None:
    import yaml

    html = built_site["html"]
    if not (html / "index.html").is_file():
        pytest.fail(
            f"the book did not build (exit status {built_site['returncode']}):\n{built_site['output']}"
        )
    root = Path(__file__).resolve().parents[1]
    out, package = tmp_path / "haiend.imscc", tmp_path / "haiend-book.zip"
    assert cli.main([
        "export", "moodle", str(out), "--source", str(root), "--book", str(html),
        "--base-url", "https://haiend.example.ac.uk/", "--content-package", str(package),
    ]) == 0  # fmt: skip
    from haiend.export import content_package

    assert content_package.check_zip(package) == []
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        raw = archive.read("imsmanifest.xml")
        names = set(archive.namelist())
    assert CC_NS.encode() in raw[:500]
    manifest = etree.fromstring(raw)
    schema = _schema("cc11libxml2validator.xsd")
    assert schema.validate(manifest), schema.error_log
    assert set(manifest.xpath("//cc:resource/@href | //cc:file/@href", namespaces=NS)) <= names
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    hrefs = set(manifest.xpath("//cc:resource/@href", namespaces=NS))

    def files(entries):
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            yield from files(entry.get("sections", []))

    for part in toc["parts"]:
        for name in files(part["chapters"]):
            assert f"html/{name}.html" in hrefs, name
            if name.startswith("labs/"):
                assert f"notebooks/{name}.ipynb" in hrefs, name
    captions = manifest.xpath("//cc:organization/cc:item/cc:item/cc:title/text()", namespaces=NS)
    assert captions[1:] == [part["caption"] for part in toc["parts"]]
