"""The IMS Common Cartridge 1.1 XML Schemas shipped with the package, and validation against them.

The schema files are IMS GLC's, copied unchanged with their notice (``haiend/schemas/imscc-1.1/``,
README there): ``cc11libxml2validator.xsd`` is the entry point Moodle's cartridge importer
validates a manifest against, and ``ccv1p1_imswl_v1p1.xsd`` defines a web link. lxml (libxml2)
does the validating; loading reads the local files only, never the network.

The content-packaging schema also carries IMS's Schematron rules (inside ``xs:appinfo``): a
resource's ``href`` must be one of its files, no file listed twice, no circular dependency, no
item under a learning object. XML Schema validation ignores them, so :func:`rule_problems` runs
them with lxml's ISO Schematron support. They are written in the pre-ISO dialect (``pattern``
has a ``name``), which lxml runs but its check of the Schematron itself rejects, so that check
is skipped.
"""

from __future__ import annotations

import functools
from importlib import resources

from haiend.errors import HaiendError

FOLDER = "imscc-1.1"
MANIFEST_XSD = "cc11libxml2validator.xsd"
WEBLINK_XSD = "ccv1p1_imswl_v1p1.xsd"
RULES_XSD = "ccv1p1_imscp_v1p2_v1p0.xsd"  # the schema that carries the Schematron rules
SVRL_NS = "http://purl.oclc.org/dsdl/svrl"
NOTICE = "README.md"

CC_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
LOM_MANIFEST_NS = "http://ltsc.ieee.org/xsd/imsccv1p1/LOM/manifest"
WEBLINK_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imswl_v1p1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
#: xsi:schemaLocation of a manifest: each namespace with the schema file IMS publishes for it.
MANIFEST_LOCATIONS = (
    f"{CC_NS} http://www.imsglobal.org/profile/cc/ccv1p1/ccv1p1_imscp_v1p2_v1p0.xsd "
    f"{LOM_MANIFEST_NS} http://www.imsglobal.org/profile/cc/ccv1p1/LOM/ccv1p1_lommanifest_v1p0.xsd"
)
WEBLINK_LOCATION = f"{WEBLINK_NS} http://www.imsglobal.org/profile/cc/ccv1p1/ccv1p1_imswl_v1p1.xsd"


def lxml_etree():
    """lxml's etree, or one sentence saying how to install it."""
    try:
        from lxml import etree
    except ImportError:
        raise HaiendError("exporting needs lxml: pip install 'haiend[export]' (or lxml).") from None
    return etree


def schema_dir():
    return resources.files("haiend") / "schemas" / FOLDER


@functools.cache
def schema(name: str):
    """The XML Schema ``name`` of the shipped folder, compiled by lxml."""
    etree = lxml_etree()
    path = schema_dir() / name
    with resources.as_file(path) as file:
        return etree.XMLSchema(etree.parse(str(file), etree.XMLParser(no_network=True)))


def problems(document, name: str) -> list[str]:
    """Why ``document`` (an lxml tree or element) breaks schema ``name``; empty if it does not."""
    checker = schema(name)
    if checker.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in checker.error_log]


@functools.cache
def _rules():
    from lxml import isoschematron

    etree = lxml_etree()
    with resources.as_file(schema_dir() / RULES_XSD) as file:
        document = etree.parse(str(file), etree.XMLParser(no_network=True))
    return isoschematron.Schematron(document, store_report=True, validate_schema=False)


def rule_problems(document) -> list[str]:
    """The IMS Schematron rules ``document`` breaks, each as IMS words it; empty if none."""
    rules = _rules()
    if rules.validate(document):
        return []
    failed = rules.validation_report.xpath("//svrl:failed-assert/svrl:text", namespaces={"svrl": SVRL_NS})
    return [" ".join(node.xpath("string()").split()) for node in failed] or ["a Schematron rule failed"]
