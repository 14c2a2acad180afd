"""What the tests share: runs in a fresh process, under mpiexec or the CUDA simulator."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from haiend import bench


def mpi_bench(kernel: str, ranks: int, *args: str) -> tuple[list[bench.Outcome], str]:
    """Rank 0's outcomes and the progress output of ``haiend bench KERNEL --variants mpi *args``
    under ``mpiexec -n ranks``, nothing saved; skips where MPI is missing, fails if the run does."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed: pip install mpi4py mpich")
    ran = bench.under_mpiexec(kernel, ranks, ["--variants", "mpi", "--no-roof", "--no-save", *args])
    if ran is None:
        pytest.skip("no mpiexec beside this Python or on the PATH: pip install mpich mpi4py")
    outcomes, progress = ran
    assert "WRONG" not in progress
    return outcomes, progress


def under_cuda_simulator(script: str, *args: str) -> str:
    """The last line ``script`` prints when run with Python (and ``args``) under Numba's CUDA simulator.

    NUMBA_ENABLE_CUDASIM is read when numba.cuda is first imported, hence a fresh process.
    """
    if importlib.util.find_spec("numba_cuda") is None:
        pytest.skip("numba-cuda is not installed: pip install numba-cuda (the simulator needs no GPU)")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]
