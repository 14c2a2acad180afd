"""Ping-pong between ranks 0 and 1: the time of half a round trip, per message size.

    mpiexec -n 2 python -m haiend.mpi_demos.pingpong [--min-bytes 8] [--max-bytes 67108864]
        [--per-octave 1] [--repeats N] [--pickle] [--json]

Rank 0 sends a NumPy ``uint8`` buffer of ``bytes`` bytes to rank 1, which sends it straight back.
``latency_s`` is half the best round trip (best of a few samples, each the mean of ``repeats``
round trips after a warm-up); ``bandwidth_gb_s`` is ``bytes / latency_s / 1e9``. With
``--pickle`` the same arrays go through mpi4py's lower-case ``send``/``recv``, which pickles
the object into a byte string and unpickles it on arrival (the *pickle path*); without it,
``Send``/``Recv`` hand MPI the array's memory (the *buffer path*). Ranks beyond 1 only wait.

Output on rank 0 (``--json``): one line, a list of
``{"bytes", "latency_s", "bandwidth_gb_s", "path", "repeats"}``, ``path`` being ``"buffer"`` or
``"pickle"``. ``--repeats`` fixes the round trips per sample; by default it shrinks with the
size so that every size takes a similar few milliseconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from haiend.mpi_demos import emit, powers_of_two

SAMPLES = 3


def default_repeats(nbytes: int) -> int:
    """Round trips per sample: 1000 for tiny messages, down to 5 for tens of megabytes."""
    return int(min(1000, max(5, 2**23 // max(nbytes, 1))))


def measure(comm, nbytes: int, repeats: int, pickle: bool) -> float:
    """Best mean round-trip time over ``SAMPLES`` samples of ``repeats`` round trips (rank 0's view)."""
    rank = comm.Get_rank()
    buf = np.ones(nbytes, dtype=np.uint8)  # pages touched before the clock starts
    back = np.empty_like(buf)
    best = float("inf")
    for sample in range(SAMPLES + 1):  # sample 0 is the warm-up
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(repeats if sample else min(repeats, 5)):
            if pickle:
                if rank == 0:
                    comm.send(buf, dest=1, tag=1)
                    back = comm.recv(source=1, tag=2)
                elif rank == 1:
                    got = comm.recv(source=0, tag=1)
                    comm.send(got, dest=0, tag=2)
            else:
                if rank == 0:
                    comm.Send(buf, dest=1, tag=1)
                    comm.Recv(back, source=1, tag=2)
                elif rank == 1:
                    comm.Recv(back, source=0, tag=1)
                    comm.Send(back, dest=0, tag=2)
        elapsed = (time.perf_counter() - t0) / (repeats if sample else min(repeats, 5))
        if sample:
            best = min(best, elapsed)
    if rank == 0 and back.nbytes != nbytes:
        raise RuntimeError("the message came back with the wrong size")
    return best


def run(sizes, repeats: int | None = None, pickle: bool = False, comm=None) -> list[dict]:
    """Measure every size; every rank calls this; rank 0 gets the rows (others get [])."""
    from mpi4py import MPI

    comm = comm or MPI.COMM_WORLD
    if comm.Get_size() < 2:
        raise SystemExit("pingpong needs at least 2 ranks: mpiexec -n 2 python -m haiend.mpi_demos.pingpong")
    rows = []
    for nbytes in sizes:
        n = repeats or default_repeats(nbytes)
        round_trip = measure(comm, nbytes, n, pickle)
        latency = round_trip / 2
        rows.append(
            {
                "bytes": int(nbytes),
                "latency_s": latency,
                "bandwidth_gb_s": nbytes / latency / 1e9,
                "path": "pickle" if pickle else "buffer",
                "repeats": n,
            }
        )
    return rows if comm.Get_rank() == 0 else []


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m haiend.mpi_demos.pingpong", description=__doc__.split("\n")[0]
    )
    p.add_argument("--min-bytes", type=int, default=8)
    p.add_argument("--max-bytes", type=int, default=64 * 2**20)
    p.add_argument("--per-octave", type=int, default=1, help="sizes per doubling (default 1: powers of two)")
    p.add_argument("--repeats", type=int, help="round trips per sample (default: by size)")
    p.add_argument("--pickle", action="store_true", help="send/recv (pickled objects) instead of Send/Recv")
    p.add_argument("--json", action="store_true", help="print one JSON line on rank 0")
    args = p.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        p.error("--repeats must be at least 1")
    sizes = powers_of_two(args.min_bytes, args.max_bytes, args.per_octave)
    rows = run(sizes, args.repeats, args.pickle)
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_rank() == 0:
        emit(
            rows,
            args.json,
            (
                ("bytes", "{bytes}"),
                ("latency s", "{latency_s:.3e}"),
                ("GB/s", "{bandwidth_gb_s:.3f}"),
                ("path", "{path}"),
            ),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
