"""Periodic neighbours swap a buffer: the MPI deadlock of the debuggers chapter, and its fixes.

    mpiexec -n P python -m haiend.debug.mpi_exchange blocking|sendrecv|nonblocking BYTES

Every rank sends BYTES bytes to its right neighbour ((rank + 1) % P) and receives as many from
its left one. ``blocking`` calls ``Send`` then ``Recv`` on every rank: a message small enough to
go eagerly (copied into the receiver's buffers before any ``Recv`` is posted) lets every ``Send``
return, but above MPI's eager limit ``Send`` waits for the matching ``Recv`` (rendezvous), which
every rank only posts after its own ``Send``: all wait for ever. ``sendrecv`` (``Sendrecv``) and
``nonblocking`` (``Irecv``, ``Isend``, ``Waitall``) let MPI progress both at once and finish.
Rank 0 prints ``exchanged BYTES bytes`` when every rank has checked what it received.
"""

from __future__ import annotations

import sys

import numpy as np

METHODS = ("blocking", "sendrecv", "nonblocking")


def exchange(comm, method: str, nbytes: int) -> np.ndarray:
    """Send this rank's buffer right, receive the left neighbour's; return what arrived."""
    rank, size = comm.Get_rank(), comm.Get_size()
    right, left = (rank + 1) % size, (rank - 1) % size
    mine = np.full(nbytes, rank % 256, dtype=np.uint8)
    theirs = np.empty(nbytes, dtype=np.uint8)
    if method == "blocking":
        comm.Send(mine, dest=right, tag=7)  # the deadlock: every rank is here, none receives
        comm.Recv(theirs, source=left, tag=7)
    elif method == "sendrecv":
        comm.Sendrecv(mine, dest=right, sendtag=7, recvbuf=theirs, source=left, recvtag=7)
    else:
        from mpi4py import MPI

        requests = [comm.Irecv(theirs, source=left, tag=7), comm.Isend(mine, dest=right, tag=7)]
        MPI.Request.Waitall(requests)
    return theirs


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in METHODS or not argv[1].isdigit():
        print(f"usage: python -m haiend.debug.mpi_exchange {'|'.join(METHODS)} BYTES", file=sys.stderr)
        return 2
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    nbytes = int(argv[1])
    theirs = exchange(comm, argv[0], nbytes)
    left = (comm.Get_rank() - 1) % comm.Get_size()
    right_data = bool(np.all(theirs == left % 256))
    if comm.allreduce(right_data, op=MPI.LAND) and comm.Get_rank() == 0:
        print(f"exchanged {nbytes} bytes", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
