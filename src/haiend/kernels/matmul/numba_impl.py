"""Matrix multiplication in Numba: the textbook loop, then the same loop blocked like BLAS.

``matmul`` is the first version a learner writes. The loop order is i-k-j: the innermost loop
runs along a row of B and a row of C (unit stride), so LLVM vectorises it; the i-j-k order
walks down a column of B instead, and is many times slower. Every multiply-add still loads and
stores C, and B is streamed from memory once per row of A.

``blocked`` follows the design of GotoBLAS and BLIS (pack, block for the caches, tile for the
registers), in five steps:

1. Slabs of k: C = A @ B is a sum over slabs of KC columns of A times KC rows of B, added into
   C one slab after another.
2. Packing: for each slab, ``pack_rows`` copies A's KC columns into contiguous rows, and for each
   block of NC columns of B, ``pack_columns`` copies that block's transpose, so that every dot
   product the tile computes reads two contiguous rows. Both buffers are allocated once and
   reused: packing touches each element of A and B once, and no fresh memory is faulted in.
3. Cache blocking: the packed block of B (NC x KC, 576 KiB in float64) stays in L2 while every
   row of A passes over it; the MR packed rows of A in use (18 KiB) stay in L1.
4. Register blocking: ``_tile`` computes an MR x NR = 6 x 4 block of C as 24 dot products of
   length KC at once, in 24 local scalars. LLVM turns each into a vector accumulator, and each
   vector loaded from A or B feeds 4 or 6 fused multiply-adds. ``fastmath=True`` lets LLVM
   reorder the sums, which is what vectorising a dot product needs; each accumulator is summed
   across its lanes once per slab.
5. Vector width: ``multiply_block`` calls ``prefer_vector_width(VECTOR_BITS)``, which asks LLVM
   for 512-bit vectors in that one function (``haiend.kernels.vector_width`` explains why LLVM
   otherwise uses 256-bit ones on Intel server cores). On an AVX-512 CPU the hot loop is then 24
   ``vfmadd231pd`` on ``zmm`` registers and 10 loads: check with
   ``multiply_block.inspect_asm(multiply_block.signatures[0])``.

What still separates this from OpenBLAS is its outer-product micro-kernel in assembly, which
needs no sum across lanes, and prefetching tuned for each CPU.

The loops range over whole rows (``range(b0.size)`` on a row view), not ``range(p0, p1)``
inside a larger row: a start LLVM cannot prove non-negative brings Numba's negative-index
wrap-around into the loop, which stops it vectorising.
"""

import numpy as np
from numba import njit

from haiend.kernels.vector_width import prefer_vector_width

MR, NR = 6, 4  # the register tile of C: 24 accumulators
KC, NC = 384, 192  # the cache blocks: a slab of KC along k, NC columns of B (576 KiB in float64)
VECTOR_BITS = 512  # what multiply_block asks LLVM for; a CPU without AVX-512 stays at 256


@njit
def matmul(A, B, out):
    m, k = A.shape
    n = B.shape[1]
    out[:, :] = 0
    for i in range(m):
        for p in range(k):
            a = A[i, p]
            for j in range(n):
                out[i, j] += a * B[p, j]
    return out


@njit
def _round_up(count, multiple):
    return -(-count // multiple) * multiple


@njit
def pack_rows(A, p0, kc, buf):
    """A[:, p0 : p0 + kc] as contiguous rows in ``buf``, with zero rows up to a multiple of MR."""
    m = A.shape[0]
    ap = buf[: _round_up(m, MR) * kc].reshape((-1, kc))
    ap[m:, :] = 0
    for i in range(m):
        row, packed = A[i, p0 : p0 + kc], ap[i]
        for p in range(kc):
            packed[p] = row[p]
    return ap


@njit
def pack_columns(B, p0, kc, j0, nc, buf):
    """B[p0 : p0 + kc, j0 : j0 + nc].T as contiguous rows in ``buf``, zero rows up to a multiple of NR.

    It reads B along rows, in strips of 64 columns: the reads have unit stride, and the 64 rows
    being written stay in L1 until their cache lines are full.
    """
    bt = buf[: _round_up(nc, NR) * kc].reshape((-1, kc))
    for j_strip in range(0, nc, 64):
        for p in range(kc):
            row = B[p0 + p]
            for j in range(j_strip, min(j_strip + 64, nc)):
                bt[j, p] = row[j0 + j]
    bt[nc:, :] = 0
    return bt


@njit(fastmath=True, inline="always")
def _tile(a, i, b, j, c, ci, cj):
    """c[ci:ci+6, cj:cj+4] += a[i:i+6] @ b[j:j+4].T, where a and b hold packed rows of one slab."""
    a0, a1, a2, a3, a4, a5 = a[i], a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5]
    b0, b1, b2, b3 = b[j], b[j + 1], b[j + 2], b[j + 3]
    zero = c.dtype.type(0)  # a zero of C's dtype: 0.0 would make float32 sums float64
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = s20 = s21 = s22 = s23 = zero
    s30 = s31 = s32 = s33 = s40 = s41 = s42 = s43 = s50 = s51 = s52 = s53 = zero
    for p in range(b0.size):
        s00 += a0[p] * b0[p]; s01 += a0[p] * b1[p]; s02 += a0[p] * b2[p]; s03 += a0[p] * b3[p]  # noqa: E702
        s10 += a1[p] * b0[p]; s11 += a1[p] * b1[p]; s12 += a1[p] * b2[p]; s13 += a1[p] * b3[p]  # noqa: E702
        s20 += a2[p] * b0[p]; s21 += a2[p] * b1[p]; s22 += a2[p] * b2[p]; s23 += a2[p] * b3[p]  # noqa: E702
        s30 += a3[p] * b0[p]; s31 += a3[p] * b1[p]; s32 += a3[p] * b2[p]; s33 += a3[p] * b3[p]  # noqa: E702
        s40 += a4[p] * b0[p]; s41 += a4[p] * b1[p]; s42 += a4[p] * b2[p]; s43 += a4[p] * b3[p]  # noqa: E702
        s50 += a5[p] * b0[p]; s51 += a5[p] * b1[p]; s52 += a5[p] * b2[p]; s53 += a5[p] * b3[p]  # noqa: E702
    c[ci, cj] += s00; c[ci, cj + 1] += s01; c[ci, cj + 2] += s02; c[ci, cj + 3] += s03  # noqa: E702
    c[ci + 1, cj] += s10; c[ci + 1, cj + 1] += s11; c[ci + 1, cj + 2] += s12; c[ci + 1, cj + 3] += s13  # noqa: E702
    c[ci + 2, cj] += s20; c[ci + 2, cj + 1] += s21; c[ci + 2, cj + 2] += s22; c[ci + 2, cj + 3] += s23  # noqa: E702
    c[ci + 3, cj] += s30; c[ci + 3, cj + 1] += s31; c[ci + 3, cj + 2] += s32; c[ci + 3, cj + 3] += s33  # noqa: E702
    c[ci + 4, cj] += s40; c[ci + 4, cj + 1] += s41; c[ci + 4, cj + 2] += s42; c[ci + 4, cj + 3] += s43  # noqa: E702
    c[ci + 5, cj] += s50; c[ci + 5, cj + 1] += s51; c[ci + 5, cj + 2] += s52; c[ci + 5, cj + 3] += s53  # noqa: E702


@njit(fastmath=True)
def multiply_block(ap, bt, out, i0, i1, j0):
    """out[i0:i1, j0 : j0 + nc] += ap[i0:i1] @ bt.T, one MR x NR tile at a time; i0 is a multiple of MR.

    Tiles that overhang the edge of ``out`` (the last rows or columns, where the packed buffers
    hold zeros) are computed into ``edge`` and only their real part is added.
    """
    prefer_vector_width(VECTOR_BITS)
    m, n = out.shape
    edge = np.empty((MR, NR), out.dtype)
    for i in range(i0, i1, MR):
        rows = min(MR, m - i)
        for j in range(0, bt.shape[0], NR):
            cols = min(NR, n - j0 - j)
            if rows == MR and cols == NR:
                _tile(ap, i, bt, j, out, i, j0 + j)
            else:
                edge[:, :] = 0
                _tile(ap, i, bt, j, edge, 0, 0)
                for r in range(rows):
                    for s in range(cols):
                        out[i + r, j0 + j + s] += edge[r, s]


@njit
def buffers(A, B):
    """The two packing buffers, sized for the largest slab and block, allocated once per call."""
    (m, k), n = A.shape, B.shape[1]
    kc = min(KC, k)
    return np.empty(_round_up(m, MR) * kc, A.dtype), np.empty(_round_up(min(NC, n), NR) * kc, A.dtype)


@njit
def blocked(A, B, out):
    (m, k), n = A.shape, B.shape[1]
    a_buf, b_buf = buffers(A, B)
    out[:, :] = 0
    for p0 in range(0, k, KC):
        kc = min(KC, k - p0)
        ap = pack_rows(A, p0, kc, a_buf)
        for j0 in range(0, n, NC):
            bt = pack_columns(B, p0, kc, j0, min(NC, n - j0), b_buf)
            multiply_block(ap, bt, out, 0, m, j0)
    return out
