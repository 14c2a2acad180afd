"""N-body: the softened gravitational acceleration of every body due to all the others.

    a_i = sum over j of m_j (r_j - r_i) / (|r_j - r_i|^2 + eps^2)^(3/2)

Two kernels, ``nbody.float64`` and ``nbody.float32``: inputs and output in that dtype. What is
counted (GPU Gems 3's flops per pair; the compulsory traffic), the tolerances and why,
the sizes, the baseline and what a variant may change are stated once, as data, in each kernel's
``spec`` (``_spec`` below); ``haiend spec nbody.float64`` prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from haiend import requirements as req
from haiend.kernels import Kernel, Specification, Tolerance, Variant, realisation, variants
from haiend.kernels.nbody.c_impl import variant_flags

EPS = 0.01
QUICK_N = 256
FLOPS_PER_PAIR = 20  # GPU Gems 3, ch. 31: the count published figures use
DEFAULT_N = 4096


def default_n(machine: Mapping[str, Any]) -> int:
    """DEFAULT_N bodies, halved while x, y, z and m take more than half of one core's L2 cache."""
    l2 = (machine.get("caches") or {}).get("L2") or 2**20
    n = DEFAULT_N
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


_SUMS = (
    "Every variant may sum the n terms in its own order (vector lanes, -ffast-math, threads) and may use"
    " an approximate reciprocal square root refined by Newton steps. The rounding error of a sum of n"
    " terms grows like sqrt(n) to n times the unit roundoff times the sum of the terms' sizes, which can"
    " exceed the size of the result where pulls cancel."
)
TOLERANCES = {
    "float64": Tolerance(
        1e-10,
        f"{_SUMS} For n up to about 10^4 that is about 1e-12 in float64 (unit roundoff 1.1e-16); the"
        " tolerance leaves a factor of 100 and stays far below what a real mistake produces (a body left out, a"
        " wrong sign or softening: errors of 1e-3 and more at the sizes tested).",
    ),
    "float32": Tolerance(
        1e-4,
        f"{_SUMS} For n up to about 10^4 that is about 1e-5 in float32 (unit roundoff 6e-8); the tolerance"
        " leaves a factor of 10 and stays far below what a real mistake produces (errors of 1e-3 and more).",
    ),
}


def _spec(dtype: str) -> Specification:
    itemsize = np.dtype(dtype).itemsize
    return Specification(
        name=f"nbody.{dtype}",
        summary=f"softened gravitational accelerations of n bodies, all pairs, {dtype}",
        formula="a_i = sum over j of m_j (r_j - r_i) / (|r_j - r_i|^2 + eps^2)^(3/2)",
        computes=f"For n bodies with positions r (n, 3), masses m (n,) and softening length eps > 0"
        f" (units with G = 1), the acceleration of each, as an (n, 3) array in {dtype}. The softening"
        " keeps close encounters finite and makes the j = i term harmless (r_i - r_i = 0 over eps^3), so"
        " no loop needs a branch.",
        inputs=f"make_inputs((n,), seed) returns (positions, masses, eps): positions uniform in the unit"
        f" cube and masses uniform in [0.5, 1.5) / n (total mass about 1), both {dtype} from"
        f" numpy.random.default_rng(seed); eps = {EPS} as a Python float, so NumPy keeps float32"
        " arithmetic in float32",
        size_names=("n",),
        quick_size=(QUICK_N,),
        default_size_rule=f"n = {DEFAULT_N}, halved while x, y, z and m in float64 (32 bytes a body) take"
        " more than half of one core's L2 cache (but not below 1024): the loop over j re-reads every"
        " body for each i, so that set must stay in L2, where arithmetic, not the caches, sets the pace",
        check_sizes=((1,), (2,), (3,), (97,)),
        check_sizes_reason="one body, whose only term is its own, then two, three, and a prime that no"
        " vector width, thread or rank count divides",
        tolerances={dtype: TOLERANCES[dtype]},
        merit="gflop_per_s",
        merit_reason="The flops grow as n^2 and the compulsory traffic as n, so n-body is limited by"
        " arithmetic, and its figure is a rate of arithmetic.",
        bytes_counted=f"{7 * itemsize} * n",
        bytes_reason=f"the compulsory traffic, {itemsize}-byte values: positions and masses read once and"
        " accelerations written once, 7 values a body. Every body is re-read for each i, but from cache"
        " (see the default size).",
        flops_counted=f"{FLOPS_PER_PAIR} * n ** 2",
        flops_reason="per pair, the count used since GPU Gems 3 (ch. 31), so that figures compare with"
        " published ones: 3 subtractions, 3 multiplications and 3 additions for |r_j - r_i|^2 + eps^2,"
        " 1 square root and 1 division for 1/r, 2 multiplications for 1/r^3, 1 for m_j/r^3, and 3"
        " multiply-adds (6 flops) into a_i; all n^2 pairs, the j = i term computed like any other.",
        baseline="c",
        baseline_reason="the C loops with OpenMP, measured in the same run; a variant's ratio is of times"
        " for the same work.",
        may=("use an approximate reciprocal square root refined by Newton steps, within the tolerance",),
        must_not=(
            "evaluate fewer than the n^2 pairs counted: no use of the symmetry of pairs (Newton's third"
            " law), no tree or multipole approximation",
            "change the softening or drop it for distant pairs",
        ),
    )


def _kernel(dtype: str) -> Kernel:
    spec = _spec(dtype)

    def make_inputs(size=(QUICK_N,), seed: int = 0) -> tuple[Any, ...]:
        (n,) = size if isinstance(size, tuple) else (int(size),)
        rng = np.random.default_rng(seed)
        positions = rng.random((n, 3)).astype(dtype)
        masses = ((0.5 + rng.random(n)) / n).astype(dtype)
        return positions, masses, EPS

    return Kernel(
        spec=spec,
        make_inputs=make_inputs,
        reference=reference,
        allocate_output=_allocate_output,
        default_size=lambda machine: (default_n(machine),),
        footprint=spec.bytes_moved,  # positions, masses and accelerations: the same as the bytes counted
        variants=_variants(),
    )


float64 = _kernel("float64")
float32 = _kernel("float32")
KERNELS = (float64, float32)
