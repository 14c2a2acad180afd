"""Attention in NumPy, unfused: the whole (batch, heads, seq, seq) score matrix, one pass per step.

``np.matmul`` on 4-D arrays multiplies the last two axes for every (batch, head): Q @ K^T is a
batched BLAS product that writes every score. The softmax then passes over that matrix four
times (scale, subtract the row maximum, exponentiate, divide by the row sum), and a second
batched product multiplies it by V. The scores take seq^2 values per head, far more than Q, K, V
and O together once seq exceeds d: this is the memory the fused variants (``numpy_fused_impl``, ``fused_impl``) save.
"""

import math

import numpy as np

from haiend.kernels.attention.numpy_fused_impl import fused  # noqa: F401 (the numpy_fused variant)


def attention(Q, K, V, out):
    scale = Q.dtype.type(1 / math.sqrt(Q.shape[-1]))
    S = np.matmul(Q, K.swapaxes(-1, -2))  # S[b, h, i, j] = q_i . k_j, all of it at once
    S *= scale
    S -= S.max(axis=-1, keepdims=True)  # the largest logit of each row becomes 0: exp cannot overflow
    np.exp(S, out=S)
    S /= S.sum(axis=-1, keepdims=True)
    return np.matmul(S, V, out=out)
