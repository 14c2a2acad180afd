"""Attention in Numba, unfused: the textbook loops, one head at a time, with its seq x seq scores.

For each (batch, head) the loops compute every score s_ij = q_i . k_j / sqrt(d) into a seq x seq
array, turn each row into softmax weights (subtract the row's maximum, exponentiate, divide by the
sum) and then form each output row as the weighted sum of the rows of V. The score array is
allocated once per call and reused for every head, so this variant needs seq^2 values of scratch
memory, not batch x heads x seq^2 as NumPy does; ``fused_impl.fused`` (the ``numba_fused``
variant, re-exported here) needs only O(seq).
"""

import math

import numpy as np
from numba import njit

from haiend.kernels.attention.fused_impl import fused  # noqa: F401 (the numba_fused variant)


@njit
def head(q, k, v, o, S):
    """o = softmax(q k^T / sqrt(d)) v for one head; S is the (seq, seq) scratch for the scores."""
    seq, d = q.shape
    scale = 1.0 / math.sqrt(d)
    for i in range(seq):
        for j in range(seq):
            acc = q.dtype.type(0)
            for c in range(d):
                acc += q[i, c] * k[j, c]
            S[i, j] = acc * scale
    for i in range(seq):
        row = S[i]
        top = row.max()
        total = q.dtype.type(0)
        for j in range(seq):
            row[j] = math.exp(row[j] - top)
            total += row[j]
        for j in range(seq):
            row[j] /= total
    for i in range(seq):
        o[i, :] = 0
        for j in range(seq):
            p = S[i, j]
            for c in range(d):
                o[i, c] += p * v[j, c]


@njit
def attention(Q, K, V, out):
    batch, heads, seq, d = Q.shape
    S = np.empty((seq, seq), Q.dtype)
    for b in range(batch):
        for h in range(heads):
            head(Q[b, h], K[b, h], V[b, h], out[b, h], S)
    return out
