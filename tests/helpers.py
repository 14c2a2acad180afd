"""What the tests share: runs in a fresh process, under mpiexec or the CUDA simulator."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from haiend import bench
from haiend.records import Record


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


def triad_record(
    machine: dict,
    variant: str,
    median: float,
    *,
    seed: int,
    scatter: float = 0.02,
    count: int = 10,
    **changes,
) -> Record:
    """A record of the triad on ``machine`` (a fingerprint), its ``count`` times scattering by about
    ``scatter`` above ``median``; ``changes`` override any field (threads, ranks, roof, size ...)."""
    rng = np.random.default_rng(seed)
    n = 1 << 20
    values = dict(
        kernel="stream.triad",
        variant=variant,
        size=[n],
        dtype="float64",
        threads=1,
        ranks=1,
        times=(median * (1 + scatter * np.abs(rng.standard_normal(count)))).tolist(),
        warmup_times=[],
        cold_time=0.1,
        batch=1,
        clock="perf_counter",
        bytes_moved=24.0 * n,
        flops=2.0 * n,
        roof={},
        error=0.0,
        tolerance=1e-14,
        machine_id=machine["machine_id"],
        machine=machine,
        timestamp=f"2026-12-02T10:{seed // 60 % 60:02d}:{seed % 60:02d}.000000Z",
    )
    values.update(changes)
    if "n" in values:  # a size other than 2**20, with the bytes and flops that go with it
        n = values.pop("n")
        values.update(size=[n], bytes_moved=24.0 * n, flops=2.0 * n)
    return Record(**values)


def live_children() -> list[int]:
    """The pids of this test process's live (not zombie) children: what a test left running."""
    from haiend.debug import bounded

    return bounded.children(os.getpid())
