"""STREAM in NumPy: one ufunc call per operation, writing straight into the output.

``out=`` avoids the temporary array that ``b + s * c`` would allocate; triad still makes one
temporary for ``s * c`` because NumPy evaluates one operation at a time.
"""

import numpy as np


def copy(b, out):
    np.copyto(out, b)
    return out


def scale(b, s, out):
    return np.multiply(b, s, out=out)


def add(b, c, out):
    return np.add(b, c, out=out)


def triad(b, c, s, out):
    return np.add(b, np.multiply(c, s), out=out)
