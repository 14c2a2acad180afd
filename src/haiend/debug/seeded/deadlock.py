"""Seeded bug (d): find the deadlock of :mod:`haiend.debug.seeded.ring` from outside.

A hung MPI job prints nothing and uses the CPU (MPICH's ranks spin while they wait), so the
first tool is a time limit: :func:`run` starts ``mpiexec`` under :func:`haiend.debug.bounded.run`
and, when the limit passes, dumps every rank's Python stack with ``py-spy`` before the job is
killed. Hydra (MPICH's launcher) starts each rank in a session of its own, so the ranks are not in
``mpiexec``'s process group: they are found as its descendants in ``/proc``
(:func:`haiend.debug.bounded.descendants`), and ``bounded.run`` kills those by pid as well.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from haiend import machine, mpi
from haiend.debug import bounded, stacks
from haiend.debug.seeded import carried, ring
from haiend.debug.seeded.judgement import Judgement
from haiend.requirements import MPI

RANKS = 2
SMALL_NX = ring.NX  # 512-byte rows: below the eager limit
LARGE_NX = 4096  # 32 KiB rows: above it
HANG_TIMEOUT_S = 4.0  # the job finishes in about a second here when it does not hang
CHECK_TIMEOUT_S = 60.0
_PRELUDE = "import numpy as np\nfrom mpi4py import MPI"


@dataclass
class Outcome:
    """A run of the ring program: how it ended, rank 0's verdict, and each rank's stack if it hung."""

    finished: bounded.Finished
    verdict: dict | None
    stacks: list[stacks.Stack] = field(default_factory=list)


def rank_pids(pid: int) -> list[int]:
    """The ranks among ``pid``'s descendants: the processes running the ring program."""
    ranks = []
    for child in bounded.descendants(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                if ring.__name__.encode() in cmdline.read():
                    ranks.append(child)
        except OSError:
            continue
    return ranks


def command(nx: int, exchange_from: Path | None = None, ranks: int = RANKS) -> list[str]:
    launcher = machine.mpiexec_path()
    argv = [launcher, "-n", str(ranks), sys.executable, "-m", ring.__name__, "--nx", str(nx)]
    return argv + (["--exchange-from", str(exchange_from)] if exchange_from else [])


def run(
    nx: int, *, timeout_s: float = HANG_TIMEOUT_S, exchange_from: Path | None = None, dump: bool = True
) -> Outcome:
    """Run the ring on ``RANKS`` ranks; past ``timeout_s``, dump every rank's stack (if ``dump``) and kill the job."""
    dumped: list[stacks.Stack] = []

    def on_timeout(pgid: int) -> None:
        if dump:
            dumped.extend(stacks.with_py_spy(pid, timeout_s=30) for pid in rank_pids(pgid))

    env = {key: value for key, value in os.environ.items() if not key.startswith(mpi.RANK_VARIABLES)}
    finished = bounded.run(command(nx, exchange_from), timeout_s, env=env, on_timeout=on_timeout)  # ranks too
    lines = [line for line in finished.stdout.splitlines() if line.startswith("{")]
    return Outcome(finished, json.loads(lines[-1]) if lines else None, dumped)


def trim(stack: stacks.Stack) -> str:
    """A rank's dump cut to the process line and its Python frames (no locals, no interpreter line)."""
    if not stack.ok:
        return stack.missing or ""
    kept = []
    for line in stack.text.splitlines():
        if line.startswith("Process ") or line.startswith("Thread "):
            kept.append(line.split(":", 1)[0] if line.startswith("Process ") else line)
        elif (
            line.startswith("    ") and not line.startswith("     ") and "(" in line and "<frozen" not in line
        ):
            kept.append(line)
    return "\n".join(kept)


_FRAME = re.compile(r"^    (\S+) \((.+):(\d+)\)$")


def waiting_in(stack: stacks.Stack) -> str | None:
    """The source line of the innermost Python frame of a rank's dump (where it waits), or None."""
    for line in trim(stack).splitlines():
        frame = _FRAME.match(line)
        if frame:
            name, path, number = frame.groups()
            full = (
                path
                if os.path.isabs(path)
                else os.path.join(os.path.dirname(ring.__file__), os.path.basename(path))
            )
            text = linecache.getline(full, int(number)).strip()
            return f"{name}, line {number}: {text}" if text else f"{name}, line {number}"
    return None


def missing() -> str | None:
    """Why this cannot run here (no mpi4py or mpiexec), in one sentence; None when it can."""
    reason = MPI.missing()
    if reason is None and machine.mpiexec_path() is None:
        reason = "no mpiexec was found: pip install mpich (or install your MPI's launcher)."
    return reason


def judge(exchange_function) -> Judgement:
    """The ring with ``exchange_function`` must finish, and be right, on rows below and above the eager limit."""
    reason = missing()
    if reason is not None:
        return Judgement(not_run=reason)
    path = carried.write(exchange_function, _PRELUDE)
    problems, evidence = [], []
    try:
        for nx in (SMALL_NX, LARGE_NX):
            outcome = run(nx, timeout_s=CHECK_TIMEOUT_S, exchange_from=path, dump=False)
            where = f"with rows of {nx} values ({nx * 8:,} bytes)"
            if outcome.finished.timed_out:
                problems.append(
                    f"{where} the job did not finish within {CHECK_TIMEOUT_S:g} s: it still deadlocks"
                )
            elif outcome.verdict is None:
                last = (outcome.finished.output.strip().splitlines() or ["no output"])[-1]
                problems.append(f"{where} the job failed ({last})")
            elif not outcome.verdict["passed"]:
                problems.append(f"{where} the grid is wrong (relative error {outcome.verdict['error']:.1e})")
            else:
                evidence.append(f"{where}: finished in {outcome.finished.seconds:.2f} s, grid right")
    finally:
        path.unlink()
    return Judgement(problems=tuple(problems), evidence="\n".join(evidence))
