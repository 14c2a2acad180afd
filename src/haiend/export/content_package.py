"""The whole built book as an IMS content package (IMS CP 1.1.4), for Moodle's "IMS content package" activity.

``mod_imscp`` unpacks the zip and shows the manifest's default organisation as a table of contents
beside the page it opens. The package holds every file of the built book unchanged (so the site's
own navigation, search and mathematics work inside Moodle too) and a manifest whose organisation
follows ``_toc.yml``: the root page, then one item per part with its pages. Each page is a
``webcontent`` resource that depends on one resource listing every other file.

No XML Schema for IMS CP is shipped with the project, so :func:`structure_problems` checks what
``mod_imscp`` relies on (the namespace, a default organisation that exists, every reference
resolving, every file present); the manifest is checked so before anything is written.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from haiend.errors import HaiendError
from haiend.export import ims_schemas
from haiend.export import toc as toc_module
from haiend.export.cartridge import MANIFEST, Identifiers, Package, check_book
from haiend.export.pages import parse, title_of

CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
CP_LOCATION = f"{CP_NS} http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
SITE_RESOURCE = "R_site_files"


def build(source_dir: str | Path, html_dir: str | Path) -> tuple[bytes, Package]:
    """The manifest and files of the content package; nothing is written."""
    etree = ims_schemas.lxml_etree()
    source_dir, html_dir = Path(source_dir), Path(html_dir)
    check_book(html_dir)
    book = toc_module.read(source_dir / "_toc.yml", html_dir)
    package = Package()
    for path in sorted(html_dir.rglob("*")):
        relative = path.relative_to(html_dir)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            package.add(relative.as_posix(), path)
    cp = f"{{{CP_NS}}}"
    xsi = f"{{{ims_schemas.XSI_NS}}}"
    manifest = etree.Element(
        cp + "manifest", nsmap={None: CP_NS, "xsi": ims_schemas.XSI_NS}, identifier="haiend_book"
    )
    manifest.set(xsi + "schemaLocation", CP_LOCATION)
    metadata = etree.SubElement(manifest, cp + "metadata")
    etree.SubElement(metadata, cp + "schema").text = "IMS Content"
    etree.SubElement(metadata, cp + "schemaversion").text = "1.1.4"
    organizations = etree.SubElement(manifest, cp + "organizations", default="book")
    organization = etree.SubElement(
        organizations, cp + "organization", identifier="book", structure="hierarchical"
    )
    title = title_of(parse(html_dir / book.root.html))
    etree.SubElement(organization, cp + "title").text = title
    resources = etree.SubElement(manifest, cp + "resources")
    ids = Identifiers()
    page_resources: dict[str, str] = {}

    def page_item(parent, page: toc_module.Page) -> None:
        if page.html not in page_resources:
            ident = ids("R", page.docname)
            resource = etree.SubElement(
                resources, cp + "resource", identifier=ident, type="webcontent", href=page.html
            )
            etree.SubElement(resource, cp + "file", href=page.html)
            etree.SubElement(resource, cp + "dependency", identifierref=SITE_RESOURCE)
            page_resources[page.html] = ident
        element = etree.SubElement(parent, cp + "item", identifier=ids("I", page.docname))
        element.set("identifierref", page_resources[page.html])
        etree.SubElement(element, cp + "title").text = page.title or title_of(parse(html_dir / page.html))

    page_item(organization, book.root)
    for number, part in enumerate(book.parts, start=1):
        section = etree.SubElement(organization, cp + "item", identifier=ids("I", f"part_{number}"))
        etree.SubElement(section, cp + "title").text = part.caption
        for page in part.pages:
            page_item(section, page)
    shared = etree.SubElement(resources, cp + "resource", identifier=SITE_RESOURCE, type="webcontent")
    for name in sorted(set(package.files) - set(page_resources)):
        etree.SubElement(shared, cp + "file", href=name)
    data = etree.tostring(manifest, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    found = structure_problems(data, set(package.files))
    if found:
        raise HaiendError(
            f"the content package's manifest is not well formed ({found[0]}); nothing was written."
        )
    return data, package


def structure_problems(manifest: bytes, names: set[str]) -> list[str]:
    """What ``mod_imscp`` would trip over in ``manifest``, given the zip's file ``names``; empty if none."""
    etree = ims_schemas.lxml_etree()
    try:
        root = etree.fromstring(manifest)
    except etree.XMLSyntaxError as exc:
        return [f"the manifest is not XML: {exc}"]
    ns = {"cp": CP_NS}
    found = []
    if root.tag != f"{{{CP_NS}}}manifest":
        found.append(f"the root element is {root.tag}, not manifest in {CP_NS}")
        return found
    default = root.xpath("cp:organizations/@default", namespaces=ns)
    organizations = root.xpath("cp:organizations/cp:organization/@identifier", namespaces=ns)
    if not default or default[0] not in organizations:
        found.append("the default organization is missing or names no organization")
    ids = root.xpath("//@identifier")
    if len(ids) != len(set(ids)):
        found.append("two elements share an identifier")
    resources = set(root.xpath("cp:resources/cp:resource/@identifier", namespaces=ns))
    for ref in root.xpath("//cp:item/@identifierref | //cp:dependency/@identifierref", namespaces=ns):
        if ref not in resources:
            found.append(f"the reference {ref} names no resource")
    for href in root.xpath("cp:resources/cp:resource/@href | //cp:file/@href", namespaces=ns):
        if href not in names:
            found.append(f"the file {href} is not in the package")
    for item in root.xpath("//cp:item", namespaces=ns):
        if not (item.findtext(f"{{{CP_NS}}}title") or "").strip():
            found.append(f"the item {item.get('identifier')} has no title")
    return found


def check_zip(path: str | Path) -> list[str]:
    """:func:`structure_problems` of a written package, plus a damaged zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                return [f"{bad} is damaged in the zip"]
            return structure_problems(archive.read(MANIFEST), set(archive.namelist()))
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        return [f"{path} cannot be read as a content package: {exc}"]
