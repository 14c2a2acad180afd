"""The ipyparallel notebook runs its MPI engines and leaves no controller or engine behind.

nbval (tests/test_notebooks.py) checks that the notebook runs; this test runs it again and then
scans the process table for ipcontroller/ipengine processes created after the run began.
"""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from haiend.machine import mpiexec_path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "parallel_ipyparallel.ipynb"
MISSING = [m for m in ("ipyparallel", "nbval", "psutil", "mpi4py") if importlib.util.find_spec(m) is None]


def ipp_processes(since: float) -> list[tuple[int, str]]:
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "create_time"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if proc.info["create_time"] >= since and any(
            name in cmd for name in ("ipyparallel.controller", "ipyparallel.engine", "ipcontroller", "ipengine")
        ):
            found.append((proc.info["pid"], cmd[:120]))
    return found


@pytest.mark.slow
@pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}: pip install ipyparallel nbval psutil mpi4py mpich")
@pytest.mark.skipif(mpiexec_path() is None, reason="no mpiexec beside this Python or on PATH: pip install mpi4py mpich")
def test_ipyparallel_notebook_leaves_no_process():
    started = time.time() - 1
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", "-q", str(NOTEBOOK)],
        cwd=ROOT, env={**os.environ, "HAIEND_SIZE": "quick"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    deadline = time.time() + 20
    while (left := ipp_processes(started)) and time.time() < deadline:
        time.sleep(0.5)
    assert not left, f"processes left running after the notebook: {left}"
