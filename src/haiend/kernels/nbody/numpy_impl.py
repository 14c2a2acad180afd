"""Softened gravity in NumPy: all pairs at once by broadcasting, a block of rows at a time.

``x[None, :] - x[lo:hi, None]`` is the (rows, n) table of every difference x_j - x_i for the
bodies i of one block. Doing all n rows at once would need several n-by-n temporaries (for
n = 8192, half a gigabyte each in float64), so the rows go in blocks sized to keep each
temporary near ``BLOCK_ELEMENTS`` elements (4 MiB in float64; about six are alive at once).
Each NumPy call is one pass over a temporary: memory traffic, not arithmetic, sets the pace,
which is why a compiled loop that keeps everything in registers is many times faster.
"""

import numpy as np

BLOCK_ELEMENTS = 1 << 19


def columns(positions):
    """x, y, z as three contiguous arrays (structure of arrays), as every loop here wants them."""
    return tuple(np.ascontiguousarray(positions[:, k]) for k in range(3))


def accelerations(positions, masses, eps, out):
    n = positions.shape[0]
    x, y, z = columns(positions)
    rows = max(1, BLOCK_ELEMENTS // max(n, 1))
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        dx = x[None, :] - x[lo:hi, None]  # dx[i, j] = x_j - x_i
        dy = y[None, :] - y[lo:hi, None]
        dz = z[None, :] - z[lo:hi, None]
        r2 = dx * dx + dy * dy + dz * dz + eps * eps
        w = masses / (r2 * np.sqrt(r2))  # w[i, j] = m_j / (r^2 + eps^2)^(3/2)
        out[lo:hi, 0] = np.sum(w * dx, axis=1)
        out[lo:hi, 1] = np.sum(w * dy, axis=1)
        out[lo:hi, 2] = np.sum(w * dz, axis=1)
    return out
