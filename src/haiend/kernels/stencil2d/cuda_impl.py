"""stencil2d as a numba-cuda kernel: one GPU thread per interior point, one launch per sweep.

The launch is a 2D grid of 32 x 8 thread blocks; x runs along a row, so the 32 threads of a warp
read 32 neighbouring doubles (one coalesced access). A launch returning is the barrier between
sweeps: every point of one sweep is written before the next launch reads it.

Without a GPU, ``NUMBA_ENABLE_CUDASIM=1`` (set before ``numba.cuda`` is first imported, so tests
run it in a fresh process) runs the same kernel on the CPU, one simulated thread at a time:
correct, and slow, so keep simulated grids tiny.
"""

from numba import cuda

from haiend.kernels.stencil2d.buffers import sweep_pairs

BLOCK = (32, 8)


@cuda.jit
def _sweep(src, dst):
    j, i = cuda.grid(2)
    ny, nx = src.shape
    if 0 < i < ny - 1 and 0 < j < nx - 1:
        dst[i, j] = 0.25 * (src[i - 1, j] + src[i + 1, j] + src[i, j - 1] + src[i, j + 1])


def stencil2d(u0, steps, out):
    ny, nx = out.shape
    blocks = ((nx + BLOCK[0] - 1) // BLOCK[0], (ny + BLOCK[1] - 1) // BLOCK[1])
    for src, dst in sweep_pairs(u0, steps, out):
        _sweep[blocks, BLOCK](src, dst)
    return out
