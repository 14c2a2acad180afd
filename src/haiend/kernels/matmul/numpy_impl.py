"""Matrix multiplication in NumPy: ``np.matmul`` hands the whole product to BLAS.

For float64 and float32 NumPy calls the BLAS routines ``dgemm`` and ``sgemm`` (OpenBLAS in the
wheels), with a micro-kernel written in assembly for this CPU's vector instructions and as many
threads as ``haiend.threads.limit`` allows. ``out=`` writes into the prepared array, so the timed
call allocates nothing. This is the baseline every other realisation is measured against.
"""

import numpy as np


def matmul(A, B, out):
    return np.matmul(A, B, out=out)
