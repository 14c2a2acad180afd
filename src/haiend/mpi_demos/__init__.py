"""Small MPI programs that show how MPI moves data, shared by the book, the MPI lab and batch jobs.

Each module runs under ``mpiexec`` and prints its measurements on rank 0, as JSON with ``--json``::

    mpiexec -n 2 python -m haiend.mpi_demos.pingpong --json
    mpiexec -n 4 python -m haiend.mpi_demos.collectives --op allreduce --json
    mpiexec -n 2 python -m haiend.mpi_demos.halo --json

``launch`` runs one of them from Python (a notebook, a test) with the ``mpiexec`` that belongs to
this Python's mpi4py and returns the decoded JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

DEMOS = ("pingpong", "collectives", "halo", "imbalance", "chain")


def launch(
    demo: str,
    ranks: int = 2,
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
    mpiexec: str | None = None,
) -> Any:
    """Run ``mpiexec -n ranks python -m haiend.mpi_demos.<demo> <args> --json``; return rank 0's JSON.

    ``env`` adds to (not replaces) this process's environment, e.g. an MPICH control variable.
    Raises ``RuntimeError`` with the job's output if it fails, and ``subprocess.TimeoutExpired``
    if it has not ended after ``timeout`` seconds, the whole job killed (:func:`haiend.mpi.launch`).
    """
    from haiend import mpi

    if demo not in DEMOS:
        raise ValueError(f"unknown demo {demo!r}; choose from {', '.join(DEMOS)}")
    module = f"haiend.mpi_demos.{demo}"
    done = mpi.launch(module, ranks, [*args, "--json"], env=env, timeout=timeout, mpiexec=mpiexec)
    if done is None:
        raise RuntimeError("no mpiexec found: pip install mpi4py mpich")
    if done.returncode != 0:
        shown = f"mpiexec -n {ranks} python -m {module} {' '.join(args)} --json"
        raise RuntimeError(f"{shown} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def powers_of_two(lo: int, hi: int, per_octave: int = 1) -> list[int]:
    """Sizes from ``lo`` to ``hi`` bytes, ``per_octave`` log-spaced points per doubling, unique and sorted."""
    if lo < 1 or hi < lo:
        raise ValueError("need 1 <= min-bytes <= max-bytes")
    import math

    steps = round(math.log2(hi / lo) * per_octave)
    sizes = {round(lo * 2 ** (k / per_octave)) for k in range(steps + 1)} | {lo, hi}
    return sorted(s for s in sizes if lo <= s <= hi)


def emit(rows: Any, as_json: bool, table: Sequence[tuple[str, str]] = ()) -> None:
    """Rank 0's output: one JSON line, or a table of ``(header, key-format)`` columns."""
    if as_json:
        print(json.dumps(rows), flush=True)
        return
    from haiend.tables import Table

    print(Table([{header: fmt.format(**row) for header, fmt in table} for row in rows]), flush=True)
