"""Load imbalance made visible: each rank times its compute and its wait at a barrier.

    mpiexec -n P python -m haiend.mpi_demos.imbalance [--bodies 256] [--steps 5] [--balanced] [--json]

Rank r computes n-body accelerations (NumPy) for ``bodies * (r + 1)`` bodies, so its work grows
as (r + 1)^2: deliberately unequal. Each step, every rank times its compute with ``MPI.Wtime``,
then waits at ``Barrier`` and times that too, on the wall clock and on its own CPU-time clock
(MPICH polls while it waits, so a wait can burn a whole core). With ``--balanced`` every rank
gets the same number of bodies, chosen so that the total work (sum of n^2) is unchanged.
The per-step timings are gathered on rank 0.

Output on rank 0 (``--json``): a list of ``{"rank", "bodies", "compute_s", "wait_s",
"wait_cpu_s"}``, one per rank, each the mean over the steps.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np


def bodies_per_rank(bodies: int, ranks: int, balanced: bool) -> list[int]:
    unequal = [bodies * (r + 1) for r in range(ranks)]
    if not balanced:
        return unequal
    same = round(math.sqrt(sum(n * n for n in unequal) / ranks))  # same total work, n^2 each
    return [same] * ranks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--bodies", type=int, default=256, help="bodies on rank 0 (rank r gets (r+1) times as many)"
    )
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--balanced", action="store_true", help="the same total work, split evenly")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from mpi4py import MPI

    from haiend.kernels import nbody
    from haiend.kernels.nbody import numpy_impl

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    n = bodies_per_rank(args.bodies, size, args.balanced)[rank]
    inputs = nbody.float64.make_inputs((n,), seed=rank)
    out = nbody.float64.allocate_output(*inputs)
    numpy_impl.accelerations(*inputs, out)  # first call outside the timed steps
    comm.Barrier()

    steps = []
    for _ in range(args.steps):
        t0 = MPI.Wtime()
        numpy_impl.accelerations(*inputs, out)
        t1, c1 = MPI.Wtime(), time.process_time()
        comm.Barrier()  # everyone waits for the slowest rank
        t2, c2 = MPI.Wtime(), time.process_time()
        steps.append((t1 - t0, t2 - t1, c2 - c1))
    compute, wait, wait_cpu = np.mean(steps, axis=0)
    mine = {"rank": rank, "bodies": n, "compute_s": compute, "wait_s": wait, "wait_cpu_s": wait_cpu}
    rows = comm.gather(mine, root=0)
    if rank == 0:
        if args.json:
            print(json.dumps(rows), flush=True)
        else:
            print(f"{'rank':>4} {'bodies':>7} {'compute ms':>11} {'wait ms':>9} {'wait CPU ms':>12}")
            for r in rows:
                print(
                    f"{r['rank']:>4} {r['bodies']:>7} {1e3 * r['compute_s']:>11.2f} {1e3 * r['wait_s']:>9.2f}"
                    f" {1e3 * r['wait_cpu_s']:>12.2f}"
                )


if __name__ == "__main__":
    main()
