"""Attention as a numba-cuda kernel: one GPU thread per query row of one head.

The grid's x axis runs over query rows i and its y axis over the batch x heads heads. Each thread
makes two passes over the keys of its head: the first finds the largest score (so that no exp
overflows), the second adds exp(s_ij - max) into a running sum and exp(s_ij - max) v_j into its
output row in global memory, which it finally divides by the sum. The scores are computed twice
rather than stored: no seq x seq matrix, and no per-thread array of unknown length. This is the
simple version; FlashAttention's kernels stage tiles of K and V in shared memory and let a block
of threads share them. Under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) the kernel runs on
the CPU, one Python thread per GPU thread, which is how it is tested without a GPU.
"""

import math

from numba import cuda

ROWS_PER_BLOCK = 64


@cuda.jit
def _attention(Q, K, V, out):
    i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    bh = cuda.blockIdx.y
    heads, seq, d = Q.shape[1], Q.shape[2], Q.shape[3]
    if i >= seq:
        return
    b, h = bh // heads, bh % heads
    q, k, v, o = Q[b, h], K[b, h], V[b, h], out[b, h]
    scale = Q.dtype.type(1.0 / math.sqrt(d))
    top = -math.inf
    for j in range(seq):
        acc = Q.dtype.type(0)
        for c in range(d):
            acc += q[i, c] * k[j, c]
        top = max(top, acc * scale)
    for c in range(d):
        o[i, c] = 0
    total = Q.dtype.type(0)
    for j in range(seq):
        acc = Q.dtype.type(0)
        for c in range(d):
            acc += q[i, c] * k[j, c]
        p = math.exp(acc * scale - top)
        total += p
        for c in range(d):
            o[i, c] += p * v[j, c]
    for c in range(d):
        o[i, c] /= total


def attention(Q, K, V, out):
    batch, heads, seq = Q.shape[:3]
    blocks = ((seq + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK, batch * heads)
    _attention[blocks, ROWS_PER_BLOCK](Q, K, V, out)
    return out
