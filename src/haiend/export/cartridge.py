"""The built book as an IMS Common Cartridge 1.1 (``.imscc``), the course format Moodle restores.

Moodle's course restore takes Common Cartridge 1.0 and 1.1 only: it recognises one by the namespace
:data:`~haiend.export.ims_schemas.CC_NS` near the start of ``imsmanifest.xml`` and validates the
manifest against the CC 1.1 schemas. Its importer turns each top-level item into a course section,
an item without a resource into a label, a ``webcontent`` HTML page into a page (its images kept),
any other web content into a file, and a web link (``imswl_xmlv1p1``) into a URL.

The cartridge has one section for the book's root page and one per part of ``_toc.yml``. Each
section opens with its summary (a label with what the pages state of objectives, minutes and key
points, and the same as an HTML page), then for every page, in the book's order, the page itself
as web content (:func:`haiend.export.pages.offline_copy`: readable from the cartridge alone) and,
when the hosted book's address is given, a web link to it. A lab also brings its notebook file
and, when a JupyterHub is given, a web link that opens the notebook there through nbgitpuller
(:func:`haiend.workshop.links.launch_url`).

The files keep the places they have in the built book, under ``html/``; notebooks go under
``notebooks/``, web links under ``weblinks/``, summaries under ``summaries/``. The manifest and
every web link are validated against the shipped IMS schemas (and the manifest against the IMS
Schematron rules they carry) before anything is written, and the zip is written to a temporary
file and renamed (:mod:`haiend.export.moodle`, with :mod:`haiend.atomic`), so a failed export
leaves no file behind. No maintained Python package writes cartridges; lxml writes and checks the XML.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from haiend.errors import HaiendError
from haiend.export import ims_schemas, pages, summary
from haiend.export import toc as toc_module
from haiend.workshop.links import BadLink, launch_url

SITE = "html"
NOTEBOOKS = "notebooks"
WEBLINKS = "weblinks"
SUMMARIES = "summaries"
MANIFEST = "imsmanifest.xml"
WEBLINK_TYPE = "imswl_xmlv1p1"


@dataclass(frozen=True)
class Hub:
    """Where a lab opens: a JupyterHub, the repository it pulls and the branch."""

    url: str
    repo: str
    branch: str = "main"


@dataclass
class Package:
    """A package being assembled: its zip paths and where each one's bytes come from."""

    files: dict[str, bytes | Path] = field(default_factory=dict)

    def add(self, name: str, content: bytes | Path) -> str:
        self.files.setdefault(name, content)
        return name

    def write(self, out: Path, manifest: bytes) -> None:
        """The zip at ``out`` (an open temporary file's path): the manifest first, then the files."""
        # strict_timestamps=False: a file dated before 1980 (a reproducible build's) is stored as 1980.
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, strict_timestamps=False) as archive:
            archive.writestr(MANIFEST, manifest)
            for name in sorted(self.files):
                content = self.files[name]
                if isinstance(content, Path):
                    archive.write(content, name)
                else:
                    archive.writestr(name, content)


@dataclass
class Built:
    """A cartridge ready to write, and what it holds."""

    manifest: bytes
    package: Package
    sections: int = 0
    pages: int = 0
    labs: int = 0
    weblinks: int = 0


def check_base_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) address of a hosted book, else one sentence."""
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise HaiendError(f"the base URL {url!r} is not the http:// or https:// address of the hosted book.")
    return url if url.endswith("/") else url + "/"


def check_hub(hub: Hub | None) -> None:
    if hub is None:
        return
    try:
        launch_url(hub.url, hub.repo, "index.ipynb", branch=hub.branch)
    except BadLink as exc:
        raise HaiendError(str(exc).rstrip(".") + ".") from None


def check_book(html_dir: Path) -> None:
    if not (html_dir / "index.html").is_file():
        raise HaiendError(
            f"there is no built book in {html_dir} (no index.html); build it first with: jupyter-book build ."
        )


class Identifiers:
    """Unique XML ids (``xs:ID``: a letter first, then letters, digits, '_', '-', '.')."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, prefix: str, text: str) -> str:
        base = f"{prefix}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', text).strip('_')}"
        name, number = base, 1
        while name in self.used:
            number += 1
            name = f"{base}_{number}"
        self.used.add(name)
        return name


def build(
    source_dir: str | Path,
    html_dir: str | Path,
    *,
    base_url: str | None = None,
    hub: Hub | None = None,
) -> Built:
    """Assemble the cartridge of the book built from ``source_dir`` into ``html_dir``; nothing is written."""
    etree = ims_schemas.lxml_etree()
    source_dir, html_dir = Path(source_dir), Path(html_dir)
    base_url = check_base_url(base_url)
    check_hub(hub)
    check_book(html_dir)
    book = toc_module.read(source_dir / "_toc.yml", html_dir)
    documents = {page.html: pages.parse(html_dir / page.html) for page in book.pages()}
    course_title = pages.title_of(documents[book.root.html])
    assembler = _Assembler(etree, source_dir, html_dir, base_url, hub, {page.html for page in book.pages()})
    sections = [(course_title, [book.root])] + [(part.caption, list(part.pages)) for part in book.parts]
    for number, (caption, section_pages) in enumerate(sections):
        described = []
        for page in section_pages:
            found = pages.describe(documents[page.html])
            if page.title:  # the table of contents names the page otherwise
                found = pages.Description(page.title, found.facts, found.key_points, found.headings)
            described.append((page, found))
        assembler.section(number, caption, described)
    manifest = _manifest(
        etree, course_title, _first_paragraph(documents[book.root.html]), assembler.root, assembler.resources
    )
    _assert_valid(manifest, ims_schemas.MANIFEST_XSD, "the cartridge's manifest")
    assembler.built.manifest = _xml_bytes(etree, manifest)
    return assembler.built


class _Assembler:
    """Items, resources and files of a cartridge, added section by section."""

    def __init__(self, etree, source_dir: Path, html_dir: Path, base_url, hub, travelling: set[str]):
        self.etree, self.source_dir, self.html_dir = etree, source_dir, html_dir
        self.base_url, self.hub, self.travelling = base_url, hub, travelling
        self.cc = f"{{{ims_schemas.CC_NS}}}"
        self.ids = Identifiers()
        self.built = Built(b"", Package())
        self.root = etree.Element(self.cc + "item", identifier="root")
        self.resources = etree.Element(self.cc + "resources")

    def section(self, number: int, caption: str, described: list[tuple[toc_module.Page, pages.Description]]):
        """A course section: its summary (a label and a page), then each page with its links."""
        section = self._item(self.root, caption, None, f"section_{number}")
        self.built.sections += 1
        summary_path = f"{SUMMARIES}/section-{number:02d}.html"
        links = [(description, f"../{SITE}/{page.html}") for page, description in described]
        self.built.package.add(summary_path, summary.html_page(caption, links))
        self._item(section, summary.text(caption, [d for _, d in described]), None, f"summary_{number}")
        ref = self._resource("webcontent", self.ids("R", f"summary_{number}"), [summary_path], summary_path)
        self._item(section, f"{caption}: summary", ref, f"summary_page_{number}")
        for page, description in described:
            self._page(section, page, description.title)
            if page.is_lab:
                self._lab(section, page, description.title)

    def _page(self, section, page: toc_module.Page, title: str) -> None:
        copy = pages.offline_copy(self.html_dir, page.html, self.travelling, self.base_url)
        package = self.built.package
        page_path = package.add(f"{SITE}/{page.html}", copy.html)
        files = [page_path] + [package.add(f"{SITE}/{a}", self.html_dir / a) for a in sorted(copy.assets)]
        ref = self._resource("webcontent", self.ids("R", page.docname), files, page_path)
        self._item(section, title, ref, page.docname)
        self.built.pages += 1
        if self.base_url:
            url = pages.hosted(self.base_url, page.html)
            ref = self._weblink(f"{title} (online)", url, page.docname)
            self._item(section, f"{title} (online)", ref, f"{page.docname}_online")

    def _lab(self, section, page: toc_module.Page, title: str) -> None:
        """The lab's notebook file and, with a hub, the link that opens it there."""
        self.built.labs += 1
        notebook = toc_module.source_of(page, self.source_dir)
        if notebook is None or notebook.suffix != ".ipynb":
            raise HaiendError(
                f"the lab {page.docname} has no notebook {page.docname}.ipynb in {self.source_dir}."
            )
        _check_notebook(notebook)
        relative = notebook.relative_to(self.source_dir).as_posix()
        path = self.built.package.add(f"{NOTEBOOKS}/{relative}", notebook)
        ref = self._resource("webcontent", self.ids("R", f"{page.docname}_notebook"), [path], path)
        self._item(section, f"{title}: the notebook ({notebook.name})", ref, f"{page.docname}_ipynb")
        if self.hub is not None:
            url = launch_url(self.hub.url, self.hub.repo, relative, branch=self.hub.branch)
            name = f"{title}: open on the JupyterHub"
            self._item(section, name, self._weblink(name, url, f"{page.docname}_hub"), f"{page.docname}_hub")

    def _resource(self, kind: str, ident: str, files: list[str], href: str | None = None) -> str:
        element = self.etree.SubElement(self.resources, self.cc + "resource", identifier=ident, type=kind)
        if href is not None:
            element.set("href", href)
        for file in sorted(set(files), key=lambda n: (n != href, n)):  # the page first
            self.etree.SubElement(element, self.cc + "file", href=file)
        return ident

    def _item(self, parent, title: str, ref: str | None, name: str):
        element = self.etree.SubElement(parent, self.cc + "item", identifier=self.ids("I", name))
        if ref is not None:
            element.set("identifierref", ref)
        self.etree.SubElement(element, self.cc + "title").text = title
        return element

    def _weblink(self, title: str, url: str, name: str) -> str:
        """A web link's own XML file (checked against its IMS schema) and its resource."""
        etree, wl = self.etree, f"{{{ims_schemas.WEBLINK_NS}}}"
        link = etree.Element(wl + "webLink", nsmap={None: ims_schemas.WEBLINK_NS})
        link.set(f"{{{ims_schemas.XSI_NS}}}schemaLocation", ims_schemas.WEBLINK_LOCATION)
        etree.SubElement(link, wl + "title").text = title
        etree.SubElement(link, wl + "url", href=url, target="_blank")
        _assert_valid(link, ims_schemas.WEBLINK_XSD, f"the web link {title!r}")
        ident = self.ids("WL", name)
        path = self.built.package.add(f"{WEBLINKS}/{ident}.xml", _xml_bytes(etree, link))
        self.built.weblinks += 1
        return self._resource(WEBLINK_TYPE, ident, [path])


def _check_notebook(path: Path) -> None:
    """A lab's notebook must be one (JSON with ``cells`` and ``nbformat``) before it is packed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HaiendError(f"the lab notebook {path} cannot be read: {exc}.") from None
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise HaiendError(f"the lab notebook {path} is not a Jupyter notebook (no cells or nbformat).")


def _manifest(etree, title: str, description: str, root_item, resources):
    cc, lom = f"{{{ims_schemas.CC_NS}}}", f"{{{ims_schemas.LOM_MANIFEST_NS}}}"
    nsmap = {None: ims_schemas.CC_NS, "lomimscc": ims_schemas.LOM_MANIFEST_NS, "xsi": ims_schemas.XSI_NS}
    manifest = etree.Element(cc + "manifest", nsmap=nsmap, identifier="haiend_cartridge")
    manifest.set(f"{{{ims_schemas.XSI_NS}}}schemaLocation", ims_schemas.MANIFEST_LOCATIONS)
    metadata = etree.SubElement(manifest, cc + "metadata")
    etree.SubElement(metadata, cc + "schema").text = "IMS Common Cartridge"
    etree.SubElement(metadata, cc + "schemaversion").text = "1.1.0"
    general = etree.SubElement(etree.SubElement(metadata, lom + "lom"), lom + "general")
    etree.SubElement(etree.SubElement(general, lom + "title"), lom + "string", language="en").text = title
    if description:
        node = etree.SubElement(general, lom + "description")
        etree.SubElement(node, lom + "string", language="en").text = description
    organization = etree.SubElement(
        etree.SubElement(manifest, cc + "organizations"),
        cc + "organization",
        identifier="organization",
        structure="rooted-hierarchy",
    )
    organization.append(root_item)
    manifest.append(resources)
    return manifest


def _first_paragraph(document) -> str:
    for paragraph in pages.article_of(document).xpath(".//p"):
        text = " ".join(paragraph.text_content().split())
        if text:
            return text
    return ""


def _xml_bytes(etree, element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _assert_valid(element, schema: str, what: str) -> None:
    """Validate the bytes that will be written (serialised and read back), not the tree in memory."""
    etree = ims_schemas.lxml_etree()
    document = etree.fromstring(_xml_bytes(etree, element))
    found = ims_schemas.problems(document, schema)
    if not found and schema == ims_schemas.MANIFEST_XSD:
        found = ims_schemas.rule_problems(document)
    if found:
        raise HaiendError(
            f"{what} does not validate against the IMS CC 1.1 schema ({found[0]}); nothing was written."
        )
