"""Seeded bug (d), the MPI program: Jacobi sweeps of a grid periodic in y, one block of rows per rank.

    mpiexec -n P python -m haiend.debug.seeded.ring [--nx NX] [--rows ROWS] [--steps S] [--exchange-from FILE]

The grid has ``P * ROWS`` rows of ``NX`` values; its top and bottom rows are neighbours (periodic
in y), its left and right columns are fixed. Each rank keeps a halo row above and below its
block; before each sweep ``exchange(comm, block, up, down)`` must fill them from the neighbours.
The one here sends first and receives second, with blocking ``Send``: every rank sends at once,
and a ``Send`` returns before it is received only while the message fits MPI's eager limit (a
few KiB to tens of KiB; MPICH's shared-memory limit here lies between the two sizes the lab
runs). Above it each ``Send`` waits for a receive that its neighbour, itself waiting in a
``Send``, never posts: a deadlock, and only for wide grids.

Rank 0 gathers the grid and compares it with a serial sweep, then prints one JSON line:
``{"ranks", "nx", "rows", "steps", "passed", "error"}``. ``--exchange-from`` takes the function
from a Python file instead (a learner's fix; it may use ``np`` and ``MPI``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from haiend.debug.seeded import carried

NX, ROWS, STEPS = 64, 16, 4


def exchange(comm, block, up, down):
    """Fill block[0] from the rank above and block[-1] from the rank below."""
    rows = block.shape[0] - 2
    comm.Send(block[rows], dest=down, tag=1)
    comm.Recv(block[0], source=up, tag=1)
    comm.Send(block[1], dest=up, tag=2)
    comm.Recv(block[rows + 1], source=down, tag=2)


def sweep(block, new):
    """new's interior rows from block's (halo rows included), the side columns kept."""
    new[1:-1, 1:-1] = 0.25 * (block[:-2, 1:-1] + block[2:, 1:-1] + block[1:-1, :-2] + block[1:-1, 2:])


def reference(grid: np.ndarray, steps: int) -> np.ndarray:
    """The same sweeps on the whole grid, periodic in y, in one process."""
    u = grid.copy()
    for _ in range(steps):
        new = u.copy()
        new[:, 1:-1] = 0.25 * (np.roll(u, 1, 0)[:, 1:-1] + np.roll(u, -1, 0)[:, 1:-1] + u[:, :-2] + u[:, 2:])
        u = new
    return u


def start_grid(ranks: int, rows: int, nx: int) -> np.ndarray:
    return np.random.default_rng(0).random((ranks * rows, nx))


def run(comm, nx: int, rows: int, steps: int, exchange_function=exchange) -> dict | None:
    rank, size = comm.Get_rank(), comm.Get_size()
    up, down = (rank - 1) % size, (rank + 1) % size
    grid = start_grid(size, rows, nx)
    block = np.zeros((rows + 2, nx))
    block[1:-1] = grid[rank * rows : (rank + 1) * rows]
    new = block.copy()
    for _ in range(steps):
        exchange_function(comm, block, up, down)
        sweep(block, new)
        block, new = new, block
    gathered = comm.gather(np.ascontiguousarray(block[1:-1]), root=0)
    if rank != 0:
        return None
    expected = reference(grid, steps)
    error = float(np.max(np.abs(np.concatenate(gathered) - expected)) / np.max(np.abs(expected)))
    return {"ranks": size, "nx": nx, "rows": rows, "steps": steps, "passed": error <= 1e-12, "error": error}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m haiend.debug.seeded.ring", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--nx", type=int, default=NX)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument(
        "--exchange-from", type=Path, help="a Python file defining exchange(comm, block, up, down)"
    )
    args = parser.parse_args(argv)
    if args.nx < 3 or args.rows < 1 or args.steps < 0:
        parser.error("give --nx of 3 or more, --rows of 1 or more and --steps of 0 or more.")
    try:
        chosen = carried.load(args.exchange_from, "exchange") if args.exchange_from else exchange
    except carried.NotCarried as exc:
        parser.error(str(exc))
    from mpi4py import MPI

    outcome = run(MPI.COMM_WORLD, args.nx, args.rows, args.steps, chosen)
    if outcome is not None:
        print(json.dumps(outcome), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
