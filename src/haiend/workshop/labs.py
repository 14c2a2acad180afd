"""The labs of a checkout, in the book's order, and the nbgitpuller link of each for a workshop's slides.

The labs are the notebooks under ``labs/`` that the book's table of contents (``_toc.yml``) names,
in its order, then any other ``labs/*.ipynb`` (a lab not yet in the book is still a lab).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from haiend.errors import HaiendError
from haiend.workshop.links import BadLink, launch_url

TOC = "_toc.yml"
LABS = "labs"


def _files(entries: Any) -> Iterator[str]:
    """Every ``file:`` of a jb-book table of contents, depth first, in order."""
    if isinstance(entries, dict):
        if isinstance(entries.get("file"), str):
            yield entries["file"]
        for key in ("parts", "chapters", "sections"):
            yield from _files(entries.get(key))
    elif isinstance(entries, list):
        for entry in entries:
            yield from _files(entry)


def lab_paths(root: str | Path = ".") -> list[str]:
    """The labs of the checkout at ``root``, as paths relative to it (``labs/stream.ipynb``)."""
    root = Path(root)
    toc = root / TOC
    if not toc.is_file():
        raise HaiendError(
            f"{root.resolve()} has no {TOC}: run this in the repository's folder or give --book."
        )
    try:
        contents = yaml.safe_load(toc.read_text(encoding="utf-8"))
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise HaiendError(f"{toc} cannot be read as YAML ({str(exc).splitlines()[0]}).") from None
    named = [f"{f}.ipynb" for f in _files(contents) if f.startswith(f"{LABS}/")]
    found = [p for p in named if (root / p).is_file()]
    others = sorted(
        str(p.relative_to(root))
        for p in (root / LABS).glob("*.ipynb")
        if str(p.relative_to(root)) not in found
    )
    labs = found + others
    if not labs:
        raise HaiendError(f"{root.resolve()} has no labs ({LABS}/*.ipynb).")
    return labs


def origin_url(root: str | Path = ".") -> str | None:
    """The checkout's ``origin`` remote, the repository a hub would pull; None when it has none."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def links(
    hub: str, repo: str | None = None, branch: str = "main", root: str | Path = "."
) -> list[tuple[str, str]]:
    """(lab, nbgitpuller link) for every lab; HaiendError in one sentence for a bad URL."""
    repo = repo or origin_url(root)
    if repo is None:
        raise HaiendError(
            "this checkout has no 'origin' remote: give the repository the hub pulls with --repo URL."
        )
    try:
        return [(lab, launch_url(hub, repo, lab, branch=branch)) for lab in lab_paths(root)]
    except BadLink as exc:
        raise HaiendError(str(exc)) from None
