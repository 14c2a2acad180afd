"""A hung MPI job, seen from outside: a time limit, then every rank's stack before it is killed.

A deadlocked job does not fail, it waits: every rank spins (or sleeps) in the MPI library for
ever. The only sign is time, so :func:`run_job` starts ``mpiexec`` under
:func:`haiend.debug.bounded.run` (a session of its own), and when the limit passes it lists the
job's processes, keeps the Python ranks, dumps each rank's stack with py-spy or gdb
(:mod:`haiend.debug.stacks`), and only then kills them. The ranks are found as descendants of
``mpiexec``, not as members of its process group: MPICH's Hydra starts its proxy and every rank
with ``setsid``, each in a session of its own (checked here with ``ps -o pid,pgid,sid``), so
killing mpiexec's group reaches the launcher only; :func:`haiend.debug.bounded.run` kills every
descendant by pid as well. Where each stack stops is the diagnosis: the Python line
(``comm.Send(...)``) and, with gdb, the MPI call underneath (``PMPI_Send``).
"""

from __future__ import annotations

import importlib.util
import linecache
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from haiend import machine
from haiend.debug import bounded, stacks
from haiend.errors import HaiendError
from haiend.mpi import RANK_VARIABLES

_PY_SPY_FRAME = re.compile(r"^\s{4}(\S+) \((.+?):(\d+)\)$")


@dataclass(frozen=True)
class RankStack:
    """One rank's stack at the time limit: its pid, the dump, and the innermost frame of our code."""

    pid: int
    stack: stacks.Stack
    innermost: tuple[str, str, int] | None  # (function, file, line) of the deepest frame in ``module``'s file

    @property
    def source(self) -> str:
        """The source line the rank is blocked on (``comm.Send(...)``), or "" when unknown."""
        if self.innermost is None:
            return ""
        return linecache.getline(self.innermost[1], self.innermost[2]).strip()

    def local(self, name: str) -> str | None:
        """The value py-spy showed for variable ``name`` of the innermost frame (``--locals``), as text."""
        for line in self.stack.text.splitlines():
            if _PY_SPY_FRAME.match(line) and self.innermost and f"{self.innermost[0]} (" not in line:
                break  # past the innermost frame of our code
            found = re.match(rf"^\s+{re.escape(name)}: (.+)$", line)
            if found:
                return found.group(1)
        return None


@dataclass(frozen=True)
class Job:
    """An MPI run under a time limit: how it ended and, when it hung, every rank's stack."""

    finished: bounded.Finished
    ranks: tuple[RankStack, ...] = field(default=())

    @property
    def hung(self) -> bool:
        return self.finished.timed_out


def mpiexec() -> str:
    """The mpiexec beside this Python's mpi4py (else the first on the PATH), or a one-sentence error."""
    found = machine.mpiexec_path()
    if found is None:
        raise HaiendError("no mpiexec was found, so no MPI job can run here: pip install mpi4py mpich.")
    return str(found)



def rank_pids(launcher: int, module: str) -> list[int]:
    """The descendants of ``launcher`` (mpiexec's pid) that are Python ranks running ``python -m module``."""
    ranks = []
    for pid in bounded.descendants(launcher):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:  # gone while we looked
            continue
        if b"-m" in argv and module.encode() in argv and b"python" in Path(os.fsdecode(argv[0])).name.encode():
            ranks.append(pid)
    return ranks



def innermost_frame(dump: str, source_file: str) -> tuple[str, str, int] | None:
    """The deepest frame of a py-spy dump that lies in ``source_file``: (function, path, line)."""
    for line in dump.splitlines():
        found = _PY_SPY_FRAME.match(line)
        if found and Path(source_file).as_posix().endswith(found.group(2)):
            return found.group(1), source_file, int(found.group(3))
    return None


def run_job(
    module: str,
    ranks: int,
    args: Sequence[str] = (),
    *,
    timeout_s: float = 5.0,
    dump: str = "py-spy",
) -> Job:
    """Run ``mpiexec -n ranks python -m module *args``; past ``timeout_s``, dump each rank's stack, then kill.

    ``dump`` is ``"py-spy"`` (Python frames) or ``"gdb"`` (C frames, and Python frames where
    CPython's gdb extension is found). A rank whose stack cannot be read carries the one-sentence
    reason in its ``stack.missing``.
    """
    if dump not in ("py-spy", "gdb"):
        raise HaiendError(f"unknown stack tool {dump!r}: choose py-spy or gdb.")
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise HaiendError(f"no Python module named {module!r} to run under mpiexec.")
    source_file = spec.origin
    env = {key: value for key, value in os.environ.items() if not key.startswith(RANK_VARIABLES)}
    seen: list[RankStack] = []

    def diagnose(launcher: int) -> None:
        for pid in rank_pids(launcher, module):
            stack = stacks.with_py_spy(pid, timeout_s=30) if dump == "py-spy" else stacks.with_gdb(pid, timeout_s=60)
            python_view = stack.text if dump == "py-spy" else ""
            seen.append(RankStack(pid, stack, innermost_frame(python_view, source_file) if python_view else None))

    argv = [mpiexec(), "-n", str(ranks), sys.executable, "-m", module, *args]
    finished = bounded.run(argv, timeout_s, env=env, on_timeout=diagnose)  # kills the proxy and ranks too
    return Job(finished, tuple(seen))

