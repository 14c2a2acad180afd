"""nbgitpuller launch links: one URL that clones (first visit) or merges (later visits) a repository
into the user's home on a JupyterHub and opens one notebook in it.

The link is ``HUB/hub/user-redirect/git-pull?repo=...&branch=...&urlpath=...`` with the query names
that nbgitpuller's ``SyncUIHandler`` reads (``repo``, ``branch``, ``targetpath``, ``urlpath``). The
folder it clones into is ``targetpath`` or, when that is not given, the last part of the repository
URL, which is why ``urlpath`` starts with that folder. Built here rather than taken from nbgitpuller
because nbgitpuller parses these links but ships no function that writes them.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlencode, urlsplit

INTERFACES = {"lab": "lab/tree", "notebook": "tree", "classic": "notebooks"}


class BadLink(ValueError):
    """A hub or repository URL that cannot make a launch link, said in one sentence."""


def _checked_url(url: str, what: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise BadLink(f"{what} {url!r} is not a URL ({' or '.join(s + '://' for s in schemes)}...).")
    return url


def clone_folder(repo_url: str, targetpath: str | None = None) -> str:
    """The folder nbgitpuller clones into: ``targetpath``, else the repository URL's last part."""
    return targetpath or repo_url.rstrip("/").split("/")[-1]


def launch_url(
    hub_url: str,
    repo_url: str,
    path: str,
    *,
    branch: str = "main",
    targetpath: str | None = None,
    interface: str = "lab",
) -> str:
    """The nbgitpuller link that pulls ``repo_url`` at ``branch`` and opens ``path`` (relative to the repository)."""
    hub = _checked_url(hub_url, "the hub URL", ("http", "https")).rstrip("/")
    repo = _checked_url(repo_url, "the repository URL", ("http", "https", "file", "git", "ssh"))
    if interface not in INTERFACES:
        raise BadLink(f"interface {interface!r} is not one of {', '.join(INTERFACES)}.")
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts:
        raise BadLink(f"notebook path {path!r} must be relative to the repository, without '..'.")
    query = {"repo": repo, "branch": branch}
    if targetpath:
        query["targetpath"] = targetpath
    query["urlpath"] = f"{INTERFACES[interface]}/{clone_folder(repo, targetpath)}/{relative}"
    return f"{hub}/hub/user-redirect/git-pull?{urlencode(query)}"
