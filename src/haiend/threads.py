"""How many threads a measurement may use, set in one place for every library.

``limit(n)`` applies ``n`` to BLAS and loaded OpenMP runtimes (through threadpoolctl), to Numba's
parallel loops (``numba.set_num_threads``), and to haiend's C kernels, which read ``current()``
and pass it to OpenMP's ``num_threads`` clause, so that one thread means one thread everywhere.

The cores a process may use are its CPU set (``sched_getaffinity``: what Slurm, ``taskset`` and a
container's cpuset give it) and, under a cgroup v2 CPU quota (``cpu.max``, which Kubernetes and
so Zero to JupyterHub set from a user's CPU limit), no more than the quota's whole cores: a user's
server on a 64-core node limited to 2 CPUs runs 2 threads, not 64 throttled ones.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

_requested: int | None = None
#: Where the cgroup v2 hierarchy is mounted: alone, or beside cgroup v1 ("hybrid" systems).
CGROUP_ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"))


def available() -> int:
    """Cores this process may run on: its CPU set, capped by a cgroup CPU quota's whole cores."""
    cores = len(cpu_set())
    quota = cpu_quota()
    return cores if quota is None else max(1, min(cores, math.floor(quota)))


def cpu_set() -> list[int]:
    """The CPUs this process may run on (its affinity, as Slurm, taskset and cpusets set it)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


def cpu_list(cpus: Iterable[int]) -> str:
    """CPUs in the kernel's list format (``0-3,8``), as ``taskset -c`` and ``cpuset.cpus`` write them."""
    runs: list[list[int]] = []
    for cpu in sorted(set(cpus)):
        if runs and cpu == runs[-1][1] + 1:
            runs[-1][1] = cpu
        else:
            runs.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def cpu_quota(
    proc_cgroup: Path = Path("/proc/self/cgroup"), roots: Sequence[Path] = CGROUP_ROOTS
) -> float | None:
    """Cores' worth of CPU time the cgroup v2 quota allows (``cpu.max``: quota / period, the
    smallest on the way up from this process's cgroup); None when there is none or it cannot be read."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    own = next((line[3:] for line in lines if line.startswith("0::")), None)
    root = next((r for r in roots if (r / "cgroup.controllers").exists()), None)
    if own is None or root is None:
        return None
    limits = []
    folder = root / own.strip("/")
    while True:
        try:
            quota, period = (folder / "cpu.max").read_text().split()
            if quota != "max":
                limits.append(int(quota) / int(period))
        except (OSError, ValueError):
            pass
        if folder == root or root not in folder.parents:
            break
        folder = folder.parent
    return min(limits) if limits else None


def current() -> int:
    """The thread count in force: the innermost ``limit``, else every available core."""
    return _requested if _requested is not None else available()


@contextlib.contextmanager
def limit(n: int | None) -> Iterator[int]:
    """Use ``n`` threads inside the block (``None``: all available); restores the previous state."""
    global _requested
    n = available() if n is None else int(n)
    if n < 1:
        raise ValueError("a thread count must be at least 1")
    from threadpoolctl import threadpool_limits

    previous = _requested
    numba_before = _numba_threads()
    _requested = n
    try:
        with threadpool_limits(limits=n):
            _set_numba_threads(n)
            yield n
    finally:
        _requested = previous
        if numba_before is not None:
            _set_numba_threads(numba_before)


def _numba_threads() -> int | None:
    if "numba" not in sys.modules:
        return None
    import numba

    return numba.get_num_threads()


def _set_numba_threads(n: int) -> None:
    try:
        import numba
    except ImportError:
        return
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def spread(most: int | None = None, points: int = 7) -> list[int]:
    """Thread or rank counts for a scaling sweep: 1 to ``most`` (default: every usable core).

    Powers of two below ``most``, then ``most`` itself, so the sweep ends on the machine's own
    count whatever it is (2 vCPUs, 6 cores, 64). On a big node the list is thinned to ``points``
    counts, always keeping 1 and ``most``, so that a notebook's sweep stays short there too.
    Counts above ``most`` are oversubscription, which a caller adds on purpose and labels.
    """
    most = available() if most is None else int(most)
    if most < 1 or points < 2:
        raise ValueError("need most >= 1 and points >= 2")
    counts = [1 << k for k in range(most.bit_length()) if 1 << k < most] + [most]
    if len(counts) <= points:
        return counts
    step = (len(counts) - 1) / (points - 1)
    return sorted({counts[round(i * step)] for i in range(points)})
