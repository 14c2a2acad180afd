"""Matrix multiplication in Numba: the textbook loop, then the same loop blocked like BLAS.

``matmul`` is the first version a learner writes. The loop order is i-k-j: the innermost loop
runs along a row of B and a row of C (unit stride), so LLVM vectorises it; the i-j-k order
walks down a column of B instead, and is many times slower. Every multiply-add still loads and
stores C, and B is streamed from memory once per row of A.

``blocked`` does what BLAS does, in four steps:

1. Pack: copy A into ``Ap`` and the transpose of B into ``Bp``, cut into slabs of KC along k
   and padded with zeros to whole tiles, so that every tile reads contiguous rows.
2. Cache blocking: a block of NC rows of ``Bp`` (KC * NC elements, 512 KiB in float64) stays in
   L2 while every row of A passes over it; the MR rows of ``Ap`` in use stay in L1.
3. Register blocking: ``_tile`` computes an MR x NR = 6 x 4 block of C as 24 dot products of
   length KC at once, in 24 local scalars. LLVM turns each into a vector accumulator (24 ymm
   registers), and each vector loaded from A or B feeds 4 or 6 fused multiply-adds.
4. ``fastmath=True`` lets LLVM reorder the sums, which is what vectorising a dot product needs.

Check with ``blocked.inspect_asm()``: the hot loop is 24 ``vfmadd231pd`` on ``ymm`` registers
and 10 loads. LLVM uses 256-bit ymm rather than 512-bit zmm vectors because its tuning for
Intel server cores prefers 256 bits, and Numba gives no per-function way to change that; this,
and the horizontal sum each accumulator needs at the end of its KC slab, is what still separates
this loop from the hand-written AVX-512 assembly of OpenBLAS.

The loops range over whole rows (``range(a0.size)`` on a row view), not ``range(p0, p1)``
inside a larger row: a start LLVM cannot prove non-negative brings Numba's negative-index
wrap-around into the loop, which stops it vectorising.
"""

import numpy as np
from numba import njit

MR, NR = 6, 4  # the register tile of C: 24 accumulators
KC, NC = 256, 256  # the cache blocks: a KC slab of k, NC columns of C


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
def pack(X, rows, kc):
    """X (r, k) as slabs (k / kc, rows, kc): slab q, row i is X[i, q*kc : (q+1)*kc], zero-padded."""
    r, k = X.shape
    slabs = (k + kc - 1) // kc
    packed = np.zeros((slabs, rows, kc), X.dtype)
    for q in range(slabs):
        for i in range(r):
            for p in range(min(kc, k - q * kc)):
                packed[q, i, p] = X[i, q * kc + p]
    return packed


@njit(fastmath=True, inline="always")
def _tile(a, b, c, i, j):
    """c[i:i+6, j:j+4] += a[i:i+6] @ b[j:j+4].T, where a and b are slabs of packed rows."""
    a0, a1, a2, a3, a4, a5 = a[i], a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5]
    b0, b1, b2, b3 = b[j], b[j + 1], b[j + 2], b[j + 3]
    zero = c.dtype.type(0)  # a zero of C's dtype: 0.0 would make float32 sums float64
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = s20 = s21 = s22 = s23 = zero
    s30 = s31 = s32 = s33 = s40 = s41 = s42 = s43 = s50 = s51 = s52 = s53 = zero
    for p in range(a0.size):
        s00 += a0[p] * b0[p]; s01 += a0[p] * b1[p]; s02 += a0[p] * b2[p]; s03 += a0[p] * b3[p]  # noqa: E702
        s10 += a1[p] * b0[p]; s11 += a1[p] * b1[p]; s12 += a1[p] * b2[p]; s13 += a1[p] * b3[p]  # noqa: E702
        s20 += a2[p] * b0[p]; s21 += a2[p] * b1[p]; s22 += a2[p] * b2[p]; s23 += a2[p] * b3[p]  # noqa: E702
        s30 += a3[p] * b0[p]; s31 += a3[p] * b1[p]; s32 += a3[p] * b2[p]; s33 += a3[p] * b3[p]  # noqa: E702
        s40 += a4[p] * b0[p]; s41 += a4[p] * b1[p]; s42 += a4[p] * b2[p]; s43 += a4[p] * b3[p]  # noqa: E702
        s50 += a5[p] * b0[p]; s51 += a5[p] * b1[p]; s52 += a5[p] * b2[p]; s53 += a5[p] * b3[p]  # noqa: E702
    c[i, j] += s00; c[i, j + 1] += s01; c[i, j + 2] += s02; c[i, j + 3] += s03  # noqa: E702
    c[i + 1, j] += s10; c[i + 1, j + 1] += s11; c[i + 1, j + 2] += s12; c[i + 1, j + 3] += s13  # noqa: E702
    c[i + 2, j] += s20; c[i + 2, j + 1] += s21; c[i + 2, j + 2] += s22; c[i + 2, j + 3] += s23  # noqa: E702
    c[i + 3, j] += s30; c[i + 3, j + 1] += s31; c[i + 3, j + 2] += s32; c[i + 3, j + 3] += s33  # noqa: E702
    c[i + 4, j] += s40; c[i + 4, j + 1] += s41; c[i + 4, j + 2] += s42; c[i + 4, j + 3] += s43  # noqa: E702
    c[i + 5, j] += s50; c[i + 5, j + 1] += s51; c[i + 5, j + 2] += s52; c[i + 5, j + 3] += s53  # noqa: E702


@njit
def packed_operands(A, B):
    """Ap, Bp (B transposed) and a zeroed C, each padded to whole MR x NR tiles."""
    (m, k), n = A.shape, B.shape[1]
    rows, cols = -(-m // MR) * MR, -(-n // NR) * NR
    kc = min(KC, -(-k // 8) * 8)
    return pack(A, rows, kc), pack(B.T, cols, kc), np.zeros((rows, cols), A.dtype)


@njit(fastmath=True)
def multiply_rows(Ap, Bp, Cp, i0, i1):
    """Rows i0:i1 of Cp += Ap @ Bp.T, slab by slab; i0 and i1 are multiples of MR."""
    for j0 in range(0, Bp.shape[1], NC):
        c = Cp[:, j0:]
        for q in range(Ap.shape[0]):
            a, b = Ap[q], Bp[q, j0 : j0 + NC]
            for i in range(i0, i1, MR):
                for j in range(0, b.shape[0], NR):
                    _tile(a, b, c, i, j)


@njit
def unpad(Cp, out):
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = Cp[i, j]
    return out


@njit
def blocked(A, B, out):
    Ap, Bp, Cp = packed_operands(A, B)
    multiply_rows(Ap, Bp, Cp, 0, Cp.shape[0])
    return unpad(Cp, out)
