"""Matrix multiplication over MPI ranks: each rank computes one block of rows of C.

Row i of C needs row i of A and all of B. Every rank already holds both inputs (the variant
contract), so rank r multiplies its rows ``A[lo:hi]`` by B with its local BLAS and needs no
communication while it computes; a barrier ends the timed call so that it lasts as long as the
slowest rank. The rows split as evenly as ``block_counts`` allows (sizes differ by at most one).
After timing, ``result()`` gathers the blocks to rank 0 with Gatherv on the NumPy buffers:
counts and displacements are in elements, so a block of r rows is ``r * n`` of them.

Each rank's BLAS uses the thread count in force (``--threads``); run with ``--threads 1`` to
give every rank one core.
"""

import numpy as np

from haiend.kernels import PreparedCall
from haiend.mpi import block_counts, world


def matmul(A, B, out):
    """What one rank computes: its rows of A times B (on one rank, the whole product)."""
    return np.matmul(A, B, out=out)


def prepare(variant, inputs):
    from mpi4py.util.dtlib import from_numpy_dtype

    A, B = inputs
    comm = world()
    rank = comm.Get_rank()
    rows, first = block_counts(A.shape[0], comm.Get_size())
    lo, hi = first[rank], first[rank] + rows[rank]
    n = B.shape[1]
    local_A = A[lo:hi]
    local_out = np.zeros((hi - lo, n), dtype=A.dtype)
    full = variant.kernel.allocate_output(A, B) if rank == 0 else None

    def call():
        matmul(local_A, B, local_out)
        comm.Barrier()

    def result():
        receive = [full, rows * n, first * n, from_numpy_dtype(A.dtype)] if rank == 0 else None
        comm.Gatherv(local_out, receive, root=0)
        return full if rank == 0 else local_out

    return PreparedCall(call=call, result=result)
