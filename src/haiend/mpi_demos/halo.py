"""Halo exchange of a row-decomposed 2D grid: blocking ``Sendrecv`` against non-blocking ``Isend``/``Irecv``.

    mpiexec -n P python -m haiend.mpi_demos.halo [--nx 4096] [--rows 512] [--steps 20] [--json]

Every rank holds ``rows`` interior rows of ``nx`` doubles plus a halo row above and below, as
``haiend.kernels.stencil2d.mpi_impl`` does. Each step exchanges halos and then sweeps the block
with the 5-point Jacobi update, in three ways:

* ``sendrecv``: two ``Sendrecv`` calls (up, then down), then the sweep: what ``mpi_impl`` does;
* ``nonblocking``: post ``Irecv`` into both halos and ``Isend`` of both edge rows, ``Waitall``,
  then the sweep (same order of work, fewer synchronisations);
* ``overlap``: post the same four requests, sweep the rows that need no halo (2 .. rows-1) while
  the messages travel, ``Waitall``, then sweep the two edge rows.

All three must give the same block; rank 0 checks its block of each against ``sendrecv``.
Output on rank 0 (``--json``): a list of ``{"method", "ranks", "nx", "rows", "steps",
"time_per_step_s", "exchange_bytes"}`` (best of three runs, slowest rank).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit

from haiend.mpi_demos import emit

METHODS = ("sendrecv", "nonblocking", "overlap")


@njit(cache=True)
def sweep_rows(src, dst, first, last):
    """dst[i, 1:-1] for rows first..last-1: the mean of the four neighbours in src."""
    nx = src.shape[1]
    for i in range(first, last):
        for j in range(1, nx - 1):
            dst[i, j] = 0.25 * (src[i - 1, j] + src[i + 1, j] + src[i, j - 1] + src[i, j + 1])


def run(nx: int, rows: int, steps: int, comm=None) -> list[dict]:
    from mpi4py import MPI

    comm = comm or MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    up = rank - 1 if rank > 0 else MPI.PROC_NULL
    down = rank + 1 if rank < size - 1 else MPI.PROC_NULL
    rng = np.random.default_rng(rank)
    start = rng.random((rows + 2, nx))

    def once(method: str):
        a, b = start.copy(), start.copy()
        for _ in range(steps):
            if method == "sendrecv":
                comm.Sendrecv(a[1], dest=up, recvbuf=a[rows + 1], source=down)
                comm.Sendrecv(a[rows], dest=down, recvbuf=a[0], source=up)
                sweep_rows(a, b, 1, rows + 1)
            else:
                requests = [
                    comm.Irecv(a[0], source=up, tag=1),
                    comm.Irecv(a[rows + 1], source=down, tag=2),
                    comm.Isend(a[1], dest=up, tag=2),
                    comm.Isend(a[rows], dest=down, tag=1),
                ]
                if method == "overlap":
                    sweep_rows(a, b, 2, rows)  # rows that need no halo, while messages travel
                    MPI.Request.Waitall(requests)
                    sweep_rows(a, b, 1, 2)
                    sweep_rows(a, b, rows, rows + 1)
                else:
                    MPI.Request.Waitall(requests)
                    sweep_rows(a, b, 1, rows + 1)
            a, b = b, a
        return a

    reference = once("sendrecv")  # also compiles sweep_rows
    out = []
    for method in METHODS:
        if not np.array_equal(once(method)[1:-1], reference[1:-1]):
            raise RuntimeError(f"{method} gave a different block from sendrecv on rank {rank}")
        best = float("inf")
        for _ in range(3):
            comm.Barrier()
            t0 = time.perf_counter()
            once(method)
            mine = (time.perf_counter() - t0) / steps
            best = min(best, comm.allreduce(mine, op=MPI.MAX))
        out.append(
            {
                "method": method,
                "ranks": size,
                "nx": nx,
                "rows": rows,
                "steps": steps,
                "time_per_step_s": best,
                "exchange_bytes": 2 * nx * 8,
            }
        )
    return out if rank == 0 else []


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m haiend.mpi_demos.halo", description=__doc__.split("\n")[0])
    p.add_argument("--nx", type=int, default=4096)
    p.add_argument("--rows", type=int, default=512, help="interior rows per rank")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.rows < 2 or args.nx < 3 or args.steps < 1:
        p.error("need --rows >= 2, --nx >= 3, --steps >= 1")
    rows = run(args.nx, args.rows, args.steps)
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_rank() == 0:
        emit(
            rows,
            args.json,
            (("method", "{method}"), ("ranks", "{ranks}"), ("s per step", "{time_per_step_s:.3e}")),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
