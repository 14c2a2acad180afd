"""JupyterHub launch buttons, switched on at build time by the environment.

With ``HAIEND_HUB_URL`` set (``https://hub.example.ac.uk``), every notebook page of the book (the
labs and the chapters' notebooks) gets sphinx-book-theme's JupyterHub launch button: an
nbgitpuller link that pulls the repository into the reader's home on that hub and opens the page's
notebook there. Without it, ``launch_buttons.jupyterhub_url`` stays as ``_config.yml`` has it
(empty: no button). The theme needs the repository the hub pulls: ``repository.url`` in
``_config.yml``, or ``HAIEND_REPO_URL`` (and ``HAIEND_REPO_BRANCH``, default main) here; a host
other than GitHub, GitLab or Bitbucket also needs ``HAIEND_REPO_PROVIDER`` (github, gitlab or
bitbucket: the URL layout it follows).

This runs at ``config-inited``, after Jupyter Book has turned ``_config.yml`` into Sphinx's
``html_theme_options`` and before the theme reads them. A bad URL stops the build with one
sentence.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from sphinx.errors import ConfigError

HUB = "HAIEND_HUB_URL"
REPO = "HAIEND_REPO_URL"
BRANCH = "HAIEND_REPO_BRANCH"
PROVIDER = "HAIEND_REPO_PROVIDER"
#: What Jupyter Book 1.x fills in when _config.yml names no repository: never the one a hub should pull.
JUPYTER_BOOK_DEFAULT = "https://github.com/executablebooks/jupyter-book"


def _url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"{name}={value!r} is not a URL ({' or '.join(s + '://' for s in schemes)}...).")
    return value.rstrip("/")


def configure(app, config) -> None:
    hub = os.environ.get(HUB, "").strip()
    if not hub:
        return
    options = dict(config.html_theme_options or {})
    buttons = dict(options.get("launch_buttons") or {})
    buttons["jupyterhub_url"] = _url(HUB, hub, ("http", "https"))
    buttons.setdefault("notebook_interface", "jupyterlab")
    if os.environ.get(REPO, "").strip():
        options["repository_url"] = _url(REPO, os.environ[REPO].strip(), ("http", "https"))
    # Jupyter Book's default branch is "master"; this repository's is main.
    options["repository_branch"] = os.environ.get(BRANCH, "").strip() or "main"
    if os.environ.get(PROVIDER, "").strip():
        options["repository_provider"] = os.environ[PROVIDER].strip()
    if options.get("repository_url", "").rstrip("/") in ("", JUPYTER_BOOK_DEFAULT):
        raise ConfigError(
            f"{HUB} is set but the book names no repository for the hub to pull: "
            f"set {REPO} (or repository.url in _config.yml)."
        )
    options["launch_buttons"] = buttons
    config.html_theme_options = options


def setup(app):
    app.connect("config-inited", configure)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
