"""Softened gravity as array code against the array namespace ``xp``: NumPy here, CuPy on a GPU.

The (rows, n, 3) table of differences r_j - r_i comes from one broadcast subtraction; a block
of rows at a time keeps it near ``BLOCK_ELEMENTS`` elements, so it fits a GPU's memory for any
n as well as a laptop's. Each line is one kernel launch on a GPU and one pass over a temporary:
array code is easy to write and leaves the fusion of those passes to a hand-written kernel
(``cuda_impl``).
"""

from haiend.kernels.xp import array_namespace

BLOCK_ELEMENTS = 1 << 20


def accelerations(positions, masses, eps, out):
    xp = array_namespace(positions)
    n = positions.shape[0]
    rows = max(1, BLOCK_ELEMENTS // max(3 * n, 1))
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        d = positions[None, :, :] - positions[lo:hi, None, :]  # d[i, j] = r_j - r_i
        r2 = xp.sum(d * d, axis=2) + eps * eps
        w = masses / (r2 * xp.sqrt(r2))  # w[i, j] = m_j / (|r_j - r_i|^2 + eps^2)^(3/2)
        out[lo:hi] = xp.sum(w[:, :, None] * d, axis=1)
    return out
