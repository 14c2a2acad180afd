"""stencil2d over MPI ranks: the grid's interior rows are split into one block per rank.

Each rank holds its block plus one *halo* row above and one below: copies of its neighbours'
edge rows, which its own edge rows need. Before every sweep but the first (whose halos are rows
of ``u0``, which every rank has), each rank sends its first row up and its last row down and
receives its halos in return: two ``Sendrecv`` on NumPy rows, which MPI moves as raw bytes (no
pickling). At the top and bottom of the grid the neighbour is ``MPI.PROC_NULL``: the exchange
does nothing there, and the halo keeps the grid's fixed edge row. Blocks may differ by a row
(``block_counts``); with more ranks than interior rows, the last ranks hold none and sit out.

The timed call does every sweep with its exchanges and ends with a barrier; ``result()`` then
gathers the blocks on rank 0 (``Gatherv``). Each rank sweeps its block with ``numba_impl.sweep``.
"""

import numpy as np

from haiend.kernels import PreparedCall
from haiend.kernels.stencil2d.numba_impl import stencil2d, sweep  # noqa: F401 (stencil2d: one rank)
from haiend.mpi import block_counts, world


def prepare(variant, inputs):
    from mpi4py import MPI

    u0, steps = inputs
    ny, nx = u0.shape
    comm = world()
    rank, size = comm.Get_rank(), comm.Get_size()
    counts, displacements = block_counts(max(ny - 2, 0), size)
    active = int(np.count_nonzero(counts))  # ranks 0 .. active-1 hold rows
    lo = 1 + displacements[rank]  # this block is rows lo .. hi-1 of the grid
    hi = lo + counts[rank]
    up = rank - 1 if 0 < rank < active else MPI.PROC_NULL
    down = rank + 1 if rank + 1 < active else MPI.PROC_NULL
    start = u0[lo - 1 : hi + 1].copy()  # the block and its halo rows, as u0 has them
    buffers = (start.copy(), start.copy())  # same edges; pages touched before any timing
    final = [start]

    def exchange(block):
        rows = block.shape[0] - 2
        comm.Sendrecv(block[1], dest=up, recvbuf=block[rows + 1], source=down)
        comm.Sendrecv(block[rows], dest=down, recvbuf=block[0], source=up)

    def call():
        src = start
        if rank < active:
            for k in range(steps):
                if k > 0:
                    exchange(src)
                dst = buffers[k % 2]
                sweep(src, dst)
                src = dst
        final[0] = src
        comm.Barrier()

    full = variant.kernel.allocate_output(*inputs) if rank == 0 else None

    def result():
        mine = np.ascontiguousarray(final[0][1:-1]) if rank < active else np.empty((0, nx))
        if ny > 2:
            receive = [full[1:-1], counts * nx, displacements * nx, MPI.DOUBLE] if rank == 0 else None
            comm.Gatherv(mine, receive, root=0)
        if rank != 0:
            return mine
        full[0], full[-1] = u0[0], u0[-1]  # the fixed edge rows; all of it when ny < 3
        return full

    return PreparedCall(call=call, result=result)
