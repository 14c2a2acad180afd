"""Two Numba ``prange`` sums, for the races chapter: a correct reduction and a racy one.

    python -m haiend.debug.prange_sums [N]

``reduced`` accumulates into a scalar, which Numba turns into a per-thread reduction; ``racy``
adds into ``out[0]``, one array element shared by every thread (Numba does not privatise array
elements), so updates are lost. Prints ``reduced=``, ``racy=`` (sums of N ones) and ``layer=``
(the threading layer Numba chose).
"""

from __future__ import annotations

import sys

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def reduced(x):
    total = 0.0
    for i in numba.prange(x.size):
        total += x[i]
    return total


@numba.njit(parallel=True, cache=True)
def racy(x, out):
    for i in numba.prange(x.size):
        out[0] += x[i]


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 200_000
    x = np.ones(n)
    out = np.zeros(1)
    racy(x, out)
    print(f"reduced={float(reduced(x))!r}")
    print(f"racy={float(out[0])!r}")
    print(f"layer={numba.threading_layer()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
