"""Wrong MPI calls, one per mode, to see what MPICH says or does about each.

    mpiexec -n P python -m haiend.debug.mpi_mistakes MODE

``bcast-vs-reduce``  rank 0 calls ``Bcast`` while the others call ``Reduce`` (a mismatched collective)
``root``             every rank calls ``Bcast`` but they disagree on the root
``counts``           ``Bcast`` where the root sends more elements than the others expect
``bad-rank``         ``Send`` to a rank that does not exist (argument checking)
``bad-root``         ``Bcast`` from a root that does not exist (argument checking)
``negative-count``   ``Send`` of a negative number of elements (argument checking)

Each rank catches ``MPI.Exception`` and prints ``rank R: ERROR_CLASS_NAME: text`` (the error
class from ``Get_error_class``, named after MPI's constants), so the job ends with the library's
own words; a mismatch MPI does not detect either completes (``rank R: completed``) or hangs.
"""

from __future__ import annotations

import sys

import numpy as np

MODES = ("bcast-vs-reduce", "root", "counts", "bad-rank", "bad-root", "negative-count")


def error_class_name(MPI, error_class: int) -> str:
    """The name of MPI's constant for ``error_class`` (MPI_ERR_RANK ...), found in mpi4py's module."""
    for name in dir(MPI):
        if name.startswith("ERR_") and getattr(MPI, name) == error_class:
            return "MPI_" + name
    return f"error class {error_class}"


def mistake(comm, MPI, mode: str) -> None:
    rank, size = comm.Get_rank(), comm.Get_size()
    data = np.arange(8, dtype=np.int64)
    if mode == "bcast-vs-reduce":
        if rank == 0:
            comm.Bcast(data, root=0)
        else:
            comm.Reduce(data, None, op=MPI.SUM, root=0)
    elif mode == "root":
        comm.Bcast(data, root=min(rank, 1))
    elif mode == "counts":
        comm.Bcast(data if rank == 0 else data[:4], root=0)
    elif mode == "bad-rank":
        if rank == 0:
            comm.Send(data, dest=size, tag=1)
    elif mode == "bad-root":
        comm.Bcast(data, root=size)
    elif mode == "negative-count":
        if rank == 0:
            comm.Send([data, -1, MPI.INT64_T], dest=1 % size, tag=1)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in MODES:
        print(f"usage: python -m haiend.debug.mpi_mistakes {'|'.join(MODES)}", file=sys.stderr)
        return 2
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    try:
        mistake(comm, MPI, argv[0])
    except MPI.Exception as error:
        print(f"rank {comm.Get_rank()}: {error_class_name(MPI, error.Get_error_class())}: {error}", flush=True)
        return 1
    except (ValueError, TypeError, OverflowError) as error:  # mpi4py's own checks, before MPI sees the call
        print(f"rank {comm.Get_rank()}: mpi4py {type(error).__name__}: {error}", flush=True)
        return 1
    print(f"rank {comm.Get_rank()}: completed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
