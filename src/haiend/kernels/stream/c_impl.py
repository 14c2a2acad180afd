"""STREAM in C (stream.c), compiled at first use and called through ctypes.

``library(flags)`` builds with any flags, so the compilers chapter can compare them; the
variant itself uses ``haiend.cbuild.default_flags()``, read at its first call.
"""

import ctypes
import functools
from pathlib import Path

import numpy as np

from haiend import cbuild, threads

SOURCE = Path(__file__).with_name("stream.c")
_vector = np.ctypeslib.ndpointer(dtype=np.float64, ndim=1, flags="C_CONTIGUOUS")
_SIGNATURES = {
    "stream_copy": [_vector, _vector],
    "stream_scale": [_vector, ctypes.c_double, _vector],
    "stream_add": [_vector, _vector, _vector],
    "stream_triad": [_vector, _vector, ctypes.c_double, _vector],
}


@functools.cache
def library(flags: tuple[str, ...] | None = None) -> cbuild.Built:
    """The compiled stream.c, built once per process and flag set (None: the default flags)."""
    built = cbuild.build(SOURCE, flags)
    for name, arguments in _SIGNATURES.items():
        function = getattr(built.library, name)
        function.argtypes = [*arguments, ctypes.c_size_t, ctypes.c_int]
        function.restype = None
    return built


def copy(b, out):
    library().library.stream_copy(b, out, out.size, threads.current())
    return out


def scale(b, s, out):
    library().library.stream_scale(b, s, out, out.size, threads.current())
    return out


def add(b, c, out):
    library().library.stream_add(b, c, out, out.size, threads.current())
    return out


def triad(b, c, s, out):
    library().library.stream_triad(b, c, s, out, out.size, threads.current())
    return out
