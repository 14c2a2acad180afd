"""stencil2d in C (stencil2d.c): one compiled sweep, called once per sweep through ctypes.

Python keeps the bookkeeping (which grid each sweep reads and writes, see ``buffers``) and C does
the arithmetic; a sweep of a large grid takes milliseconds, so the microseconds of each ctypes
call do not show. ``library(flags)`` builds with any flags, so the compilers chapter can compare
them; the variant uses ``haiend.cbuild.default_flags()``, read at its first call.
"""

import ctypes
import functools
from pathlib import Path

import numpy as np

from haiend import cbuild, threads
from haiend.kernels.stencil2d.buffers import sweep_pairs

SOURCE = Path(__file__).with_name("stencil2d.c")
_grid = np.ctypeslib.ndpointer(dtype=np.float64, ndim=2, flags="C_CONTIGUOUS")


@functools.cache
def library(flags: tuple[str, ...] | None = None) -> cbuild.Built:
    """The compiled stencil2d.c, built once per process and flag set (None: the default flags)."""
    built = cbuild.build(SOURCE, flags)
    function = built.library.stencil2d_sweep
    function.argtypes = [_grid, _grid, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int]
    function.restype = None
    return built


def stencil2d(u0, steps, out):
    sweep = library().library.stencil2d_sweep
    ny, nx = out.shape
    for src, dst in sweep_pairs(u0, steps, out):
        sweep(src, dst, ny, nx, threads.current())
    return out
