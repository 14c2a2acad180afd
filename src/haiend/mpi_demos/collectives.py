"""Time a collective (Allreduce, Allgather, Bcast, Reduce) across all ranks, per message size.

    mpiexec -n P python -m haiend.mpi_demos.collectives [--op allreduce] [--min-bytes 8]
        [--max-bytes 8388608] [--per-octave 1] [--repeats N] [--pickle] [--json]

``bytes`` is each rank's contribution (float64 values, so a multiple of 8). For Allgather every
rank ends with ``P * bytes`` but already had its own ``bytes``: it *receives* ``(P - 1) * bytes``
(``received_bytes``), whatever the algorithm (ring, recursive doubling, Bruck), so its traffic
grows linearly with P. Each sample is the mean of ``repeats`` back-to-back calls, started
together after a barrier; the time reported is the best sample of the *slowest* rank (a
collective is done when its last rank is). With ``--pickle`` the lower-case methods
(``allreduce``, ``allgather``, ``bcast``, ``reduce``) move the same arrays as pickled objects,
the reduction then being NumPy's ``+`` run by mpi4py on unpickled arrays.

Output on rank 0 (``--json``): a list of ``{"op", "ranks", "bytes", "time_s", "path", "repeats"}``,
plus ``received_bytes`` for Allgather.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from haiend.mpi_demos import emit, powers_of_two

OPS = ("allreduce", "allgather", "bcast", "reduce")
SAMPLES = 3


def default_repeats(nbytes: int) -> int:
    return int(min(500, max(3, 2**22 // max(nbytes, 1))))


def _call(comm, op: str, pickle: bool):
    """A function doing one collective on this rank's ``send`` array (and ``recv`` for buffers)."""
    from mpi4py import MPI

    if op == "allreduce":
        return (
            (lambda s, r: comm.allreduce(s, op=MPI.SUM))
            if pickle
            else (lambda s, r: comm.Allreduce(s, r, op=MPI.SUM))
        )
    if op == "allgather":
        return (lambda s, r: comm.allgather(s)) if pickle else (lambda s, r: comm.Allgather(s, r))
    if op == "bcast":
        return (lambda s, r: comm.bcast(s, root=0)) if pickle else (lambda s, r: comm.Bcast(s, root=0))
    if op == "reduce":
        return (
            (lambda s, r: comm.reduce(s, op=MPI.SUM, root=0))
            if pickle
            else (lambda s, r: comm.Reduce(s, r, op=MPI.SUM, root=0))
        )
    raise ValueError(f"unknown collective {op!r}; choose from {', '.join(OPS)}")


def run(op: str, sizes, repeats: int | None = None, pickle: bool = False, comm=None) -> list[dict]:
    from mpi4py import MPI

    comm = comm or MPI.COMM_WORLD
    ranks = comm.Get_size()
    call = _call(comm, op, pickle)
    rows = []
    for nbytes in sizes:
        n = max(1, nbytes // 8)
        send = np.full(n, comm.Get_rank() + 1.0)
        recv = np.empty(n * ranks if op == "allgather" else n)
        reps = repeats or default_repeats(n * 8)
        out = call(send, recv)  # warm-up, and a check of the arithmetic
        if op == "allreduce":
            got = out if pickle else recv
            if not np.allclose(got, ranks * (ranks + 1) / 2):
                raise RuntimeError("Allreduce gave a wrong sum")
        best = float("inf")
        for _ in range(SAMPLES):
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(reps):
                call(send, recv)
            mine = (time.perf_counter() - t0) / reps
            best = min(best, comm.allreduce(mine, op=MPI.MAX))
        row = {
            "op": op,
            "ranks": ranks,
            "bytes": n * 8,
            "time_s": best,
            "path": "pickle" if pickle else "buffer",
            "repeats": reps,
        }
        if op == "allgather":
            row["received_bytes"] = (ranks - 1) * n * 8  # every contribution but its own
        rows.append(row)
    return rows if comm.Get_rank() == 0 else []


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m haiend.mpi_demos.collectives", description=__doc__.split("\n")[0]
    )
    p.add_argument("--op", choices=OPS, default="allreduce")
    p.add_argument("--min-bytes", type=int, default=8)
    p.add_argument("--max-bytes", type=int, default=8 * 2**20)
    p.add_argument("--per-octave", type=int, default=1)
    p.add_argument("--repeats", type=int)
    p.add_argument("--pickle", action="store_true", help="lower-case (pickled object) methods")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    sizes = powers_of_two(max(8, args.min_bytes), max(8, args.max_bytes), args.per_octave)
    rows = run(args.op, sizes, args.repeats, args.pickle)
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_rank() == 0:
        emit(
            rows,
            args.json,
            (
                ("op", "{op}"),
                ("ranks", "{ranks}"),
                ("bytes", "{bytes}"),
                ("time s", "{time_s:.3e}"),
                ("path", "{path}"),
            ),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
