"""stencil2d with ``prange``: Numba hands each thread a static chunk of the rows of a sweep.

The rows of one sweep are independent (each reads the old grid, writes its own row of the new
one), so they may run in any order on any thread; the sweeps themselves must run one after the
other, and each ``sweep`` call returning is the barrier between them.
"""

from numba import njit, prange

from haiend.kernels.stencil2d.buffers import sweep_pairs


@njit(parallel=True)
def sweep(src, dst):
    ny, nx = src.shape
    for i in prange(1, ny - 1):
        for j in range(1, nx - 1):
            dst[i, j] = 0.25 * (src[i - 1, j] + src[i + 1, j] + src[i, j - 1] + src[i, j + 1])


def stencil2d(u0, steps, out):
    for src, dst in sweep_pairs(u0, steps, out):
        sweep(src, dst)
    return out
