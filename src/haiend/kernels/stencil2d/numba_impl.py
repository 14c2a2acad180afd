"""stencil2d compiled by Numba: the plain loop a learner writes first, and a faster pass over rows.

``stencil2d`` is the plain version: a double loop per sweep into a second grid. It reads each
value from memory once, if the three rows it touches stay in cache, but it also writes a whole
grid, and a cache writes a line only after reading it (write-allocate): 24 bytes really move per
point for the 16 counted, so it lands near 16/24 of what the memory can stream.

``blocked`` applies ``SWEEPS_PER_PASS`` sweeps in one pass down the grid (temporal blocking,
a wavefront over rows). While the first sweep computes row i, the second computes row i - 1,
the third row i - 2, and so on: each needs only the three rows just made by the sweep before it,
kept in a small ring of rows (``ring[t, r % 3]`` is row r after t + 1 sweeps) that stays in
cache. A finished row is written back over the grid, in place, once no sweep needs its old value
any more, so no second grid is needed; and a row is written while it is still in cache from
being read, so there is no write-allocate either. Memory then sees 16 bytes per point for four
sweeps, not 24 per sweep: the bandwidth computed with the kernel's count of 16 bytes per point
and sweep is an *effective* one and may exceed what memory can deliver. Only the first pass
reads ``u0`` (left untouched) and writes ``out``; later passes work in ``out`` in place.

Inner loops run over slice views from index 0 (``_row``): Numba then knows no index is negative,
drops its wrap-around check, and LLVM vectorises the loop.
"""

import numpy as np
from numba import njit

from haiend.kernels.stencil2d.buffers import copy_edges, sweep_pairs

SWEEPS_PER_PASS = 4


@njit
def sweep(src, dst):
    ny, nx = src.shape
    for i in range(1, ny - 1):
        for j in range(1, nx - 1):
            dst[i, j] = 0.25 * (src[i - 1, j] + src[i + 1, j] + src[i, j - 1] + src[i, j + 1])


def stencil2d(u0, steps, out):
    for src, dst in sweep_pairs(u0, steps, out):
        sweep(src, dst)
    return out


@njit
def _row(up, mid, down, new):
    """One row of a sweep: the interior of ``new`` from the rows above, at and below it."""
    n = mid.size - 2
    above, below, left, right, inner = up[1 : n + 1], down[1 : n + 1], mid[:n], mid[2:], new[1 : n + 1]
    for j in range(n):
        inner[j] = 0.25 * (above[j] + below[j] + left[j] + right[j])


@njit
def _level(grid, ring, t, r):
    """Row ``r`` after ``t`` sweeps of this pass: from the grid (t = 0, or an edge row) or the ring."""
    if t == 0 or r == 0 or r == grid.shape[0] - 1:
        return grid[r]
    return ring[t - 1, r % 3]


@njit
def _pass(src, dst, levels, ring):
    """Apply ``levels`` sweeps to ``src``, writing the result into ``dst``, which may be ``src``."""
    ny, nx = src.shape
    for i in range(1, ny - 1 + levels):  # at step i, sweep t + 1 computes row i - t
        for t in range(levels):
            r = i - t
            if 1 <= r <= ny - 2:
                new = ring[t, r % 3]
                new[0], new[nx - 1] = src[r, 0], src[r, nx - 1]
                _row(_level(src, ring, t, r - 1), _level(src, ring, t, r), _level(src, ring, t, r + 1), new)
        done = i - levels  # no sweep reads the old row `done` of src any more: store it
        if 1 <= done <= ny - 2:
            dst[done, 1 : nx - 1] = ring[levels - 1, done % 3, 1 : nx - 1]


def blocked(u0, steps, out):
    if steps <= 0:
        out[...] = u0
        return out
    copy_edges(u0, out)
    # Only 3 rows per sweep of the pass (a few hundred pages even on the widest grids), so
    # allocating it in each call costs little beside a pass over the whole grid.
    ring = np.empty((SWEEPS_PER_PASS, 3, u0.shape[1]))
    src, done = u0, 0
    while done < steps:
        levels = min(SWEEPS_PER_PASS, steps - done)
        _pass(src, out, levels, ring)
        src, done = out, done + levels
    return out
