"""Softened gravity as two loops compiled by Numba, and the one switch that makes them fast.

The loop body is written once and compiled twice:

* ``fast``: ``@njit(fastmath=True, error_model="numpy")``. ``error_model="numpy"`` lets a
  division by zero give inf instead of raising ZeroDivisionError, so there is no check (and no
  branch) left in the inner loop; ``fastmath`` lets LLVM reorder the sums. Then the loop over j
  becomes vector code: several partners j per instruction (``vsqrtpd``/``vdivpd`` or
  ``vrsqrt14ps`` on zmm registers, see ``inspect_asm``).
* ``strict``: plain ``@njit``. Python's error model needs a test before every division, and
  IEEE order forbids splitting the sums, so each pair is computed alone: about ten times slower.

Positions arrive as an (n, 3) array, x y z of a body side by side. The wrapper copies them
once per call into three contiguous arrays x, y, z (structure of arrays, O(n) next to the
O(n^2) loop), so that consecutive j are consecutive in memory: plain vector loads, no shuffles.
Constants are made in the arrays' own dtype (``x.dtype.type``): a bare ``1.0`` is float64 and
would silently turn the float32 kernel into a float64 one.
"""

import numpy as np
from numba import njit


def _rows(x, y, z, m, eps, lo, hi, out):
    """Accelerations of bodies lo..hi-1 (into out[0:hi-lo]) from all n bodies."""
    one = x.dtype.type(1)
    eps2 = x.dtype.type(eps * eps)
    for i in range(lo, hi):
        ax = ay = az = x.dtype.type(0)
        for j in range(x.size):
            dx = x[j] - x[i]
            dy = y[j] - y[i]
            dz = z[j] - z[i]
            inv = one / np.sqrt(dx * dx + dy * dy + dz * dz + eps2)
            s = m[j] * inv * inv * inv
            ax += dx * s
            ay += dy * s
            az += dz * s
        out[i - lo, 0] = ax
        out[i - lo, 1] = ay
        out[i - lo, 2] = az
    return out


rows_fast = njit(fastmath=True, error_model="numpy")(_rows)
rows_strict = njit(_rows)


def columns(positions):
    """x, y, z as three contiguous arrays (structure of arrays)."""
    return tuple(np.ascontiguousarray(positions[:, k]) for k in range(3))


def fast(positions, masses, eps, out):
    x, y, z = columns(positions)
    return rows_fast(x, y, z, masses, eps, 0, x.size, out)


def strict(positions, masses, eps, out):
    x, y, z = columns(positions)
    return rows_strict(x, y, z, masses, eps, 0, x.size, out)
