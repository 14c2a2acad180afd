"""The array namespace of an array: ``cupy`` for CuPy arrays, ``numpy`` otherwise."""

import sys

import numpy


def array_namespace(*arrays):
    """Return the module that owns these arrays, without importing CuPy when it is not in use."""
    cupy = sys.modules.get("cupy")
    if cupy is not None and any(isinstance(a, cupy.ndarray) for a in arrays):
        return cupy
    return numpy
