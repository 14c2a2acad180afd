"""Serve MathJax from the built site itself, so that the book's mathematics renders offline.

MathJax 3 comes from the PyPI package ``django-static-mathjax`` (a plain copy of MathJax's
``es5`` bundle under ``mathjax/static/mathjax/``; despite the name it needs no Django). Nothing
of MathJax is committed here: at the end of an HTML build the files the ``tex-mml-chtml``
component loads (the component itself, its input, CHTML output and fonts, and the accessibility
and menu modules it fetches on demand) are copied to ``_static/mathjax/``. ``mathjax_path`` in
``_config.yml`` is the relative path ``mathjax/tex-mml-chtml.js``, which Sphinx resolves under
``_static``. A missing package or an absolute ``mathjax_path`` stops the build with one sentence.
"""

from __future__ import annotations

import importlib.resources
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

PACKAGE = "django-static-mathjax"
TARGET = "mathjax"  # folder under the built site's _static
#: What tex-mml-chtml.js loads at run time, relative to MathJax's es5 folder.
NEEDED = ("tex-mml-chtml.js", "input", "output/chtml", "a11y", "ui", "sre", "adaptors")


def source_dir() -> Path:
    """The es5 folder of the installed MathJax copy."""
    try:
        root = importlib.resources.files("mathjax")
    except ModuleNotFoundError:
        root = None
    es5 = Path(str(root)) / "static" / "mathjax" / "es5" if root is not None else None
    if es5 is None or not (es5 / "tex-mml-chtml.js").is_file():
        raise ExtensionError(
            f"MathJax is not installed: pip install {PACKAGE} (the book serves MathJax itself, "
            "so that it renders offline)."
        )
    return es5


def check_config(app: Sphinx, config) -> None:
    path = str(config.mathjax_path)
    if "://" in path or path.startswith("/"):
        raise ExtensionError(f"mathjax_path must be relative to _static (served locally), not {path!r}.")
    if not path.startswith(TARGET + "/"):
        raise ExtensionError(f"mathjax_path must point into _static/{TARGET}/, not {path!r}.")
    source_dir()  # fail before reading any page, not after the whole build


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    es5 = source_dir()
    destination = Path(app.outdir) / "_static" / TARGET
    for name in NEEDED:
        source = es5 / name
        target = destination / name
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copy2(es5.parent / "LICENSE", destination / "LICENSE")


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", check_config)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
