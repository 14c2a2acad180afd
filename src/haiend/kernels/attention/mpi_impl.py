"""Attention over MPI ranks: the batch x heads heads are split into one block per rank.

Heads are independent, so rank r computes the heads ``block_counts`` gives it (blocks that differ
by at most one head; with more ranks than heads the last ranks hold none) with the fused Numba
loop (``fused_impl``) and needs no communication while it computes; a barrier ends the timed call
so that it lasts as long as the slowest rank. Q, K, V and O are viewed as (batch * heads, seq, d),
so a block of heads is a contiguous block of memory. After timing, ``result()`` gathers the blocks
on rank 0 with ``Gatherv`` on the NumPy buffers: counts and displacements are in elements, so a
block of r heads is ``r * seq * d`` of them.
"""

import numpy as np

from haiend.kernels import PreparedCall
from haiend.kernels.attention.fused_impl import fused as attention  # noqa: F401 (one rank: every head)
from haiend.mpi import block_counts, world


def prepare(variant, inputs):
    from mpi4py.util.dtlib import from_numpy_dtype

    Q, K, V = inputs
    batch, heads, seq, d = Q.shape
    comm = world()
    rank = comm.Get_rank()
    counts, first = block_counts(batch * heads, comm.Get_size())
    lo, hi = first[rank], first[rank] + counts[rank]

    def mine(x):  # this rank's heads, as a (heads, 1, seq, d) array that fused() walks
        return np.ascontiguousarray(x.reshape(batch * heads, 1, seq, d)[lo:hi])

    local = [mine(x) for x in (Q, K, V)]
    local_out = np.zeros((hi - lo, 1, seq, d), dtype=Q.dtype)
    full = variant.kernel.allocate_output(*inputs) if rank == 0 else None

    def call():
        attention(*local, local_out)
        comm.Barrier()

    def result():
        each = seq * d
        receive = [full, counts * each, first * each, from_numpy_dtype(Q.dtype)] if rank == 0 else None
        comm.Gatherv(local_out, receive, root=0)
        return full if rank == 0 else local_out

    return PreparedCall(call=call, result=result)
