"""Shared fixtures: no test writes to the user's results or cache folders; the book is built once."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = 3600  # the build executes every notebook


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
    (by the notebooks of test_notebooks.py and the book that built_site builds)."""
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


def _jupyter_book_command() -> list[str]:
    """jupyter-book from this interpreter's environment (it has no ``python -m`` entry point)."""
    beside = Path(sys.executable).with_name("jupyter-book")
    if beside.is_file():
        return [str(beside)]
    return [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; sys.exit(main())"]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, results_dir: Path, request) -> dict:
    """Build the book once: its exit status, the end of its output and the HTML folder."""
    pytest.importorskip(
        "jupyter_book", reason="jupyter-book is needed to build the site: pip install '.[book]'"
    )
    output = tmp_path_factory.mktemp("site")
    env = {
        **os.environ,
        "HAIEND_SIZE": "quick",
        "HAIEND_RESULTS_DIR": str(results_dir),
        "HAIEND_CACHE_DIR": str(tmp_path_factory.mktemp("site-cache")),
    }
    command = [
        *_jupyter_book_command(), "build", str(ROOT), "--path-output", str(output), "-W", "--keep-going",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the book did not build within {BUILD_TIMEOUT_S} s at HAIEND_SIZE=quick.")
    log = done.stdout + done.stderr
    executed = {
        line.split(": Executed notebook in ")[0].rsplit(str(ROOT) + "/", 1)[-1]: float(line.split(" in ")[1].split()[0])
        for line in log.splitlines()
        if ": Executed notebook in " in line
    }
    if executed:  # the budget: each lab under 2 minutes at the quick size, all notebooks under 15
        slowest = max(executed, key=executed.get)
        request.config.stash.setdefault(MEASURED, []).append(
            f"book build at HAIEND_SIZE=quick: {len(executed)} notebooks executed in {sum(executed.values()):.0f} s "
            f"of cell time, the slowest {slowest} in {executed[slowest]:.0f} s"
        )
    return {
        "returncode": done.returncode,
        "output": log[-8000:],
        "log": log,  # whole: tests/test_notebooks.py reads which notebooks it executed
        "html": output / "_build" / "html",
    }
