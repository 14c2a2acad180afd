"""The book's configuration keeps it buildable offline with warnings as errors (Jupyter Book 1.x)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read _config.yml: pip install pyyaml")


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final_config() -> dict:
    """The Sphinx configuration jupyter-book derives from _config.yml (its defaults included)."""
    if importlib.util.find_spec("jupyter_book") is None:
        pytest.skip("jupyter-book is not installed: pip install -e '.[book]'")
    from jupyter_book.config import get_final_config

    saved = list(sys.path)  # get_final_config adds local extension folders to sys.path
    try:
        sphinx_config, _ = get_final_config(
            user_yaml=ROOT / "_config.yml",
            cli_config={"latex_individualpages": False},
            sourcedir=ROOT,
            validate=True,
            raise_on_invalid=True,
        )
    finally:
        sys.path[:] = saved
    return sphinx_config


def test_only_files_in_the_toc_are_built(config) -> None:
    assert config["only_build_toc_files"] is True


def test_notebooks_are_executed_through_the_cache_and_errors_stop_the_build(config, final_config) -> None:
    assert config["execute"]["execute_notebooks"] == "cache"
    assert config["execute"]["allow_errors"] is False
    assert final_config["nb_execution_mode"] == "cache"
    assert final_config["nb_execution_raise_on_error"] is True


def test_no_intersphinx(config, final_config) -> None:
    """jupyter-book always loads sphinx.ext.intersphinx; with an empty mapping it fetches nothing."""
    assert "sphinx.ext.intersphinx" not in (config["sphinx"].get("extra_extensions") or [])
    assert config["sphinx"]["config"]["intersphinx_mapping"] == {}
    assert final_config["intersphinx_mapping"] == {}


def test_mathjax_is_served_locally(config, final_config) -> None:
    path = config["sphinx"]["config"]["mathjax_path"]
    assert final_config["mathjax_path"] == path
    assert "://" not in path and not path.startswith("/"), f"mathjax_path must be local, not {path!r}"


def test_the_mathjax_copy_is_installed(final_config) -> None:
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    try:
        import local_mathjax
    finally:
        sys.path.remove(str(ROOT / "book" / "_ext"))
    relative = Path(final_config["mathjax_path"]).relative_to(local_mathjax.TARGET)
    assert (local_mathjax.source_dir() / relative).is_file()


def test_each_extension_is_loaded_once(final_config) -> None:
    extensions = final_config["extensions"]
    assert len(extensions) == len(set(extensions)), extensions
    for name in ("sphinx_exercise", "sphinx_design", "sphinx_togglebutton", "local_mathjax"):
        assert name in extensions


def test_no_online_buttons(final_config) -> None:
    theme = final_config["html_theme_options"]
    launch = theme.get("launch_buttons", {})
    assert not launch.get("thebe")
    assert not any(value for key, value in launch.items() if key.endswith("_url")), launch
    for button in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
        assert not theme.get(button)


def test_jupyter_book_is_major_version_1() -> None:
    """2.x downloads its theme at build time and cannot build offline."""
    try:
        version = importlib.metadata.version("jupyter-book")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("jupyter-book is not installed: pip install -e '.[book]'")
    assert version.split(".")[0] == "1", version
