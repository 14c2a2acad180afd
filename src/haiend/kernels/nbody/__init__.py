"""N-body: the softened gravitational acceleration of every body due to all the others.

    a_i = sum over j of m_j (r_j - r_i) / (|r_j - r_i|^2 + eps^2)^(3/2)

for n bodies with positions ``r`` (n, 3), masses ``m`` (n,) and softening length ``eps > 0``
(units with G = 1). The softening keeps close encounters finite, and it makes the j = i term
harmless: r_i - r_i = 0 and the denominator is eps^3, never zero, so no loop needs an ``if``.
Two kernels, ``nbody.float64`` and ``nbody.float32``: inputs and output in that dtype.

Inputs: ``make_inputs((n,), seed)`` returns ``(positions, masses, eps)``: positions uniform in
the unit cube, masses uniform in [0.5, 1.5) / n (total mass about 1), ``eps = 0.01`` (a Python
float, so that NumPy keeps float32 arithmetic in float32). Output: the accelerations, (n, 3).

Cost model. Flops: 20 per pair, n^2 pairs (the j = i term is computed like any other), the
count used since GPU Gems 3 (ch. 31) so figures compare with published ones: 3 subtractions,
3 multiplications and 3 additions for |r_j - r_i|^2 + eps^2, 1 square root and 1 division for
1/r, 2 multiplications for 1/r^3, 1 for m_j/r^3, and 3 multiply-adds (6 flops) into a_i.
Bytes: the compulsory traffic only, positions and masses read once and accelerations written
once, 7 n values; every body is re-read for each i, but from cache (see the default size). With
20 n^2 flops over 7 n values the intensity grows with n: n-body is compute-bound.

Tolerances (normwise relative error against a float64 reference): float64 1e-10, float32 1e-4.
Every variant may sum the n terms in its own order (vector lanes, ``-ffast-math``, threads) and
may use an approximate reciprocal square root refined by Newton steps. The rounding error of a
sum of n terms grows like sqrt(n) to n times the unit roundoff (1.1e-16 in float64, 6e-8 in
float32) times the sum of the terms' sizes, which can exceed the size of the result where pulls
cancel. For n up to ~10^4 that is ~1e-12 in float64 and ~1e-5 in float32; the tolerances leave
a factor of 10 to 100 on top and stay well below what a real mistake produces (a body left
out, a wrong sign or a wrong softening: errors of 1e-3 and more at the sizes tested).

Default size: n = 4096, 16.8 million pairs: tens of milliseconds for the vectorised loops on
one core, long enough to time well, short enough that NumPy (tens of times slower) keeps a
whole bench within a minute or two. The loop over j re-reads every body for each i, 32 bytes
each (x, y, z, m in float64), 128 KiB in all: that stays in a core's L2 cache, so arithmetic
sets the pace and the caches matter little. On a machine whose L2 holds less than twice that,
n is halved until it fits (but not below 1024). The baseline is the ``c`` variant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from haiend import requirements as req
from haiend.kernels import Kernel, Variant, realisation, variants
from haiend.kernels.nbody.c_impl import variant_flags

EPS = 0.01
QUICK_N = 256
FLOPS_PER_PAIR = 20


def default_n(machine: Mapping[str, Any]) -> int:
    """4096 bodies, halved while x, y, z and m take more than half of one core's L2 cache."""
    l2 = (machine.get("caches") or {}).get("L2") or 2**20
    n = 4096
    while n > 1024 and 2 * 32 * n > l2:
        n //= 2
    return n


def reference(positions, masses, eps):
    """In float64, one body at a time: obviously right, not fast."""
    r = np.asarray(positions, dtype=np.float64)
    m = np.asarray(masses, dtype=np.float64)
    acc = np.zeros_like(r)
    for i in range(r.shape[0]):
        d = r - r[i]  # r_j - r_i for every j
        r2 = np.sum(d * d, axis=1) + float(eps) ** 2
        acc[i] = np.sum((m / r2**1.5)[:, None] * d, axis=0)
    return acc


def _allocate_output(positions, masses, eps):
    out = np.empty_like(positions)
    out.fill(0.0)  # touch every page now, so the first timed call does not pay the page faults
    return out


def _variants() -> dict[str, Variant]:
    return variants(
        __name__,
        "accelerations",
        realisation("numpy", "NumPy broadcasting over blocks of rows"),
        realisation(
            "numba", 'loops in @njit(fastmath=True, error_model="numpy"): vectorised', function="fast"
        ),
        realisation(
            "numba",
            "the same loops in plain @njit: one pair at a time",
            name="numba_strict",
            function="strict",
        ),
        realisation("numba_parallel", "a prange over bodies, @njit(parallel=True, fastmath=True)"),
        realisation(
            "c",
            "C loops with OpenMP, compiled at first use",
            details={"source": "nbody.c", "flags": " ".join(variant_flags())},
        ),
        realisation("cupy", "array code on the xp namespace (CuPy)"),
        realisation("cuda", "a numba-cuda kernel, one thread per body"),
        realisation(
            "mpi",
            "a block of bodies per MPI rank, positions shared by Allgatherv",
            also_requires=(req.NUMBA,),
        ),
    )


def _kernel(dtype: str) -> Kernel:
    itemsize = np.dtype(dtype).itemsize

    def make_inputs(size=(QUICK_N,), seed: int = 0) -> tuple[Any, ...]:
        (n,) = size if isinstance(size, tuple) else (int(size),)
        rng = np.random.default_rng(seed)
        positions = rng.random((n, 3)).astype(dtype)
        masses = ((0.5 + rng.random(n)) / n).astype(dtype)
        return positions, masses, EPS

    return Kernel(
        name=f"nbody.{dtype}",
        summary=f"softened gravitational accelerations of n bodies, all pairs, {dtype}",
        make_inputs=make_inputs,
        reference=reference,
        allocate_output=_allocate_output,
        bytes_moved=lambda size: float(7 * itemsize * size[0]),
        flops=lambda size: float(FLOPS_PER_PAIR * size[0] ** 2),
        size_names=("n",),
        quick_size=(QUICK_N,),
        default_size=lambda machine: (default_n(machine),),
        footprint=lambda size: float(7 * itemsize * size[0]),
        tolerances={"float64": 1e-10, "float32": 1e-4},
        variants=_variants(),
        baseline="c",
        check_sizes=((1,), (2,), (3,), (97,)),
    )


float64 = _kernel("float64")
float32 = _kernel("float32")
KERNELS = (float64, float32)
