"""Softened gravity over MPI ranks: each rank owns a block of bodies and sees all of them.

Every body pulls on every other, so each rank needs all positions but computes the
accelerations of its own bodies only (``haiend.mpi.block_counts``: contiguous blocks whose
sizes differ by at most one). In a real simulation the positions change every step, so the
timed call does what one step would: an ``Allgatherv`` that assembles every rank's block of
positions on every rank, then the vectorised Numba loop over this rank's rows. The collective
also makes the call last as long as the slowest rank. Masses do not change and are shared once,
before timing. After timing, ``result()`` gathers the blocks of accelerations on rank 0
(``Gatherv`` on the NumPy buffers, never pickled objects).
"""

import numpy as np

from haiend.kernels import PreparedCall
from haiend.kernels.nbody.numba_impl import rows_fast
from haiend.kernels.nbody.numpy_impl import columns
from haiend.mpi import block_counts, world


def accelerations(positions, masses, eps, out):
    """This rank's rows, given every position (on one rank: all of them)."""
    rank, size = world().Get_rank(), world().Get_size()
    counts, displacements = block_counts(positions.shape[0], size)
    lo = displacements[rank]
    x, y, z = columns(positions)
    return rows_fast(x, y, z, masses, eps, lo, lo + counts[rank], out)


def prepare(variant, inputs):
    from mpi4py.util.dtlib import from_numpy_dtype

    positions, masses, eps = inputs
    comm = world()
    rank = comm.Get_rank()
    counts, displacements = block_counts(positions.shape[0], comm.Get_size())
    lo, hi = displacements[rank], displacements[rank] + counts[rank]
    mpi_type = from_numpy_dtype(positions.dtype)
    mine = positions[lo:hi].copy()  # the block of positions this rank owns and would update
    everyone = np.empty_like(positions)  # filled by the collective, inside the timed call
    local_out = np.zeros((hi - lo, 3), dtype=positions.dtype)
    full = variant.kernel.allocate_output(*inputs) if rank == 0 else None

    def call():
        comm.Allgatherv(mine, [everyone, 3 * counts, 3 * displacements, mpi_type])
        accelerations(everyone, masses, eps, local_out)

    def result():
        receive = [full, 3 * counts, 3 * displacements, mpi_type] if rank == 0 else None
        comm.Gatherv(local_out, receive, root=0)
        return full if rank == 0 else local_out

    return PreparedCall(call=call, result=result)
