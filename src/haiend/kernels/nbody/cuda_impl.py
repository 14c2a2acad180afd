"""Softened gravity as a numba-cuda kernel: one GPU thread per body i, looping over every j.

Each thread keeps its body's position and the three sums in registers and reads the other
bodies from global memory; all threads of a block read the same r_j at the same moment, so the
caches serve most of those reads. (Staging tiles of bodies in shared memory, as in GPU Gems 3
chapter 31, is the classic next step.) ``positions.dtype.type`` makes the constants in the arrays'
dtype, so the float32 kernel does float32 arithmetic, which GPUs do far faster than float64.
Under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) the kernel runs on the CPU, which is
how it is tested without a GPU. ``fastmath=True`` lets the GPU use its fast approximate
reciprocal and square root, as -ffast-math does for the C variant.
"""

import math

from numba import cuda

THREADS_PER_BLOCK = 128


@cuda.jit(fastmath=True)
def _accelerations(positions, masses, eps, out):
    i = cuda.grid(1)
    n = positions.shape[0]
    if i >= n:
        return
    one = positions.dtype.type(1)
    eps2 = positions.dtype.type(eps * eps)
    xi, yi, zi = positions[i, 0], positions[i, 1], positions[i, 2]
    ax = ay = az = positions.dtype.type(0)
    for j in range(n):
        dx = positions[j, 0] - xi
        dy = positions[j, 1] - yi
        dz = positions[j, 2] - zi
        inv = one / math.sqrt(dx * dx + dy * dy + dz * dz + eps2)
        s = masses[j] * inv * inv * inv
        ax += dx * s
        ay += dy * s
        az += dz * s
    out[i, 0] = ax
    out[i, 1] = ay
    out[i, 2] = az


def accelerations(positions, masses, eps, out):
    n = positions.shape[0]
    blocks = (n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK
    _accelerations[blocks, THREADS_PER_BLOCK](positions, masses, eps, out)
    return out
