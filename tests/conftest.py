"""Shared fixtures: no test writes to the user's results or cache folders."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Point $HAIEND_RESULTS_DIR and $HAIEND_CACHE_DIR at this test's own folders."""
    results, cache = tmp_path / "results", tmp_path / "cache"
    monkeypatch.setenv("HAIEND_RESULTS_DIR", str(results))
    monkeypatch.setenv("HAIEND_CACHE_DIR", str(cache))
    return results


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory) -> Path:
    """One results folder for the session, so the ceilings are measured once and shared
    (by the notebooks of test_notebooks.py and the book built by test_site.py)."""
    return tmp_path_factory.mktemp("haiend-results")


MEASURED = pytest.StashKey[list]()


@pytest.fixture
def closing_note(request) -> list:
    """Lines a test adds to the end of the run's output: figures it measured, for the notes to quote."""
    return request.config.stash.setdefault(MEASURED, [])


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = config.stash.get(MEASURED, [])
    if lines:
        terminalreporter.section("figures measured by the tests")
        for line in lines:
            terminalreporter.write_line(line)
