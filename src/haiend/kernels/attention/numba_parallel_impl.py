"""Fused attention on every core: ``prange`` over the batch x heads independent heads.

Each (batch, head) is ``fused_impl.head``, the online-softmax loop, with its own running
maxima, sums and tile of scores (one row of each buffer per head), so the threads share what
they read and nothing they write. The heads are flattened into one index so that batch x heads
heads spread evenly, even with batch = 1. With fewer heads than cores some cores idle: a real
implementation would also split the query rows.
"""

from numba import njit, prange

from haiend.kernels.attention.fused_impl import buffers, head
from haiend.kernels.attention.tiles import tile_for


@njit(parallel=True)
def _heads(Q, K, V, out, tile, maxima, sums, s):
    batch, heads = Q.shape[0], Q.shape[1]
    for bh in prange(batch * heads):
        b, h = bh // heads, bh % heads
        head(Q[b, h], K[b, h], V[b, h], out[b, h], tile, maxima[bh], sums[bh], s[bh])
    return out


def attention(Q, K, V, out):
    batch, heads, seq, d = Q.shape
    tile = tile_for(seq, d, Q.itemsize)
    maxima, sums, s = buffers(seq, tile, Q.dtype, count=batch * heads)
    return _heads(Q, K, V, out, tile, maxima, sums, s)
