"""Write a student copy of a lab: every cell tagged ``solution`` left out, every output cleared.

    python -m haiend.student labs/stream.ipynb stream-student.ipynb

The lab itself keeps its solutions (tagged ``["solution", "hide-cell"]``, so the book shows them
folded and nbval runs them); the copy keeps the skeletons and check cells. A check cell raises
(:mod:`haiend.grading`) until the learner's answer is written and right, so the copy stops there.
Notebooks are read and written as plain JSON (nbformat 4), so this needs nothing beyond the
standard library. Bad input (a missing file, something that is not a notebook, an output path
equal to the input) gets one sentence on stderr and exit status 2, and nothing is written.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SOLUTION_TAG = "solution"
USAGE = "usage: python -m haiend.student LAB.ipynb OUT.ipynb"


class BadInput(Exception):
    """A problem with the arguments, stated in one sentence."""


def student_copy(notebook: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The notebook without solution cells and with outputs cleared; also how many cells were dropped."""
    kept, dropped = [], 0
    for cell in notebook["cells"]:
        if SOLUTION_TAG in (cell.get("metadata", {}).get("tags") or []):
            dropped += 1
            continue
        cell = dict(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        kept.append(cell)
    return {**notebook, "cells": kept}, dropped


def student_text(notebook: dict[str, Any]) -> tuple[str, int]:
    """The student copy as the file's text (nbformat's JSON layout), and how many cells were dropped."""
    copy, dropped = student_copy(notebook)
    return json.dumps(copy, indent=1, ensure_ascii=False) + "\n", dropped


def read_notebook(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path} cannot be read as text ({getattr(exc, 'strerror', None) or exc}).") from None
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError:
        raise BadInput(f"{path} is not a Jupyter notebook (it is not JSON).") from None
    if (
        not isinstance(notebook, dict)
        or not isinstance(notebook.get("cells"), list)
        or notebook.get("nbformat", 0) < 4
    ):
        raise BadInput(f"{path} is not a Jupyter notebook of format 4 (no list of cells).")
    if not all(isinstance(cell, dict) and "cell_type" in cell for cell in notebook["cells"]):
        raise BadInput(f"{path} is not a valid notebook: some cells have no cell_type.")
    return notebook


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(args) != 2 or any(a.startswith("-") for a in args):
            raise BadInput(f"give the lab and the copy to write ({USAGE}).")
        source, target = Path(args[0]), Path(args[1])
        notebook = read_notebook(source)
        if target.resolve() == source.resolve():
            raise BadInput(f"the copy would overwrite the lab itself: choose another name than {target}.")
        text, dropped = student_text(notebook)
        try:
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"{target} cannot be written ({exc.strerror or exc}).") from None
    except BadInput as exc:
        print(f"haiend.student: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {target}: {len(json.loads(text)['cells'])} cells, {dropped} solution cell(s) left out.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
