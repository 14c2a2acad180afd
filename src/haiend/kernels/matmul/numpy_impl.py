"""Matrix multiplication in NumPy: ``np.matmul`` hands the whole product to BLAS.

For float64 and float32 NumPy calls the BLAS routines ``dgemm`` and ``sgemm`` (OpenBLAS in the
wheels), with a micro-kernel written in assembly for this CPU's vector instructions and as many
threads as ``haiend.threads.limit`` allows. ``out=`` writes into the prepared array, so the timed
call allocates nothing. This is the baseline every other realisation is measured against.

For float16 NumPy has no BLAS routine: ``np.matmul`` runs its own loop, which converts each item
to float32, sums in float32 and rounds the result to float16. For ``ml_dtypes.bfloat16`` NumPy
finds no bfloat16 loop and casts to float32 (``A @ B`` returns float32; with ``out=`` of bfloat16
the result is rounded into it). ``widened`` makes the float32 route explicit. labs/precision.ipynb
checks all of this on the pinned versions.
"""

import numpy as np


def matmul(A, B, out):
    return np.matmul(A, B, out=out)


def widened(A, B, out):
    """float16 or bfloat16 A and B: widened to float32, multiplied by sgemm, rounded once into ``out``.

    Low-precision inputs and float32 sums, as hardware without 16-bit arithmetic must do it. The
    two copies (m k + k n items) are timed with the product; they cost little beside its 2 m k n flops.
    """
    product = np.matmul(A.astype(np.float32), B.astype(np.float32))
    out[...] = product  # one rounding to out's dtype
    return out
