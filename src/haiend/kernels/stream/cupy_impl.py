"""STREAM as array code against the array namespace ``xp``: NumPy on a CPU, CuPy on a GPU.

The same functions run in the tests on NumPy arrays and on a GPU on CuPy arrays, because
``xp`` is taken from the arrays themselves. Triad is two passes (scale into ``out``, then add),
so it moves 5 arrays' worth of data where a fused loop moves 3: the price of array-level code.
"""

from haiend.kernels.xp import array_namespace


def copy(b, out):
    xp = array_namespace(b)
    xp.copyto(out, b)
    return out


def scale(b, s, out):
    xp = array_namespace(b)
    return xp.multiply(b, s, out=out)


def add(b, c, out):
    xp = array_namespace(b)
    return xp.add(b, c, out=out)


def triad(b, c, s, out):
    xp = array_namespace(b)
    xp.multiply(c, s, out=out)
    return xp.add(out, b, out=out)
