"""The book's table of contents (``_toc.yml``, Jupyter Book's ``jb-book`` format) as parts and pages.

Each page is a document the book built: its path without extension (as the table names it), the
HTML file Sphinx wrote for it, and whether it is a lab (a notebook under ``labs/``). Chapters and
their sections are listed in reading order, sections after their chapter, because a learning
platform's course has two levels (sections and activities) where the book has three. A ``glob``
entry is expanded against the built HTML, as Sphinx expands it against the sources it built
(sorted by name), so pages generated at build time are found too.

Read by hand because Jupyter Book's own reader (``sphinx_external_toc``) resolves entries against
the source tree only and is part of the optional book toolchain; the format is small and fixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from haiend.errors import HaiendError

LAB_FOLDER = "labs"
SOURCE_SUFFIXES = (".ipynb", ".md", ".rst", ".myst")


@dataclass(frozen=True)
class Page:
    """One built document: ``docname`` as ``_toc.yml`` names it (``labs/stream``)."""

    docname: str
    title: str | None = None  # a title the table of contents gives, else the page's own

    @property
    def html(self) -> str:
        """The built page, relative to the HTML folder."""
        return f"{self.docname}.html"

    @property
    def is_lab(self) -> bool:
        return PurePosixPath(self.docname).parts[0] == LAB_FOLDER


@dataclass(frozen=True)
class Part:
    caption: str
    pages: tuple[Page, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Toc:
    root: Page
    parts: tuple[Part, ...]

    def pages(self) -> list[Page]:
        """Every page: the root first, then each part's in order."""
        return [self.root, *(page for part in self.parts for page in part.pages)]


def read(toc_file: str | Path, html_dir: str | Path) -> Toc:
    """Parts and pages of ``toc_file``; every page must have been built into ``html_dir``."""
    import yaml

    toc_file, html_dir = Path(toc_file), Path(html_dir)
    try:
        data = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HaiendError(f"there is no table of contents at {toc_file}.") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise HaiendError(f"the table of contents {toc_file} cannot be read: {_first_line(exc)}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("root"), str):
        raise HaiendError(f"the table of contents {toc_file} has no 'root' page (jb-book format).")
    if "parts" in data:
        raw_parts = data["parts"]
    else:  # a book without parts: its chapters form one part
        raw_parts = [{"caption": "Chapters", "chapters": data.get("chapters", [])}]
    if not isinstance(raw_parts, list):
        raise HaiendError(f"'parts' in {toc_file} is not a list.")
    parts = []
    for number, raw in enumerate(raw_parts, start=1):
        if not isinstance(raw, dict):
            raise HaiendError(f"part {number} of {toc_file} is not a mapping with a caption and chapters.")
        pages: list[Page] = []
        _walk(raw.get("chapters", []), html_dir, pages, toc_file)
        parts.append(Part(str(raw.get("caption") or f"Part {number}"), tuple(pages)))
    toc = Toc(Page(_docname(data["root"])), tuple(parts))
    missing = [page.html for page in toc.pages() if not (html_dir / page.html).is_file()]
    if missing:
        raise HaiendError(
            f"{len(missing)} page(s) of {toc_file.name} are not in the built book {html_dir} "
            f"(first: {missing[0]}); build it first with: jupyter-book build ."
        )
    return toc


def _walk(entries, html_dir: Path, pages: list[Page], toc_file: Path) -> None:
    if not isinstance(entries, list):
        raise HaiendError(f"a list of chapters or sections in {toc_file} is not a list.")
    for entry in entries:
        if not isinstance(entry, dict):
            raise HaiendError(f"an entry of {toc_file} is not a mapping: {entry!r}.")
        if "file" in entry:
            pages.append(Page(_docname(entry["file"]), entry.get("title")))
        elif "glob" in entry:
            pattern = f"{_docname(entry['glob'])}.html"
            for path in sorted(html_dir.glob(pattern)):
                pages.append(Page(path.relative_to(html_dir).with_suffix("").as_posix()))
        elif "url" in entry:
            continue  # an external link, not a page of the book
        _walk(entry.get("sections", []), html_dir, pages, toc_file)


def _docname(name: str) -> str:
    path = PurePosixPath(str(name))
    return str(path.with_suffix("")) if path.suffix in SOURCE_SUFFIXES else str(path)


def source_of(page: Page, source_dir: str | Path) -> Path | None:
    """The source file of ``page`` under ``source_dir`` (a notebook or a Markdown file), if there is one."""
    for suffix in SOURCE_SUFFIXES:
        candidate = Path(source_dir) / f"{page.docname}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _first_line(exc: Exception) -> str:
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is not None and problem:  # a YAML error: what and where
        return f"{problem} at line {mark.line + 1}"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
