"""JupyterHub launch buttons (book/_ext/hub_launch.py) on a tiny book built with jupyter-book:
present on a notebook page with ``HAIEND_HUB_URL`` set, absent without it."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from haiend.workshop.links import launch_url

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
REPO = "https://github.com/hai-end/hai-end-labs"
HUB = "https://hub.example.ac.uk"
LINK = re.compile(r'href="([^"]*/hub/user-redirect/git-pull\?[^"]*)"')


def _tiny_book(folder: Path) -> Path:
    (folder / "labs").mkdir(parents=True)
    (folder / "_config.yml").write_text(
        "title: Tiny\n"
        "only_build_toc_files: true\n"
        "execute:\n  execute_notebooks: 'off'\n"
        "launch_buttons:\n  notebook_interface: jupyterlab\n  jupyterhub_url: ''\n  binderhub_url: ''\n"
        f"sphinx:\n  local_extensions:\n    hub_launch: {ROOT / 'book' / '_ext'}\n"
    )
    (folder / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: labs/lab\n")
    (folder / "intro.md").write_text("# Tiny\n\nA page without a notebook.\n")
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# A lab\n"]},
            {
                "cell_type": "code",
                "metadata": {},
                "source": ["1 + 1"],
                "outputs": [],
                "execution_count": None,
            },
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (folder / "labs" / "lab.ipynb").write_text(json.dumps(notebook))
    return folder


def _build(folder: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    shutil.rmtree(folder / "_build", ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAIEND_REPO") and k != "HAIEND_HUB_URL"}
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    return subprocess.run(
        [str(jupyter_book), "build", str(folder), "--warningiserror"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, **environment},
    )


def _links(page: Path) -> list[str]:
    return [html.unescape(m) for m in LINK.findall(page.read_text(encoding="utf-8"))]


def test_a_hub_url_at_build_time_puts_a_launch_button_on_notebook_pages(tmp_path: Path) -> None:
    book = _tiny_book(tmp_path / "book")
    built = _build(book, HAIEND_HUB_URL=HUB, HAIEND_REPO_URL=REPO)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    html_dir = book / "_build" / "html"
    (link,) = _links(html_dir / "labs" / "lab.html")
    assert _links(html_dir / "intro.html") == []  # a page without a notebook has nothing to launch
    expected = launch_url(HUB, REPO, "labs/lab.ipynb")
    assert link.split("?")[0] == expected.split("?")[0]
    assert parse_qs(urlsplit(link).query) == parse_qs(urlsplit(expected).query)

    built = _build(book)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert _links(html_dir / "labs" / "lab.html") == []


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"HAIEND_HUB_URL": "hub.example.ac.uk", "HAIEND_REPO_URL": REPO},
            "HAIEND_HUB_URL='hub.example.ac.uk' is not a URL",
        ),
        ({"HAIEND_HUB_URL": HUB}, "set HAIEND_REPO_URL"),
    ],
)
def test_a_bad_setting_stops_the_build_in_one_sentence(tmp_path: Path, environment, message: str) -> None:
    built = _build(_tiny_book(tmp_path / "book"), **environment)
    assert built.returncode != 0
    assert message in built.stdout + built.stderr
