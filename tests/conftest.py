"""Shared fixtures: no test writes to the user's results or cache folders."""

import json
import sys
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


@pytest.fixture(scope="session")
def local_slurm(tmp_path_factory):
    """A real one-node Slurm (haiend.localslurm) for the session; skipped, with why, where it cannot
    start. Stopped at the end, even after a failure, and the process table checked: nothing of it
    (daemons, job steps, jobs) may be left running."""
    from haiend import localslurm

    why = localslurm.unavailable()
    if why:
        pytest.skip(why)
    state = tmp_path_factory.mktemp("slurm")
    cluster = localslurm.start(state)
    try:
        yield cluster
    finally:
        cluster.stop()
        left = localslurm.leftovers(state)
        assert not left, f"still running after the local Slurm stopped: {left}"


@pytest.fixture
def slurm_profile(tmp_path):
    """Write a site profile for the local Slurm's node (one task of one CPU, this interpreter) and
    return its path: ``slurm_profile(results_dir, key=value, ...)``."""

    def write(results, **changes):
        from haiend import localslurm

        data = {
            "partition": localslurm.PARTITION,
            "account": "",
            "nodes": 1,
            "tasks_per_node": 1,
            "cpus_per_task": 1,
            "time": "00:05:00",
            "modules": [],
            "activate": f"export PATH={Path(sys.executable).parent}:$PATH",
            "launcher": "srun",
            "results_dir": str(results),
            "python": sys.executable,
            **changes,
        }
        path = tmp_path / "site.json"
        path.write_text(json.dumps(data))
        return path

    return write
