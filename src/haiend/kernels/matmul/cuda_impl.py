"""Matrix multiplication as a numba-cuda kernel with 16x16 tiles in shared memory.

One thread computes one element of C; a 16x16 block of threads computes a 16x16 tile. The dot
products are walked in steps of 16: each thread loads one element of A's tile and one of B's
into shared memory, the block waits (``syncthreads``), every thread adds its 16 products from
the fast shared copies, and the block waits again before the tiles are overwritten. Each element
of A and B is thus read from global memory once per tile instead of once per product (16x less
traffic). Threads past the edge of a matrix load zeros and store nothing, which handles sizes
that are not multiples of 16.

Under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, set before ``numba.cuda`` is first
imported) the same kernel runs on the CPU, one Python thread per GPU thread: correct, and slow,
so the tests use tiny sizes.
"""

import math

from numba import cuda, float32, float64

TILE = 16


def _tiled_kernel(dtype):
    @cuda.jit
    def kernel(A, B, C):
        a_tile = cuda.shared.array((TILE, TILE), dtype)
        b_tile = cuda.shared.array((TILE, TILE), dtype)
        ty, tx = cuda.threadIdx.y, cuda.threadIdx.x
        row, col = cuda.blockIdx.y * TILE + ty, cuda.blockIdx.x * TILE + tx
        m, k = A.shape
        n = B.shape[1]
        acc = dtype(0)
        for t in range((k + TILE - 1) // TILE):
            p = t * TILE
            a_tile[ty, tx] = A[row, p + tx] if row < m and p + tx < k else dtype(0)
            b_tile[ty, tx] = B[p + ty, col] if p + ty < k and col < n else dtype(0)
            cuda.syncthreads()
            for q in range(TILE):
                acc += a_tile[ty, q] * b_tile[q, tx]
            cuda.syncthreads()
        if row < m and col < n:
            C[row, col] = acc

    return kernel


_KERNELS = {"float64": _tiled_kernel(float64), "float32": _tiled_kernel(float32)}


def matmul(A, B, out):
    blocks = (math.ceil(out.shape[1] / TILE), math.ceil(out.shape[0] / TILE))
    _KERNELS[out.dtype.name][blocks, (TILE, TILE)](A, B, out)
    return out
