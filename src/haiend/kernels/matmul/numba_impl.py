"""Matrix multiplication in Numba: the textbook loop, then the same loop blocked like BLAS.

``matmul`` is the first version a learner writes. The loop order is i-k-j: the innermost loop
runs along a row of B and a row of C (unit stride), so LLVM vectorises it; the i-j-k order
walks down a column of B instead, and is many times slower. Every multiply-add still loads and
stores C, and B is streamed from memory once per row of A.

``blocked`` follows the design of GotoBLAS and BLIS (pack, block for the caches, tile for the
registers). Its sizes are not constants: ``haiend.tune`` derives them from this machine's
fingerprint (``haiend tune`` prints them with their rules), and this module reads them once, at
import, because Numba freezes module globals when it compiles. In five steps:

1. Slabs of k: C = A @ B is a sum over slabs of KC columns of A times KC rows of B, added into
   C one slab after another; and blocks of MC rows of A, one after another. KC is derived for
   doubles; ``slab_depth`` keeps its bytes in other dtypes (2 KC floats).
2. Packing: for each block and slab, ``pack_rows`` copies A's KC columns into contiguous rows,
   and for each block of NC columns of B, ``pack_columns`` copies that block's transpose, so
   that every dot product the tile computes reads two contiguous rows. Both buffers are
   allocated once and reused: no fresh memory is faulted in.
3. Cache blocking: the packed NC x KC block of B is sized to stay in L2 while every row tile of
   A passes over it, the MR x KC rows of A in use to stay in L1, the packed MC x KC rows of A
   in the last-level cache (``haiend.tune`` gives the rule for each).
4. Register blocking: a tile function computes an MR x NR block of C as MR x NR dot products of
   length KC at once, in as many local scalars. LLVM turns each into a vector accumulator (the
   vector runs along k), and each vector loaded from A or B feeds NR or MR fused multiply-adds.
   Accumulators, B's NR vectors and one of A must all fit the vector registers: 6 x 4 needs 29
   of AVX-512's (or NEON's) 32, and would spill on AVX2's 16, where 4 x 3 needs 16. A tile
   generic in MR and NR would keep its accumulators in an array, which reach registers only if
   LLVM first unrolls every loop over them; written out, nothing is left to that chance. So each
   shape is its own hand-unrolled function (``_tile_6x4``, ``_tile_4x3``) and ``_tile`` is the
   one the derived MR x NR names. ``fastmath=True`` lets LLVM reorder the
   sums, which is what vectorising a dot product needs; each accumulator is summed across its
   lanes once per slab.
5. Vector width: ``multiply_block`` calls ``prefer_vector_width(VECTOR_BITS)``, the derived
   width, which asks LLVM for that width in that one function (``haiend.kernels.vector_width``
   explains why LLVM otherwise uses 256-bit vectors on Intel server cores). On an AVX-512 CPU
   the hot loop is then MR x NR ``vfmadd231pd`` on ``zmm`` registers: check with
   ``multiply_block.inspect_asm(multiply_block.signatures[0])``.

What still separates this from OpenBLAS is its outer-product micro-kernel in assembly, which
needs no sum across lanes, and prefetching tuned for each CPU.

The loops range over whole rows (``range(b0.size)`` on a row view), not ``range(p0, p1)``
inside a larger row: a start LLVM cannot prove non-negative brings Numba's negative-index
wrap-around into the loop, which stops it vectorising.
"""

import numpy as np
from numba import njit

from haiend import tune
from haiend.kernels.vector_width import prefer_vector_width

_TUNING = tune.this_machine()
MR, NR = _TUNING["matmul_mr"], _TUNING["matmul_nr"]  # the register tile of C
MC, KC, NC = _TUNING["matmul_mc"], _TUNING["matmul_kc"], _TUNING["matmul_nc"]  # the cache blocks
SLAB_BYTES = 8 * KC  # haiend.tune derives KC in 8-byte doubles: a slab row of any dtype keeps these bytes
VECTOR_BITS = _TUNING["vector_bits"]  # what multiply_block asks LLVM for


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
def pack_rows(A, i0, mc, p0, kc, buf):
    """A[i0 : i0 + mc, p0 : p0 + kc] as contiguous rows in ``buf``, zero rows up to a multiple of MR."""
    ap = buf[: _round_up(mc, MR) * kc].reshape((-1, kc))
    ap[mc:, :] = 0
    for i in range(mc):
        row, packed = A[i0 + i, p0 : p0 + kc], ap[i]
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
def _tile_6x4(a, i, b, j, c, ci, cj):
    """c[ci:ci+6, cj:cj+4] += a[i:i+6] @ b[j:j+4].T, where a and b hold packed rows of one slab.

    24 accumulators, 4 B vectors and 1 of A: 29 registers, for the 32 of AVX-512 and NEON.
    """
    a0, a1, a2, a3, a4, a5 = a[i], a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5]
    b0, b1, b2, b3 = b[j], b[j + 1], b[j + 2], b[j + 3]
    zero = c.dtype.type(0)  # a zero of C's dtype: 0.0 would make float32 sums float64
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = s20 = s21 = s22 = s23 = zero
    s30 = s31 = s32 = s33 = s40 = s41 = s42 = s43 = s50 = s51 = s52 = s53 = zero
    for p in range(b0.size):
        s00 += a0[p] * b0[p]
        s01 += a0[p] * b1[p]
        s02 += a0[p] * b2[p]
        s03 += a0[p] * b3[p]  # noqa: E702
        s10 += a1[p] * b0[p]
        s11 += a1[p] * b1[p]
        s12 += a1[p] * b2[p]
        s13 += a1[p] * b3[p]  # noqa: E702
        s20 += a2[p] * b0[p]
        s21 += a2[p] * b1[p]
        s22 += a2[p] * b2[p]
        s23 += a2[p] * b3[p]  # noqa: E702
        s30 += a3[p] * b0[p]
        s31 += a3[p] * b1[p]
        s32 += a3[p] * b2[p]
        s33 += a3[p] * b3[p]  # noqa: E702
        s40 += a4[p] * b0[p]
        s41 += a4[p] * b1[p]
        s42 += a4[p] * b2[p]
        s43 += a4[p] * b3[p]  # noqa: E702
        s50 += a5[p] * b0[p]
        s51 += a5[p] * b1[p]
        s52 += a5[p] * b2[p]
        s53 += a5[p] * b3[p]  # noqa: E702
    c[ci, cj] += s00
    c[ci, cj + 1] += s01
    c[ci, cj + 2] += s02
    c[ci, cj + 3] += s03  # noqa: E702
    c[ci + 1, cj] += s10
    c[ci + 1, cj + 1] += s11
    c[ci + 1, cj + 2] += s12
    c[ci + 1, cj + 3] += s13  # noqa: E702
    c[ci + 2, cj] += s20
    c[ci + 2, cj + 1] += s21
    c[ci + 2, cj + 2] += s22
    c[ci + 2, cj + 3] += s23  # noqa: E702
    c[ci + 3, cj] += s30
    c[ci + 3, cj + 1] += s31
    c[ci + 3, cj + 2] += s32
    c[ci + 3, cj + 3] += s33  # noqa: E702
    c[ci + 4, cj] += s40
    c[ci + 4, cj + 1] += s41
    c[ci + 4, cj + 2] += s42
    c[ci + 4, cj + 3] += s43  # noqa: E702
    c[ci + 5, cj] += s50
    c[ci + 5, cj + 1] += s51
    c[ci + 5, cj + 2] += s52
    c[ci + 5, cj + 3] += s53  # noqa: E702


@njit(fastmath=True, inline="always")
def _tile_4x3(a, i, b, j, c, ci, cj):
    """c[ci:ci+4, cj:cj+3] += a[i:i+4] @ b[j:j+3].T, where a and b hold packed rows of one slab.

    12 accumulators, 3 B vectors and 1 of A: 16 registers, the number AVX2 and SSE have.
    """
    a0, a1, a2, a3 = a[i], a[i + 1], a[i + 2], a[i + 3]
    b0, b1, b2 = b[j], b[j + 1], b[j + 2]
    zero = c.dtype.type(0)
    s00 = s01 = s02 = s10 = s11 = s12 = s20 = s21 = s22 = s30 = s31 = s32 = zero
    for p in range(b0.size):
        s00 += a0[p] * b0[p]
        s01 += a0[p] * b1[p]
        s02 += a0[p] * b2[p]  # noqa: E702
        s10 += a1[p] * b0[p]
        s11 += a1[p] * b1[p]
        s12 += a1[p] * b2[p]  # noqa: E702
        s20 += a2[p] * b0[p]
        s21 += a2[p] * b1[p]
        s22 += a2[p] * b2[p]  # noqa: E702
        s30 += a3[p] * b0[p]
        s31 += a3[p] * b1[p]
        s32 += a3[p] * b2[p]  # noqa: E702
    c[ci, cj] += s00
    c[ci, cj + 1] += s01
    c[ci, cj + 2] += s02  # noqa: E702
    c[ci + 1, cj] += s10
    c[ci + 1, cj + 1] += s11
    c[ci + 1, cj + 2] += s12  # noqa: E702
    c[ci + 2, cj] += s20
    c[ci + 2, cj + 1] += s21
    c[ci + 2, cj + 2] += s22  # noqa: E702
    c[ci + 3, cj] += s30
    c[ci + 3, cj + 1] += s31
    c[ci + 3, cj + 2] += s32  # noqa: E702


TILES = {(6, 4): _tile_6x4, (4, 3): _tile_4x3}
_tile = TILES[MR, NR]


@njit(fastmath=True)
def multiply_block(ap, bt, out, i0, i1, j0, r0):
    """out[r0+i0 : r0+i1, j0 : j0+nc] += ap[i0:i1] @ bt.T, one MR x NR tile at a time (i0 a multiple of MR).

    Tiles that overhang the edge of ``out`` (the last rows or columns, where the packed buffers
    hold zeros) are computed into ``edge`` and only their real part is added.
    """
    prefer_vector_width(VECTOR_BITS)
    m, n = out.shape
    edge = np.empty((MR, NR), out.dtype)
    for i in range(i0, i1, MR):
        rows = min(MR, m - r0 - i)
        for j in range(0, bt.shape[0], NR):
            cols = min(NR, n - j0 - j)
            if rows == MR and cols == NR:
                _tile(ap, i, bt, j, out, r0 + i, j0 + j)
            else:
                edge[:, :] = 0
                _tile(ap, i, bt, j, edge, 0, 0)
                for r in range(rows):
                    for s in range(cols):
                        out[r0 + i + r, j0 + j + s] += edge[r, s]


@njit
def buffers(A, B, mc, kc, nc):
    """The two packing buffers, sized for the largest block and slab, allocated once per call."""
    (m, k), n = A.shape, B.shape[1]
    kc = min(kc, k)
    a_buf = np.empty(_round_up(min(mc, m), MR) * kc, A.dtype)
    return a_buf, np.empty(_round_up(min(nc, n), NR) * kc, A.dtype)


@njit
def slab_depth(A):
    """KC for A's dtype: as many items as KC doubles take bytes (2 KC in float32).

    The L1 and L2 rules of ``haiend.tune`` are about bytes, so a float32 slab holds twice the
    items; and each accumulator of a register tile then runs over as many vectors as in float64,
    so the sums across lanes at the end of a slab cost as little as they do there.
    """
    return SLAB_BYTES // A.itemsize


@njit
def blocked(A, B, out, mc=MC, kc=0, nc=NC):
    """A @ B into ``out``. The cache blocks default to the derived ones (``kc`` = 0: ``slab_depth``);
    they are only loop bounds, so a test can pass small ones to reach every edge at a small size."""
    (m, k), n = A.shape, B.shape[1]
    kc = kc if kc > 0 else slab_depth(A)
    a_buf, b_buf = buffers(A, B, mc, kc, nc)
    out[:, :] = 0
    for i0 in range(0, m, mc):
        rows = min(mc, m - i0)
        for p0 in range(0, k, kc):
            depth = min(kc, k - p0)
            ap = pack_rows(A, i0, rows, p0, depth, a_buf)
            for j0 in range(0, n, nc):
                bt = pack_columns(B, p0, depth, j0, min(nc, n - j0), b_buf)
                multiply_block(ap, bt, out, 0, rows, j0, i0)
    return out


# Low precision (float16, bfloat16). Numba has no bfloat16 type and no 16-bit arithmetic on CPUs:
# these widen the inputs to float32 (timed, m k + k n items against 2 m k n flops), sum in a float32
# array with the loops above, and round once into the 16-bit ``out``.


def widened(A, B, out):
    """``matmul`` (the i-k-j loop) on float32 copies; the sums stay in float32 until the end."""
    sums = np.empty(out.shape, np.float32)
    matmul(A.astype(np.float32), B.astype(np.float32), sums)
    out[...] = sums
    return out


def widened_blocked(A, B, out):
    """``blocked`` (packed, cache-blocked, register-tiled) on float32 copies, rounded once at the end."""
    sums = np.empty(out.shape, np.float32)
    blocked(A.astype(np.float32), B.astype(np.float32), sums)
    out[...] = sums
    return out
