"""JupyterHub launch buttons (book/_ext/hub_launch.py) on a tiny book built with jupyter-book:
present on a notebook page with ``HAIEND_HUB_URL`` set, absent without it."""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from sphinx.errors import ConfigError

from haiend.workshop.links import launch_url

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("hub_launch", ROOT / "book" / "_ext" / "hub_launch.py")
hub_launch = importlib.util.module_from_spec(_spec)  # a Sphinx extension of the book, not a package module
_spec.loader.exec_module(hub_launch)


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


@pytest.mark.slow
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


def _configured(monkeypatch, theme_options: dict, **environment: str) -> dict:
    """What the extension makes of ``theme_options`` (as Jupyter Book passes them) under ``environment``."""
    for name in (hub_launch.HUB, hub_launch.REPO, hub_launch.BRANCH, hub_launch.PROVIDER):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    config = SimpleNamespace(html_theme_options=theme_options)
    hub_launch.configure(None, config)
    return config.html_theme_options


def test_the_extension_fills_the_theme_options(monkeypatch) -> None:
    defaults = {"launch_buttons": {"jupyterhub_url": ""}, "repository_url": hub_launch.JUPYTER_BOOK_DEFAULT}
    assert _configured(monkeypatch, dict(defaults)) == defaults  # no hub: nothing changes
    options = _configured(monkeypatch, dict(defaults), HAIEND_HUB_URL=HUB + "/", HAIEND_REPO_URL=REPO)
    assert options["launch_buttons"]["jupyterhub_url"] == HUB
    assert options["repository_url"] == REPO and options["repository_branch"] == "main"
    options = _configured(
        monkeypatch,
        {"repository_url": "https://git.example.ac.uk/o/r"},
        HAIEND_HUB_URL=HUB,
        HAIEND_REPO_BRANCH="day-2",
        HAIEND_REPO_PROVIDER="gitlab",
    )
    assert options["repository_branch"] == "day-2" and options["repository_provider"] == "gitlab"


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"HAIEND_HUB_URL": "hub.example.ac.uk", "HAIEND_REPO_URL": REPO},
            "HAIEND_HUB_URL='hub.example.ac.uk' is not a URL",
        ),
        (
            {"HAIEND_HUB_URL": HUB, "HAIEND_REPO_URL": "github.com/o/r"},
            "HAIEND_REPO_URL='github.com/o/r' is not a URL",
        ),
        ({"HAIEND_HUB_URL": HUB}, "set HAIEND_REPO_URL"),
    ],
)
def test_a_bad_setting_stops_the_build_in_one_sentence(monkeypatch, environment, message: str) -> None:
    with pytest.raises(ConfigError) as stopped:
        _configured(monkeypatch, {"repository_url": hub_launch.JUPYTER_BOOK_DEFAULT}, **environment)
    assert message in str(stopped.value) and "\n" not in str(stopped.value)
