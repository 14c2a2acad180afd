"""Attention in C (attention.c), compiled at first use and called through ctypes.

The variant builds with ``haiend.cbuild.default_flags()`` (``$HAIEND_CFLAGS`` overrides them) and
``-lm`` for exp and sqrt; ``library(flags)`` builds with any flags, so a lab can compare them. One
function per dtype, ``attention_float64`` and ``attention_float32``, each OpenMP over the
batch x heads heads.
"""

import ctypes
import functools
from pathlib import Path

import numpy as np

from haiend import cbuild, threads

SOURCE = Path(__file__).with_name("attention.c")
EXTRA = ("-lm",)
DTYPES = ("float64", "float32")


@functools.cache
def library(flags: tuple[str, ...] | None = None) -> cbuild.Built:
    """The compiled attention.c, built once per process and flag set (None: the default flags)."""
    built = cbuild.build(SOURCE, flags, extra=EXTRA)
    for dtype in DTYPES:
        array = np.ctypeslib.ndpointer(dtype=dtype, ndim=4, flags="C_CONTIGUOUS")
        function = getattr(built.library, f"attention_{dtype}")
        function.argtypes = [array] * 4 + [ctypes.c_size_t] * 3 + [ctypes.c_int]
        function.restype = None
    return built


def attention(Q, K, V, out):
    batch, heads, seq, d = Q.shape
    function = getattr(library().library, f"attention_{out.dtype.name}")
    function(Q, K, V, out, batch * heads, seq, d, threads.current())
    return out
