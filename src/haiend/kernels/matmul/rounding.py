"""Unit roundoffs and the textbook error bound of a matrix product, as plain arithmetic.

Each entry of C = A B is a dot product of length k. Computed in floating point with unit roundoff
u (any order of summation), its error is bounded entry by entry by

    |C - fl(C)| <= gamma_k |A| |B|,    gamma_k = k u / (1 - k u)    (k u < 1),

(Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed., SIAM 2002, section 3.5).
When the inputs are non-negative, |A| |B| = C, so the normwise relative error
max |C - fl(C)| / max |C| (what ``Kernel.check`` measures) is at most gamma_k as well.

A mixed realisation sums in one format (float32) and stores in a narrower one (float16,
bfloat16): the sum is within gamma_k(u_sum) and the final rounding adds at most u_store of the
result, so the bound is u_store + (1 + u_store) gamma_k(u_sum). The inputs are made in the storage
format and the reference works on float64 copies of those same inputs, so the rounding of the
inputs is not part of the error measured. The reference is itself a float64 product, within
gamma_k(u64) of the exact one, so what a check may allow is the realisation's bound plus that
(``tolerance``): twice gamma_k(u64) in float64, where the two are alike.
"""

from __future__ import annotations

import math

# u = 2**-p for a format with p bits of significand (the implicit bit included): half the machine
# epsilon (np.finfo(dtype).eps, ml_dtypes.finfo(dtype).eps), the largest relative rounding error.
SIGNIFICAND_BITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}


def unit_roundoff(name: str) -> float:
    """u of the format called ``name`` ("float64", "float32", "float16", "bfloat16")."""
    return 2.0 ** -SIGNIFICAND_BITS[name]


def gamma(k: int, u: float) -> float:
    """gamma_k = k u / (1 - k u); infinite once k u >= 1, where the bound says nothing."""
    ku = k * u
    return ku / (1 - ku) if ku < 1 else math.inf


def bound(k: int, store: str, accumulate: str | None = None) -> float:
    """The normwise bound for non-negative inputs: stored in ``store``, summed in ``accumulate``.

    Summing in the storage format (``accumulate`` None or equal) gives gamma_k(u); summing in a
    wider format and rounding once at the end gives u_store + (1 + u_store) gamma_k(u_sum).
    """
    u_store = unit_roundoff(store)
    if accumulate is None or accumulate == store:
        return gamma(k, u_store)
    return u_store + (1 + u_store) * gamma(k, unit_roundoff(accumulate))


def tolerance(k: int, store: str, accumulate: str | None = None) -> float:
    """``bound`` plus the error of the float64 reference it is compared with, gamma_k(u64)."""
    return bound(k, store, accumulate) + gamma(k, unit_roundoff("float64"))
