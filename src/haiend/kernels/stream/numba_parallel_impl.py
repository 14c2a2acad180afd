"""STREAM with ``prange``: Numba splits each loop into one static chunk per thread."""

from numba import njit, prange


@njit(parallel=True)
def copy(b, out):
    for i in prange(out.size):
        out[i] = b[i]
    return out


@njit(parallel=True)
def scale(b, s, out):
    for i in prange(out.size):
        out[i] = s * b[i]
    return out


@njit(parallel=True)
def add(b, c, out):
    for i in prange(out.size):
        out[i] = b[i] + c[i]
    return out


@njit(parallel=True)
def triad(b, c, s, out):
    for i in prange(out.size):
        out[i] = b[i] + s * c[i]
    return out
