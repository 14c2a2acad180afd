"""MPI helpers shared by the ``mpi`` variants and the command line; mpi4py is imported lazily.

A run started without ``mpiexec`` is a world of one rank, so every ``mpi`` variant also runs
(on one rank) in a notebook or a test.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np


def world() -> Any:
    from mpi4py import MPI

    return MPI.COMM_WORLD


def launched_by_mpiexec() -> bool:
    """True when this process is one of several MPI ranks, judged without initialising MPI.

    MPICH's Hydra sets PMI_SIZE, Open MPI sets OMPI_COMM_WORLD_SIZE, Slurm's srun sets
    SLURM_STEP_NUM_TASKS (with PMIx, the other two may be absent); a world already initialised
    answers for itself.
    """
    import os

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
