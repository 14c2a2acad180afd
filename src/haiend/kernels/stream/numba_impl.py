"""STREAM as plain loops compiled by Numba: one pass over memory, no temporaries."""

from numba import njit


@njit
def copy(b, out):
    for i in range(out.size):
        out[i] = b[i]
    return out


@njit
def scale(b, s, out):
    for i in range(out.size):
        out[i] = s * b[i]
    return out


@njit
def add(b, c, out):
    for i in range(out.size):
        out[i] = b[i] + c[i]
    return out


@njit
def triad(b, c, s, out):
    for i in range(out.size):
        out[i] = b[i] + s * c[i]
    return out
