"""The blocked Numba matmul on every core: ``prange`` over blocks of rows of C.

Packing is done once, by one thread; then each block of ROWS rows of C is an independent job
(its rows of A times all of B), so the threads share nothing they write. The blocks are small
(8 register tiles) so that an uneven number of them still spreads evenly over the threads.
"""

from numba import njit, prange

from haiend.kernels.matmul.numba_impl import MR, multiply_rows, packed_operands, unpad

ROWS = 8 * MR


@njit(parallel=True)
def matmul(A, B, out):
    Ap, Bp, Cp = packed_operands(A, B)
    blocks = -(-Cp.shape[0] // ROWS)
    for block in prange(blocks):
        multiply_rows(Ap, Bp, Cp, block * ROWS, min((block + 1) * ROWS, Cp.shape[0]))
    return unpad(Cp, out)
