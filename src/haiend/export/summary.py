"""A part's summary for a course section: what its pages state of objectives, minutes and key points.

Only what the pages say is used (:mod:`haiend.export.pages` reads it from their "Overview" and
"Key points" boxes). A page that states none of them is summarised by the headings of its
sections, so the summary says what the page contains and invents nothing. Two forms: HTML (a page
of the cartridge) and plain text (the section's label, since a cartridge item's title is text).
"""

from __future__ import annotations

import html

from haiend.export.pages import Description


def page_lines(description: Description) -> list[str]:
    """The plain-text statements of one page, without its title."""
    lines = []
    if description.minutes:
        lines.append(f"Minutes: {_sentence(description.minutes)}")
    if description.objectives:
        lines.append("Objectives: " + " ".join(_sentence(o) for o in description.objectives))
    if description.key_points:
        lines.append("Key points: " + " ".join(_sentence(k) for k in description.key_points))
    if not lines:
        lines.append(_contents(description))
    return lines


def text(caption: str, descriptions: list[Description]) -> str:
    """The section's summary as plain text: one paragraph per page."""
    paragraphs = [f"{caption}: {len(descriptions)} page(s)."]
    for description in descriptions:
        paragraphs.append(f"{description.title}. " + " ".join(page_lines(description)))
    return "\n\n".join(paragraphs)


def html_page(caption: str, descriptions: list[tuple[Description, str]]) -> bytes:
    """The section's summary as an HTML page; ``descriptions`` pairs each page with its link."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(caption)}: summary</title></head><body>",
        f"<h1>{html.escape(caption)}</h1>",
        f"<p>{len(descriptions)} page(s). What each states of its objectives, minutes and key points:</p>",
    ]
    for description, href in descriptions:
        out.append(f'<h2><a href="{html.escape(href)}">{html.escape(description.title)}</a></h2>')
        if description.minutes:
            out.append(f"<p><strong>Minutes:</strong> {html.escape(description.minutes)}</p>")
        for label, items in (("Objectives", description.objectives), ("Key points", description.key_points)):
            if items:
                out.append(f"<p><strong>{label}</strong></p><ul>")
                out.extend(f"<li>{html.escape(item)}</li>" for item in items)
                out.append("</ul>")
        if not (description.minutes or description.objectives or description.key_points):
            out.append(f"<p>{html.escape(_contents(description))}</p>")
    out.append("</body></html>")
    return ("\n".join(out) + "\n").encode("utf-8")


def _contents(description: Description) -> str:
    if description.headings:
        return (
            "States no objectives, minutes or key points; its sections: "
            + "; ".join(description.headings)
            + "."
        )
    return "States no objectives, minutes or key points, and has no sections."


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?", "!")) else text + "."
