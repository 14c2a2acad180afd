"""Matrix multiplication in C (matmul.c), compiled at first use and called through ctypes.

``library(flags)`` builds with any flags, so the compilers chapter can compare them (try
``-O2`` against ``-O3 -march=native`` and look for ``vfmadd`` in the assembly); the variant
itself uses ``haiend.cbuild.default_flags()``, read at its first call. One function per dtype:
``matmul_double`` and ``matmul_float``.
"""

import ctypes
import functools
from pathlib import Path

import numpy as np

from haiend import cbuild, threads

SOURCE = Path(__file__).with_name("matmul.c")
_FUNCTIONS = {"float64": "matmul_double", "float32": "matmul_float"}


@functools.cache
def library(flags: tuple[str, ...] | None = None) -> cbuild.Built:
    """The compiled matmul.c, built once per process and flag set (None: the default flags)."""
    built = cbuild.build(SOURCE, flags)
    for dtype, name in _FUNCTIONS.items():
        matrix = np.ctypeslib.ndpointer(dtype=dtype, ndim=2, flags="C_CONTIGUOUS")
        function = getattr(built.library, name)
        function.argtypes = [
            matrix,
            matrix,
            matrix,
            ctypes.c_size_t,
            ctypes.c_size_t,
            ctypes.c_size_t,
            ctypes.c_int,
        ]
        function.restype = None
    return built


def matmul(A, B, out):
    (m, k), n = A.shape, B.shape[1]
    function = getattr(library().library, _FUNCTIONS[out.dtype.name])
    function(A, B, out, m, k, n, threads.current())
    return out
