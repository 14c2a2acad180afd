"""The decision rule of a feedback sweep: which block sizes to measure next, given those measured.

Pure functions, no I/O: :mod:`haiend.sweep` feeds them the median times its records hold.

A block size acts on a log scale (halving it matters as much at 64 as at 1024), so the grid and
the refinement are geometric:

* :func:`initial_grid`: the value ``haiend.tune`` derives from the fingerprint (at most ``hi``: a
  block larger than the matrix is no block), and that value divided by 4 and by 16: a coarse
  grid spanning a factor of 16, inside ``[lo, hi]``.
* :func:`next_values`: around the best measured so far, the geometric midpoints to its measured
  neighbours on either side; where the best is the smallest (largest) measured, half (twice) it,
  to look beyond the grid's edge. Values are rounded to a multiple of ``step`` (a cache line of
  doubles), and those measured already, or outside ``[lo, hi]``, are dropped. An empty list means
  converged: no untried value lies between the best and its neighbours.

For a response with one minimum (unimodal) this closes in on it like a bisection, measuring two
values per round where a full grid at the final spacing would measure every one; for a response
with several minima, or noise larger than the differences, it can settle on the wrong one, which
the chapter on running at scale discusses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def snap(value: float, step: int, lo: int, hi: int) -> int:
    """``value`` rounded to the nearest multiple of ``step``, inside ``[lo, hi]``."""
    rounded = max(step, int(round(value / step)) * step)
    return min(hi, max(lo, rounded))


def initial_grid(derived: int, lo: int, hi: int, step: int = 8) -> list[int]:
    """``top = min(derived, hi)``, ``top / 4`` and ``top / 16``, snapped; sorted, no repeats."""
    if not 0 < lo <= hi:
        raise ValueError(f"the bounds must satisfy 0 < lo <= hi, not lo={lo}, hi={hi}")
    top = min(derived, hi)
    return sorted({snap(top / 4**j, step, lo, hi) for j in (0, 1, 2)})


def best(measured: Mapping[int, float]) -> int:
    """The value with the shortest time (the smaller value on a tie)."""
    if not measured:
        raise ValueError("nothing has been measured yet")
    return min(measured, key=lambda v: (measured[v], v))


def next_values(measured: Mapping[int, float], lo: int, hi: int, step: int = 8) -> list[int]:
    """The values to measure next around the best so far; [] when converged."""
    values = sorted(measured)
    top = best(measured)
    i = values.index(top)
    candidates = []
    if i > 0:
        candidates.append(math.sqrt(values[i - 1] * top))
    elif top > lo:
        candidates.append(top / 2)
    if i < len(values) - 1:
        candidates.append(math.sqrt(top * values[i + 1]))
    elif top < hi:
        candidates.append(top * 2)
    chosen = {snap(c, step, lo, hi) for c in candidates}
    return sorted(v for v in chosen if v not in measured)
