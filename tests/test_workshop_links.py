"""nbgitpuller launch links, read back the way nbgitpuller's own handler reads its query."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from haiend.workshop.links import BadLink, launch_url


def _query(url: str) -> dict[str, str]:
    """The arguments as tornado's ``get_argument`` (nbgitpuller's handlers) sees them: decoded, one each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, strict_parsing=True).items()}


def test_link_reads_back_as_nbgitpuller_parses_it() -> None:
    url = launch_url(
        "https://hub.example.ac.uk/", "https://github.com/o/labs", "labs/a&b c.ipynb", branch="w/1"
    )
    assert url.startswith("https://hub.example.ac.uk/hub/user-redirect/git-pull?")
    assert _query(url) == {
        "repo": "https://github.com/o/labs",
        "branch": "w/1",
        "urlpath": "lab/tree/labs/labs/a&b c.ipynb",
    }


def test_targetpath_names_the_folder() -> None:
    args = _query(
        launch_url("http://127.0.0.1:8000", "file:///srv/repo.git", "labs/stream.ipynb", targetpath="hai")
    )
    assert args["targetpath"] == "hai"
    assert args["urlpath"] == "lab/tree/hai/labs/stream.ipynb"


@pytest.mark.parametrize(
    ("hub", "repo", "path"),
    [
        ("hub.example", "https://g/r", "a.ipynb"),
        ("http://h", "not a url", "a.ipynb"),
        ("http://h", "https://g/r", "../a.ipynb"),
    ],
)
def test_bad_input_is_refused(hub: str, repo: str, path: str) -> None:
    with pytest.raises(BadLink):
        launch_url(hub, repo, path)
