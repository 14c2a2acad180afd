"""STREAM over MPI ranks: each rank owns one contiguous block of the vectors.

STREAM needs no communication: each rank runs the compiled loop on its own block, and a barrier
ends the timed call so that it lasts as long as the slowest rank. Only after timing are the
blocks gathered (Gatherv on the NumPy buffers) so that rank 0 holds the whole result.
"""

import numpy as np

from haiend.kernels import PreparedCall
from haiend.kernels.stream import numba_impl
from haiend.mpi import block_counts, world


def prepare(variant, inputs):
    """Give this rank its block; ``variant.impl`` (a numba_impl loop) runs on it when timed."""
    from mpi4py import MPI

    comm = world()
    rank = comm.Get_rank()
    counts, displacements = block_counts(inputs[0].size, comm.Get_size())
    lo, hi = displacements[rank], displacements[rank] + counts[rank]
    local_inputs = tuple(x[lo:hi] if isinstance(x, np.ndarray) else x for x in inputs)
    local_out = np.zeros(hi - lo)
    full = variant.kernel.allocate_output(*inputs) if rank == 0 else None

    def call():
        variant.impl(*local_inputs, local_out)
        comm.Barrier()

    def result():
        receive = [full, counts, displacements, MPI.DOUBLE] if rank == 0 else None
        comm.Gatherv(local_out, receive, root=0)
        return full if rank == 0 else local_out

    return PreparedCall(call=call, result=result)


# What each rank computes on its block is the compiled loop of numba_impl.
copy, scale, add, triad = numba_impl.copy, numba_impl.scale, numba_impl.add, numba_impl.triad
