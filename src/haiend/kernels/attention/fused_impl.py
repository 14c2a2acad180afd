"""Fused, tiled attention in Numba: the online softmax of FlashAttention, never the seq x seq scores.

Dao et al., "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"
(NeurIPS 2022), compute softmax(q k^T) v one tile of keys at a time. Each query row i keeps a
running maximum m_i of the scores seen so far, a running sum l_i of exp(s_ij - m_i), and its output
row o_i, the running sum of exp(s_ij - m_i) v_j. When a tile brings a larger maximum m', what was
summed so far is rescaled by exp(m_i - m'), which is exact, not an approximation:

    m' = max(m_i, max_j s_ij)      l_i <- l_i exp(m_i - m') + sum_j exp(s_ij - m')
    o_i <- o_i exp(m_i - m') + sum_j exp(s_ij - m') v_j

and after the last tile o_i / l_i is the output row. The extra memory is m and l (seq values each)
and one tile of scores per query row: O(seq), whatever the sequence length. The tile of K and V
(``tile`` keys of d values each) stays in cache while every query row passes over it
(``tiles.tile_for`` sizes it from the L2 working set), so the keys are read from memory once per
head, not once per query. The buffers are allocated here, in Python, with NumPy,
so that ``tracemalloc`` sees them (tests/test_kernel_attention.py measures them).

``fastmath`` is given as a set of flags without ``nnan`` and ``ninf``: the running maximum starts
at -inf, and exp(-inf) = 0 must stay exact.
"""

import math

import numpy as np
from numba import njit

from haiend.kernels.attention.tiles import tile_for

FAST = {"reassoc", "contract", "nsz", "arcp", "afn"}


@njit(fastmath=FAST)
def head(q, k, v, o, tile, maxima, sums, s):
    """o = softmax(q k^T / sqrt(d)) v for one head, tile keys at a time; maxima, sums (seq,) and s (tile,) scratch."""
    seq, d = q.shape
    scale = q.dtype.type(1.0 / math.sqrt(d))
    maxima[:] = -np.inf
    sums[:] = 0
    o[:, :] = 0
    for j0 in range(0, seq, tile):
        kt, vt = k[j0 : j0 + tile], v[j0 : j0 + tile]
        for i in range(seq):
            qi, oi = q[i], o[i]
            top = maxima[i]
            for j in range(kt.shape[0]):
                kj = kt[j]
                acc = q.dtype.type(0)
                for c in range(d):
                    acc += qi[c] * kj[c]
                s[j] = acc * scale
                top = max(top, s[j])
            rescale = math.exp(maxima[i] - top)  # 0 on the first tile, where maxima[i] = -inf
            total = sums[i] * rescale
            for c in range(d):
                oi[c] *= rescale
            for j in range(kt.shape[0]):
                p = math.exp(s[j] - top)
                total += p
                vj = vt[j]
                for c in range(d):
                    oi[c] += p * vj[c]
            maxima[i], sums[i] = top, total
    for i in range(seq):
        inverse = 1 / sums[i]
        for c in range(d):
            o[i, c] *= inverse


def buffers(seq: int, tile: int, dtype, count: int = 1):
    """The running maxima and sums and the scores of one tile, ``count`` sets of them (one per head in flight)."""
    return (np.empty((count, seq), dtype), np.empty((count, seq), dtype), np.empty((count, tile), dtype))


def fused(Q, K, V, out, tile=None):
    """Every head in turn; ``tile`` defaults to ``tile_for`` (a test passes small ones to reach every edge)."""
    batch, heads, seq, d = Q.shape
    tile = tile or tile_for(seq, d, Q.itemsize)
    maxima, sums, s = buffers(seq, tile, Q.dtype)
    for b in range(batch):
        for h in range(heads):
            head(Q[b, h], K[b, h], V[b, h], out[b, h], tile, maxima[0], sums[0], s[0])
    return out
