"""STREAM as hand-written CUDA kernels in numba-cuda: one thread per element.

Each kernel is launched over ``ceil(n / 256)`` blocks of 256 threads, and a thread whose global
index lies past the end does nothing. Under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``)
the same kernels run on the CPU, which is how their correctness is tested without a GPU.
"""

from numba import cuda

THREADS_PER_BLOCK = 256


@cuda.jit
def _copy(b, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = b[i]


@cuda.jit
def _scale(b, s, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = s * b[i]


@cuda.jit
def _add(b, c, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = b[i] + c[i]


@cuda.jit
def _triad(b, c, s, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = b[i] + s * c[i]


def _blocks(n):
    return (n + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK


def copy(b, out):
    _copy[_blocks(out.size), THREADS_PER_BLOCK](b, out)
    return out


def scale(b, s, out):
    _scale[_blocks(out.size), THREADS_PER_BLOCK](b, s, out)
    return out


def add(b, c, out):
    _add[_blocks(out.size), THREADS_PER_BLOCK](b, c, out)
    return out


def triad(b, c, s, out):
    _triad[_blocks(out.size), THREADS_PER_BLOCK](b, c, s, out)
    return out
