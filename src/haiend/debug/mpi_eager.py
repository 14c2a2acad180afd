"""The largest message MPI sends eagerly between two ranks here, found by bisection in one job.

    mpiexec -n 2 python -m haiend.debug.mpi_eager [--low 64] [--high 1048576] [--wait-ms 20]

A standard-mode ``Send`` may complete before the receiver has posted its ``Recv`` only when the
library copies the message into buffers of its own (the eager protocol); above the eager limit it
waits for the receiver (rendezvous). So rank 0 posts ``Isend`` of a size while rank 1 is not
receiving yet, and polls ``Test`` for a few milliseconds: done means eager. Then it tells rank 1
(a one-byte message, always eager) to receive, and bisects on the size. No run hangs: a size that
is not eager only waits until rank 1 receives it. Rank 0 prints ``eager_max=B rendezvous_min=B``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

CONTROL, DATA = 1, 2  # a control message holds 1 (receive the data now) or 0 (stop)


def goes_eagerly(comm, nbytes: int, wait_s: float) -> bool:
    """Rank 0's side: does an Isend of ``nbytes`` complete before rank 1 receives it?"""
    request = comm.Isend(np.ones(nbytes, dtype=np.uint8), dest=1, tag=DATA)
    start = time.perf_counter()
    done = False
    while time.perf_counter() - start < wait_s:
        if request.Test():
            done = True
            break
    comm.Send(np.array([1], dtype=np.uint8), dest=1, tag=CONTROL)
    request.Wait()
    return done


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m haiend.debug.mpi_eager")
    parser.add_argument("--low", type=int, default=64, help="a size known to go eagerly (bytes)")
    parser.add_argument("--high", type=int, default=1 << 20, help="a size known not to (bytes)")
    parser.add_argument("--wait-ms", type=float, default=20.0)
    args = parser.parse_args(argv)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    if comm.Get_size() != 2:
        print("mpi_eager needs exactly 2 ranks: mpiexec -n 2 python -m haiend.debug.mpi_eager", file=sys.stderr)
        return 2
    if comm.Get_rank() == 1:  # receive whatever comes, whenever rank 0 says so, until it says stop
        buffer = np.empty(args.high, dtype=np.uint8)
        flag = np.empty(1, dtype=np.uint8)
        while True:
            comm.Recv(flag, source=0, tag=CONTROL)
            if flag[0] == 0:
                return 0
            comm.Recv(buffer, source=0, tag=DATA)
    low, high = args.low, args.high
    if not goes_eagerly(comm, low, args.wait_ms / 1e3) or goes_eagerly(comm, high, args.wait_ms / 1e3):
        comm.Send(np.array([0], dtype=np.uint8), dest=1, tag=CONTROL)
        print(f"the eager limit is not between {low} and {high} bytes: widen --low/--high", file=sys.stderr)
        return 1
    while high - low > 1:
        middle = (low + high) // 2
        if goes_eagerly(comm, middle, args.wait_ms / 1e3):
            low = middle
        else:
            high = middle
    comm.Send(np.array([0], dtype=np.uint8), dest=1, tag=CONTROL)
    print(f"eager_max={low} rendezvous_min={high}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
