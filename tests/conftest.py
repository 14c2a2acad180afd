"""Shared fixtures: no test writes to the user's results or cache folders."""

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Point $HAIEND_RESULTS_DIR and $HAIEND_CACHE_DIR at this test's own folders."""
    results, cache = tmp_path / "results", tmp_path / "cache"
    monkeypatch.setenv("HAIEND_RESULTS_DIR", str(results))
    monkeypatch.setenv("HAIEND_CACHE_DIR", str(cache))
    return results
