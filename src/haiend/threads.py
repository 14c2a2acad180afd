"""How many threads a measurement may use, set in one place for every library.

``limit(n)`` applies ``n`` to BLAS and loaded OpenMP runtimes (through threadpoolctl), to Numba's
parallel loops (``numba.set_num_threads``), and to haiend's C kernels, which read ``current()``
and pass it to OpenMP's ``num_threads`` clause, so that one thread means one thread everywhere.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

_requested: int | None = None


def available() -> int:
    """Cores this process may run on (its CPU affinity, as Slurm and taskset set it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


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
