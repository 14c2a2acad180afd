"""MPI helpers shared by the ``mpi`` variants and the command line; mpi4py is imported lazily.

A run started without ``mpiexec`` is a world of one rank, so every ``mpi`` variant also runs
(on one rank) in a notebook or a test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from haiend.debug import bounded

RANK_VARIABLES = ("PMI_", "OMPI_", "HYDRA_", "PMIX_")  # what a launcher hands its ranks


def world() -> Any:
    from mpi4py import MPI

    return MPI.COMM_WORLD


def launched_by_mpiexec() -> bool:
    """True when this process is one of several MPI ranks, judged without initialising MPI.

    MPICH's Hydra sets PMI_SIZE, Open MPI sets OMPI_COMM_WORLD_SIZE, Slurm's srun sets
    SLURM_STEP_NUM_TASKS (with PMIx, the other two may be absent); a world already initialised
    answers for itself.
    """
    for key in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS"):
        if int(os.environ.get(key) or 1) > 1:
            return True
    return "mpi4py.MPI" in sys.modules and world().Get_size() > 1


def rank() -> int:
    """This process's rank; under mpiexec MPI is initialised to ask (else every rank thinks it is 0)."""
    if "mpi4py.MPI" in sys.modules or launched_by_mpiexec():
        return world().Get_rank()
    return 0


def is_root() -> bool:
    return rank() == 0


def block_counts(n: int, parts: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``n`` items into ``parts`` contiguous blocks whose sizes differ by at most one.

    Returns (counts, displacements), the arrays Scatterv and Gatherv take; the first
    ``n % parts`` blocks get one item more.
    """
    counts = np.full(parts, n // parts, dtype=np.int64)
    counts[: n % parts] += 1
    displacements = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    return counts, displacements


def launch(
    program: str | os.PathLike[str],
    ranks: int,
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    mpiexec: str | None = None,
) -> subprocess.CompletedProcess | None:
    """Run ``program`` under ``mpiexec -n ranks`` with this Python: the one launcher.

    ``program`` is a module (``"haiend"``, run as ``python -m haiend *args``) or the path of a
    Python file (a ``Path``, or a name ending in ``.py``: a program a notebook wrote).

    Returns the finished process (output captured as text), or None when no mpiexec is found.
    The launcher gets this process's environment, plus ``env``, without the variables a launcher
    gives its ranks: a process that initialised MPI itself would otherwise hand them down, and
    the new ranks would take them for their own. ``subprocess.TimeoutExpired`` is raised after
    ``timeout`` seconds, when the whole job (mpiexec's session and every process below it) has been killed. ``mpiexec`` chooses the launcher (default: the one beside this Python's
    mpi4py, else the first on the PATH).
    """
    from haiend import machine

    mpiexec = mpiexec or machine.mpiexec_path()
    if mpiexec is None:
        return None
    is_file = isinstance(program, os.PathLike) or str(program).endswith(".py")
    target = [os.fspath(program)] if is_file else ["-m", str(program)]
    command = [mpiexec, "-n", str(ranks), sys.executable, *target, *args]
    clean = {key: value for key, value in os.environ.items() if not key.startswith(RANK_VARIABLES)}
    # A session of its own, so that a job past its time can be killed whole. MPICH's Hydra starts
    # its proxy and each rank in a session of their own, so the ranks are found below mpiexec in
    # /proc and killed by pid too: killing mpiexec alone would leave deadlocked ranks spinning.
    job = subprocess.Popen(
        command,
        env={**clean, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = job.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        ranks = bounded.descendants(job.pid)
        bounded.kill_group(job.pid)
        bounded.kill_all(ranks)
        job.communicate()
        raise
    return subprocess.CompletedProcess(command, job.returncode, stdout, stderr)
