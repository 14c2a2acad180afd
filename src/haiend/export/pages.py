"""Built book pages read for export: what a page states about itself, and an offline copy of it.

:func:`describe` reads what a page of the book says about itself: its title, the "Overview"
admonition every chapter and lab opens with (objectives, questions, prerequisites, minutes), the
"Key points" admonition (or section) labs and demonstrations close with, and the headings of its sections,
which say what a page contains when it states nothing else.

:func:`offline_copy` makes a page readable without the hosted site: the article alone (the
site's navigation, which links every page, stays behind) under the page's own ``<head>``, and
every relative link checked. Links to pages that travel with the copy are kept as they are (the
files keep their places relative to each other), links to pages that do not point at the hosted
book when its address is known and are removed otherwise; the images, style sheets, scripts and
downloads a page uses are returned so that the caller packs them. lxml parses the HTML and
rewrites its links (``rewrite_links``); the ``url(...)`` references inside style sheets are found
with a regular expression, because neither lxml nor the standard library parses CSS files.
"""

from __future__ import annotations

import copy
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from haiend.errors import HaiendError

OVERVIEW_TITLE = "Overview"
KEY_POINTS_TITLE = "Key points"
#: Folders a page's scripts read from at run time, by paths no page or style sheet names:
#: MathJax 3 loads its input, output and font components relative to ``tex-mml-chtml.js``.
RUNTIME_FOLDERS = ("_static/mathjax/",)
#: Empty elements the book theme's scripts watch (sphinx-book-theme observes its scroll sentinel and
#: throws without it); they are kept in an offline copy so that its scripts run without errors.
THEME_HOOKS = ("sbt-scroll-pixel-helper",)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")
_ARTICLE = "//article[contains(concat(' ', normalize-space(@class), ' '), ' bd-article ')]"


@dataclass(frozen=True)
class Description:
    """What a page states about itself; empty where it states nothing."""

    title: str
    facts: dict[str, str | tuple[str, ...]] = field(default_factory=dict)  # from its "Overview"
    key_points: tuple[str, ...] = ()
    headings: tuple[str, ...] = ()

    @property
    def minutes(self) -> str | None:
        """The time the page states: "Minutes: ..." or "Teaching: ... Exercises: ..."."""
        if "Minutes" in self.facts:
            return str(self.facts["Minutes"])
        parts = [
            f"{name.lower()} {str(self.facts[name]).rstrip('.')}"
            for name in ("Teaching", "Exercises")
            if name in self.facts
        ]
        return ", ".join(parts) or None

    @property
    def objectives(self) -> tuple[str, ...]:
        found = self.facts.get("Objectives")
        if found is None:
            return ()
        return (found,) if isinstance(found, str) else found


def parse(path: str | Path):
    """The HTML document at ``path`` (lxml), or one sentence naming it."""
    import lxml.html
    from lxml import etree

    try:
        return lxml.html.parse(str(path)).getroot()
    except (OSError, etree.ParserError, ValueError) as exc:
        raise HaiendError(f"the built page {path} cannot be read: {exc}.") from None


def article_of(document):
    """The page's main text: Sphinx's ``<article class="bd-article">``, else the whole body."""
    found = document.xpath(_ARTICLE)
    if found:
        return found[0]
    body = document.find("body")
    return body if body is not None else document


def describe(document) -> Description:
    article = article_of(document)
    overview = _admonition(article, OVERVIEW_TITLE)
    points = _admonition(article, KEY_POINTS_TITLE)
    if points is None:  # a plain "Key points" section, as the demonstration notebooks end
        sections = [h.getparent() for h in article.xpath(".//section/h2") if _text(h) == KEY_POINTS_TITLE]
        points = sections[0] if sections else None
    headings = tuple(_text(h) for h in article.xpath(".//section/h2") if _text(h) != KEY_POINTS_TITLE)
    return Description(
        title=title_of(document),
        facts=_facts(overview) if overview is not None else {},
        key_points=_items(points) if points is not None else (),
        headings=headings,
    )


def title_of(document) -> str:
    """The page's first heading (without its anchor sign), else its ``<title>``."""
    headings = article_of(document).xpath(".//h1")
    if headings:
        return _text(headings[0])
    title = document.findtext(".//title") or ""
    return title.split(" \u2014 ")[0].strip() or "Untitled"


def _text(element) -> str:
    """Visible text with whitespace collapsed, leaving out heading anchors (``#``, ``¶``)."""
    element = copy.deepcopy(element)
    for anchor in element.xpath(".//a[contains(concat(' ', @class, ' '), ' headerlink ')]"):
        anchor.drop_tree()
    return " ".join(element.text_content().split())


def _admonition(article, title: str):
    for box in article.xpath(".//div[contains(concat(' ', normalize-space(@class), ' '), ' admonition ')]"):
        heading = box.xpath("./p[contains(concat(' ', @class, ' '), ' admonition-title ')]")
        if heading and _text(heading[0]).lower() == title.lower():
            return box
    return None


def _facts(box) -> dict[str, str | tuple[str, ...]]:
    """Labelled statements: ``**Objectives:** text`` or a bold label followed by a list."""
    facts: dict[str, str | tuple[str, ...]] = {}
    waiting: str | None = None  # a label whose list comes next
    for child in box:
        classes = child.get("class") or ""
        if "admonition-title" in classes:
            continue
        if child.tag in ("ul", "ol"):
            if waiting:
                facts[waiting] = _items(child)
                waiting = None
            continue
        if child.tag != "p":
            continue
        text = _text(child)
        labels = [" ".join(s.text_content().split()) for s in child.xpath("./strong")]
        cursor, found = 0, []
        for label in labels:
            start = text.find(label, cursor)
            if start < 0:
                continue
            found.append((label, start, start + len(label)))
            cursor = start + len(label)
        for number, (label, _start, end) in enumerate(found):
            stop = found[number + 1][1] if number + 1 < len(found) else len(text)
            value = text[end:stop].strip()
            name = label.rstrip(":").strip()
            if not name:
                continue
            if value:
                facts[name] = value
                waiting = None
            else:
                waiting = name
    return facts


def _items(box) -> tuple[str, ...]:
    items = box.xpath(".//li")
    if items:
        return tuple(_text(li) for li in items)
    paragraphs = box.xpath("./p[not(contains(@class, 'admonition-title'))]")
    return tuple(_text(p) for p in paragraphs if _text(p))


@dataclass
class OfflinePage:
    html: bytes
    assets: set[str]  # files of the built site the page uses, relative to it


def offline_copy(html_dir: str | Path, page: str, travelling: set[str], base_url: str | None) -> OfflinePage:
    """The article of ``page`` (relative to ``html_dir``) under its own head, links made offline.

    ``travelling``: the pages (relative paths) that are packed with it.
    """
    import lxml.html

    html_dir = Path(html_dir)
    document = parse(html_dir / page)
    article = copy.deepcopy(article_of(document))
    body = document.find("body")
    if body is not None and article is not body:
        for child in list(body):
            body.remove(child)
        for name in ("class", "data-spy", "data-offset"):
            body.attrib.pop(name, None)
        for hook in THEME_HOOKS:
            body.append(lxml.html.Element("div", {"class": hook}))
        container = lxml.html.Element("main", {"class": "bd-main", "id": "main-content"})
        wrapper = lxml.html.Element("div", {"class": "bd-content"})
        inner = lxml.html.Element("div", {"class": "bd-article-container"})
        inner.append(article)
        wrapper.append(inner)
        container.append(wrapper)
        body.append(container)
    assets: set[str] = set()

    def relink(link: str) -> str | None:
        return _relink(link, page, html_dir, travelling, base_url, assets)

    document.rewrite_links(relink, resolve_base_href=False)
    for script in document.xpath("//script[not(@src) and not(normalize-space())]"):
        script.drop_tree()  # a script whose file stayed behind
    for link in document.xpath("//link[not(@href)]"):
        link.drop_tree()
    html = lxml.html.tostring(document, doctype="<!DOCTYPE html>", encoding="utf-8", method="html")
    return OfflinePage(html, with_dependencies(html_dir, assets))


def _relink(
    link: str, page: str, html_dir: Path, travelling: set[str], base_url: str | None, assets: set[str]
) -> str | None:
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path:
        return link  # another site, mailto:, data:, or an anchor on this page
    target = posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(parts.path)))
    if target == ".." or target.startswith("../") or target.startswith("/"):
        return None  # outside the built book
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    if (html_dir / target).is_dir():  # a folder stands for its index page, which a zip does not serve
        target = posixpath.normpath(posixpath.join(target, "index.html"))
        if target in travelling:
            return posixpath.relpath(target, posixpath.dirname(page) or ".") + fragment
    if target.endswith(".html"):
        if target in travelling:
            return link
        return hosted(base_url, target) + fragment if base_url else None
    if (html_dir / target).is_file():
        assets.add(target)
        return link
    return hosted(base_url, target) + fragment if base_url else None


def hosted(base_url: str, target: str) -> str:
    """The address of ``target`` (relative to the built book) in the book hosted at ``base_url``."""
    return base_url.rstrip("/") + "/" + quote(target)


def with_dependencies(html_dir: str | Path, assets: set[str]) -> set[str]:
    """``assets`` with what their style sheets import or use, and the folders scripts read at run time."""
    html_dir = Path(html_dir)
    found, queue = set(assets), list(assets)
    while queue:
        asset = queue.pop()
        if not asset.endswith(".css"):
            continue
        try:
            text = (html_dir / asset).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise HaiendError(f"the style sheet {html_dir / asset} cannot be read: {exc.strerror}.") from None
        for match in _CSS_URL.finditer(text):
            reference = match.group(2) or match.group(4)
            parts = urlsplit(reference.strip())
            if parts.scheme or parts.netloc or not parts.path:
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(asset), unquote(parts.path)))
            if target not in found and not target.startswith("..") and (html_dir / target).is_file():
                found.add(target)
                queue.append(target)
    for folder in RUNTIME_FOLDERS:
        if any(asset.startswith(folder) for asset in found):
            found.update(
                path.relative_to(html_dir).as_posix()
                for path in (html_dir / folder).rglob("*")
                if path.is_file()
            )
    return found
