"""Softened gravity in C (nbody.c), compiled at first use and called through ctypes.

The variant builds with ``FLAGS``: ``-O3 -march=native -ffast-math -fopenmp``, the flags a C
programmer would use for this loop. ``-ffast-math`` matters here (``cbuild.DEFAULT_FLAGS`` lacks
it): it includes ``-fno-math-errno``, without which ``sqrt`` may not become a vector instruction.
If ``$HAIEND_CFLAGS`` is set, its flags are used instead. ``library(flags)`` builds with any
flags, so the compilers chapter can compare -O0, -O3, -ffast-math and -fno-math-errno.
The positions are passed as the same x, y, z arrays the Numba variants loop over, so that the
comparison with them measures the compilers, not the data layout.
"""

import ctypes
import functools
from pathlib import Path

import numpy as np

from haiend import cbuild, threads
from haiend.kernels.nbody.numpy_impl import columns

SOURCE = Path(__file__).with_name("nbody.c")
FLAGS = ("-O3", "-march=native", "-ffast-math", "-fopenmp")
EXTRA = ("-lm",)  # sqrt lives in libm
_SCALARS = {"float64": ctypes.c_double, "float32": ctypes.c_float}


def variant_flags() -> tuple[str, ...]:
    """FLAGS, unless $HAIEND_CFLAGS asks for others."""
    chosen = cbuild.default_flags()
    return chosen if chosen != cbuild.DEFAULT_FLAGS else FLAGS


@functools.cache
def library(flags: tuple[str, ...] | None = None) -> cbuild.Built:
    """The compiled nbody.c, built once per process and flag set (None: this variant's flags)."""
    built = cbuild.build(SOURCE, flags if flags is not None else variant_flags(), extra=EXTRA)
    for dtype, scalar in _SCALARS.items():
        array = np.ctypeslib.ndpointer(dtype=dtype, flags="C_CONTIGUOUS")
        function = getattr(built.library, f"nbody_{dtype}")
        function.argtypes = [array, array, array, array, scalar, array, ctypes.c_size_t, ctypes.c_int]
        function.restype = None
    return built


def accelerations(positions, masses, eps, out):
    function = getattr(library().library, f"nbody_{out.dtype.name}")
    x, y, z = columns(positions)  # the same layout the Numba variants use
    function(x, y, z, masses, eps, out, out.shape[0], threads.current())
    return out
