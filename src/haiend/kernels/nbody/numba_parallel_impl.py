"""Softened gravity with ``prange``: the bodies i are shared among threads.

The same loop as ``numba_impl.fast`` with the outer loop made a ``prange``: each thread takes a
static chunk of bodies i and runs the whole vectorised loop over j for each. The threads never
write the same row of ``out``, so they need no locks; every pair costs the same, so static
chunks are balanced.
"""

import numpy as np
from numba import njit, prange

from haiend.kernels.nbody.numpy_impl import columns


@njit(parallel=True, fastmath=True, error_model="numpy")
def _all_rows(x, y, z, m, eps, out):
    one = x.dtype.type(1)
    eps2 = x.dtype.type(eps * eps)
    for i in prange(x.size):
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
        out[i, 0] = ax
        out[i, 1] = ay
        out[i, 2] = az
    return out


def accelerations(positions, masses, eps, out):
    x, y, z = columns(positions)
    return _all_rows(x, y, z, masses, eps, out)
