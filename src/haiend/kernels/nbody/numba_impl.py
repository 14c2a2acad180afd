"""Softened gravity as two loops compiled by Numba, and the two options that make them fast.

The loop body is written once and compiled twice:

* ``fast``: ``@njit(fastmath=True, error_model="numpy")``. ``error_model="numpy"`` lets a
  division by zero give inf instead of raising ZeroDivisionError, so no test (and no branch)
  is left in the inner loop; ``fastmath`` lets LLVM reorder the sums and use an approximate
  reciprocal square root. Only with both does the loop over j become vector code, several
  partners j per instruction (``vsqrtpd`` and ``vdivpd``, or ``vrsqrtps``, on ymm registers:
  look with ``rows_fast.inspect_asm()``); with either one alone it stays scalar.
* ``strict``: plain ``@njit``. Python's error model needs a test before every division, and
  IEEE order forbids splitting the sums, so each pair is computed alone: several times slower,
  by a factor that depends on the dtype and the CPU (``haiend bench nbody`` measures it).

Positions arrive as an (n, 3) array, x y z of a body side by side. The wrapper copies them
once per call into three contiguous arrays x, y, z (``numpy_impl.columns``: structure of
arrays, O(n) work next to the O(n^2) loop), so that consecutive j are consecutive in memory and
the vector loads need no shuffling. Constants are made in the arrays' own dtype
(``x.dtype.type``): a bare ``1.0`` is float64 and would quietly turn the float32 kernel into a
float64 one.
"""

import numpy as np
from numba import njit

from haiend.kernels.nbody.numpy_impl import columns


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


def fast(positions, masses, eps, out):
    x, y, z = columns(positions)
    return rows_fast(x, y, z, masses, eps, 0, x.size, out)


def strict(positions, masses, eps, out):
    x, y, z = columns(positions)
    return rows_strict(x, y, z, masses, eps, 0, x.size, out)
