"""Fused, tiled attention in NumPy: FlashAttention's online softmax on blocks, BLAS for the products.

The algorithm is ``fused_impl``'s (the running maximum m, sum l and output o of each query row,
rescaled by exp(m - m') whenever a tile of keys brings a larger maximum m'), done on a block of
query rows at once, so that each step is one NumPy call on a block and the two products are BLAS
calls on tiles: S = (scale Q_b) K_t^T, then exp, the row sums and O_b += P V_t. Only the block of
scores, ``rows`` x ``cols`` values, ever exists; the extra memory is that block, O(seq) in all, and
it stays in cache between the product that writes it and the one that reads it. The unfused
variant instead writes and re-reads batch x heads x seq^2 scores in memory, once per softmax pass.

The tile of keys and the block of query rows are ``tiles.tile_for``'s and ``tiles.rows_for``'s,
from the L2 working set of this machine's fingerprint; a test passes small ones to reach every edge.
"""

import math

import numpy as np

from haiend.kernels.attention.tiles import rows_for, tile_for


def head(q, k, v, o, rows: int, cols: int) -> None:
    """o = softmax(q k^T / sqrt(d)) v for one head, a block of rows and a tile of keys at a time."""
    seq, d = q.shape
    scale = q.dtype.type(1 / math.sqrt(d))
    for i0 in range(0, seq, rows):
        qb = q[i0 : i0 + rows] * scale
        top = np.full(qb.shape[0], -np.inf, q.dtype)  # running maxima: exp(-inf - m') = 0 on the first tile
        total = np.zeros(qb.shape[0], q.dtype)
        ob = o[i0 : i0 + rows]
        ob[:] = 0
        for j0 in range(0, seq, cols):
            s = qb @ k[j0 : j0 + cols].T
            new_top = np.maximum(top, s.max(axis=1))
            s -= new_top[:, None]
            np.exp(s, out=s)
            shrink = np.exp(top - new_top)
            total = total * shrink + s.sum(axis=1)
            ob *= shrink[:, None]
            ob += s @ v[j0 : j0 + cols]
            top = new_top
        ob /= total[:, None]


def fused(Q, K, V, out, rows=None, cols=None):
    """Every head in turn; ``rows`` and ``cols`` default to the sizes from the fingerprint."""
    batch, heads, seq, d = Q.shape
    cols = cols or tile_for(seq, d, Q.itemsize)
    rows = rows or rows_for(seq, cols, Q.itemsize)
    for b in range(batch):
        for h in range(heads):
            head(Q[b, h], K[b, h], V[b, h], out[b, h], rows, cols)
    return out
