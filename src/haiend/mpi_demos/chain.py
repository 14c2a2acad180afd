"""Every rank sends to its right neighbour, then receives from its left: when does that hang?

    mpiexec -n P python -m haiend.mpi_demos.chain [--bytes 33554432] [--periodic]
        [--method send-recv|sendrecv] [--json]

``send-recv`` is the naive exchange: a blocking ``Send`` to ``rank + 1``, then ``Recv`` from
``rank - 1``. Without ``--periodic`` the ends are ``MPI.PROC_NULL`` (the last rank sends to
nobody, the first receives from nobody), and the exchange completes, one link at a time: the last
rank's ``Send`` returns at once, its ``Recv`` lets rank P-2's ``Send`` finish, which lets P-2 post
its ``Recv`` for P-3, and so on down to rank 0. Per-rank completion times then grow from the last
rank to the first, by one message time per link, if the message is too large to be sent eagerly
(a small one is buffered, every ``Send`` returns at once, and there is no cascade to see). With
``--periodic`` the last rank sends to rank 0: every rank sits in ``Send`` waiting for a receive
that no rank will post, a deadlock, unless the library buffers the message (eager), in which
case the same code completes: it works by luck, for small messages only. ``sendrecv`` lets the
library pair each send with its receive; it completes in both topologies, all links at once.

Output on rank 0 (``--json``): a list, one row per rank, of ``{"rank", "send_s", "done_s",
"bytes", "periodic", "method", "ranks"}``: seconds after a common barrier when that rank's send
had returned (for ``sendrecv``, the whole call) and when it had finished. The program checks
what each rank received and stops with an error if it is wrong. A deadlocked run prints nothing;
run it with a timeout (``haiend.mpi_demos.launch(..., timeout=...)`` kills every rank).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from haiend.mpi_demos import emit

METHODS = ("send-recv", "sendrecv")


def neighbours(rank: int, size: int, periodic: bool, proc_null: int) -> tuple[int, int]:
    """(right, left): where this rank sends and whence it receives; ``proc_null`` past an open end."""
    if periodic:
        return (rank + 1) % size, (rank - 1) % size
    right = rank + 1 if rank + 1 < size else proc_null
    left = rank - 1 if rank > 0 else proc_null
    return right, left


def run(nbytes: int, periodic: bool, method: str, comm=None) -> list[dict]:
    """One exchange on every rank; rank 0 gets one row per rank (the others get [])."""
    from mpi4py import MPI

    comm = comm or MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    right, left = neighbours(rank, size, periodic, MPI.PROC_NULL)
    n = max(1, nbytes // 8)
    send = np.full(n, float(rank))  # pages touched before the clock starts
    recv = np.full(n, -1.0)
    comm.Barrier()
    t0 = time.perf_counter()
    if method == "send-recv":
        comm.Send(send, dest=right, tag=7)
        sent = time.perf_counter() - t0
        comm.Recv(recv, source=left, tag=7)
    elif method == "sendrecv":
        comm.Sendrecv(send, dest=right, sendtag=7, recvbuf=recv, source=left, recvtag=7)
        sent = time.perf_counter() - t0
    else:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    done = time.perf_counter() - t0
    expected = -1.0 if left == MPI.PROC_NULL else float(left)  # PROC_NULL leaves the buffer as it was
    if not np.all(recv == expected):
        raise RuntimeError(f"rank {rank} received the wrong data from {left}")
    row = {
        "rank": rank,
        "send_s": sent,
        "done_s": done,
        "bytes": n * 8,
        "periodic": periodic,
        "method": method,
        "ranks": size,
    }
    rows = comm.gather(row, root=0)
    return rows if rank == 0 else []


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m haiend.mpi_demos.chain", description=__doc__.split("\n")[0])
    p.add_argument("--bytes", type=int, default=32 * 2**20, help="message size (default 32 MiB)")
    p.add_argument("--periodic", action="store_true", help="close the chain into a ring")
    p.add_argument("--method", choices=METHODS, default="send-recv")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    rows = run(args.bytes, args.periodic, args.method)
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_rank() == 0:
        emit(rows, args.json, (("rank", "{rank}"), ("send s", "{send_s:.3e}"), ("done s", "{done_s:.3e}")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
