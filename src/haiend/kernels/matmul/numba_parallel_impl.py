"""The blocked Numba matmul on every core: ``prange`` over blocks of rows of C.

The loop nest is that of ``numba_impl.blocked``, with the same derived block sizes (``haiend.tune``;
``slab_depth`` for the dtype).
Packing a block of A and a block of B is done by one thread; then each block of ROWS rows of C is
an independent job (its packed rows of A times the packed block of B), so the threads share what
they read and nothing they write. The blocks are small (8 register tiles) so that an uneven number
of them still spreads evenly over the threads.
"""

from numba import njit, prange

from haiend.kernels.matmul.numba_impl import (
    MC,
    MR,
    NC,
    buffers,
    multiply_block,
    pack_columns,
    pack_rows,
    slab_depth,
)

ROWS = 8 * MR


@njit(parallel=True)
def matmul(A, B, out):
    (m, k), n = A.shape, B.shape[1]
    kc = slab_depth(A)
    a_buf, b_buf = buffers(A, B, MC, kc, NC)
    out[:, :] = 0
    for i0 in range(0, m, MC):
        rows = min(MC, m - i0)
        blocks = -(-rows // ROWS)
        for p0 in range(0, k, kc):
            depth = min(kc, k - p0)
            ap = pack_rows(A, i0, rows, p0, depth, a_buf)
            for j0 in range(0, n, NC):
                bt = pack_columns(B, p0, depth, j0, min(NC, n - j0), b_buf)
                for block in prange(blocks):
                    multiply_block(ap, bt, out, block * ROWS, min((block + 1) * ROWS, rows), j0, i0)
    return out
