"""Scaled dot-product attention, O = softmax(Q K^T / sqrt(d)) V, for every (batch, head).

Two kernels, ``attention.float64`` and ``attention.float32``: inputs and output in that dtype.
What is counted (the two products and the softmax; the compulsory traffic of Q, K, V and O), the
tolerances and why, the sizes, the baseline (NumPy's unfused batched products) and what a variant
may change are stated once, as data, in each kernel's ``spec`` (``_spec`` below); ``haiend spec
attention.float64`` prints it. ``fused_impl`` (the ``numba_fused`` variant, loops) and
``numpy_fused_impl`` (``numpy_fused``, NumPy calls on blocks) compute it with the online softmax of
FlashAttention, in O(seq) extra memory instead of seq^2 per head.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from haiend import requirements as req
from haiend.kernels import Kernel, Specification, Tolerance, Variant, realisation, variants

QUICK_SIZE = (2, 3, 128, 48)  # batch, heads, seq, d: six heads, seq not equal to d
HEADS, D = 8, 64  # the default size's heads and head dimension, those of many transformer layers
SOFTMAX_FLOPS = 5  # per score: scale, compare with the row maximum, subtract it, exp, add to the sum


def make_inputs(dtype):
    def make(size=QUICK_SIZE, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shape = tuple(int(v) for v in size)
        rng = np.random.default_rng(seed)
        return tuple(rng.standard_normal(shape).astype(dtype) for _ in range(3))

    return make


def reference(Q, K, V) -> np.ndarray:
    """In float64, the formula as written, with the stable softmax (each row's maximum subtracted)."""
    Q, K, V = (np.asarray(x, dtype=np.float64) for x in (Q, K, V))
    S = np.einsum("bhic,bhjc->bhij", Q, K) / math.sqrt(Q.shape[-1])
    P = np.exp(S - S.max(axis=-1, keepdims=True))
    return np.einsum("bhij,bhjc->bhic", P / P.sum(axis=-1, keepdims=True), V)


def allocate_output(Q, K, V) -> np.ndarray:
    return np.zeros_like(Q)  # zeros touches every page


def _default_size(itemsize: int):
    def default_size(machine: Mapping[str, Any]) -> tuple[int, int, int, int]:
        l2 = (machine.get("caches") or {}).get("L2") or 2**20
        free = machine.get("memory_available_bytes") or 4 * 2**30
        seq = 1024
        while 2 * seq * D * itemsize < 4 * l2:  # K and V of one head: four times L2
            seq *= 2
        while seq > 256 and HEADS * seq * seq * itemsize > free / 8:  # NumPy's scores
            seq //= 2
        return (1, HEADS, seq, D)

    return default_size


def _variants() -> dict[str, Variant]:
    return variants(
        __name__,
        "attention",
        realisation(
            "numpy",
            "unfused: batched np.matmul for the scores, softmax passes, np.matmul",
            spreads="threads",
            uses_blas=True,
        ),
        realisation(
            "numpy",
            "fused, tiled online softmax (FlashAttention) on blocks of queries and tiles of keys sized"
            " from L2, BLAS for the block products, O(seq) memory",
            name="numpy_fused",
            function="fused",
            spreads="threads",
            uses_blas=True,
        ),
        realisation("numba", "the textbook loops, one head at a time, with a seq x seq score array, @njit"),
        realisation(
            "numba",
            "fused, tiled online softmax (FlashAttention), tiles of keys sized from L2, O(seq) memory, @njit",
            name="numba_fused",
            function="fused",
        ),
        realisation("numba_parallel", "the fused loop with prange over batch x heads, @njit(parallel=True)"),
        realisation(
            "c",
            "C loops with OpenMP over batch x heads, one row of scores per thread",
            details={"source": "attention.c"},
        ),
        realisation("cupy", "unfused array code on the xp namespace (CuPy)"),
        realisation("cuda", "a numba-cuda kernel, one thread per query row, two passes over the keys"),
        realisation(
            "mpi",
            "blocks of heads per MPI rank, fused Numba loop, gathered on rank 0",
            also_requires=(req.NUMBA,),
        ),
    )


_ERRORS = (
    "Each score is a dot product of length d, so its absolute error is at most about d u times"
    " sum_c |q_c k_c| / sqrt(d) (u the unit roundoff); exp turns an absolute error e in a score into a"
    " relative error e in its weight; the output row is a weighted average of rows of V, whose sum of"
    " seq terms adds about seq u; so the error relative to the largest |V| is at most about"
    " (d^1.5 + seq) u for inputs of unit size, and errors of random sign grow like the square root of"
    " that. The check divides by the largest |O| instead, which is smaller than the largest |V| because"
    " a weighted average of random rows shrinks: 32 times smaller at 1x1x4096x64. Subtracting each row's"
    " maximum changes no weight, so it adds no error; without it a huge logit overflows to inf and gives"
    " NaN. A real mistake (scale left out, a transposed K, the sum not divided) gives errors of 1e-2 and"
    " more."
)
TOLERANCES = {
    "float64": Tolerance(
        1e-10,
        f"{_ERRORS} In float64 (u = 1.1e-16) the worst case at d = 64 and seq = 4096 is 5e-13 times that"
        " factor of 32, 1.6e-11: the tolerance covers it six times over.",
    ),
    "float32": Tolerance(
        5e-4,
        f"{_ERRORS} In float32 (u = 6e-8) the worst case at d = 64 and seq = 4096 (9e-3 with the factor"
        " of 32) would not tell a mistake from rounding, so the tolerance follows the random-sign estimate,"
        " sqrt(4608) u times 32 = 1.3e-4, with a factor of four to spare.",
    ),
}

_HEADS = "batch * heads"


def _spec(dtype: str) -> Specification:
    itemsize = np.dtype(dtype).itemsize
    return Specification(
        name=f"attention.{dtype}",
        summary=f"scaled dot-product attention softmax(Q K^T / sqrt(d)) V per (batch, head), {dtype}",
        formula="O[b, h] = softmax(Q[b, h] K[b, h]^T / sqrt(d)) V[b, h], the softmax over each row",
        computes=f"For Q, K, V of shape (batch, heads, seq, d), every head independently: the seq x seq"
        " scores s_ij = q_i . k_j / sqrt(d), each row turned into weights p_ij = exp(s_ij - max_j s_ij) /"
        f" sum_j exp(s_ij - max_j s_ij) (the stable softmax: the same weights, no overflow), and"
        f" o_i = sum_j p_ij v_j, an array of Q's shape in {dtype}. No mask: every query sees every key.",
        inputs=f"make_inputs((batch, heads, seq, d), seed) returns (Q, K, V), standard normal from"
        f" numpy.random.default_rng(seed), converted to {dtype}; the reference is the formula in float64",
        size_names=("batch", "heads", "seq", "d"),
        quick_size=QUICK_SIZE,
        default_size_rule=f"batch 1, {HEADS} heads of d = {D}; seq from 1024, doubled until K and V of one"
        " head take four times one core's L2 (so the tile of keys matters), then halved (not below 256)"
        " while NumPy's batch x heads x seq^2 scores take more than an eighth of free memory",
        check_sizes=((1, 1, 1, 8), (1, 1, 7, 13), (1, 5, 17, 13), (7, 1, 9, 3), (2, 2, 70, 19)),
        check_sizes_reason="seq = 1 (the output is V); d = 13, 3 and 19, no multiple of any vector width;"
        " 5 and 7 heads, uneven over two and three ranks, and a single head, which leaves ranks with none;"
        " seq not a power of two",
        tolerances={dtype: TOLERANCES[dtype]},
        merit="gflop_per_s",
        merit_reason="The flops grow as seq^2 d and the compulsory traffic as seq d, so attention is"
        " limited by arithmetic at any useful seq, and its figure is a rate of arithmetic.",
        bytes_counted=f"{4 * itemsize} * {_HEADS} * seq * d",
        bytes_reason=f"the compulsory traffic, {itemsize}-byte values: Q, K and V read once and O written"
        " once. An unfused variant also writes and re-reads the seq x seq scores of every head (several"
        " times, once per softmax pass), which is exactly the traffic fusion removes; that is not counted.",
        flops_counted=f"4 * {_HEADS} * seq * seq * d + {SOFTMAX_FLOPS} * {_HEADS} * seq * seq",
        flops_reason="per head, 2 seq^2 d for the scores Q K^T and 2 seq^2 d for the product with V (a"
        f" multiply and an add per term), and {SOFTMAX_FLOPS} per score for the softmax (scale, compare"
        " with the maximum, subtract it, exp counted as one, add to the sum); the divisions by the sums"
        " (seq d or seq^2 of them, by variant) are not counted.",
        baseline="numpy",
        baseline_reason="the unfused NumPy variant, whose two batched products run in BLAS (the most"
        " optimised code on the machine), measured in the same run: a variant's ratio is of times for the"
        " same work. A matmul baseline (matmul.float64:numpy) would need a size of another shape, and"
        " bench compares another kernel only by bandwidth.",
        may=(
            "fuse the steps and never store the scores (online softmax, as numba_fused does)",
            "call BLAS for the two products",
            "compute the scores twice rather than store them (as the cuda variant does)",
        ),
        must_not=(
            "approximate the softmax (sparse, low-rank or linear attention): the flops counted would"
            " overstate the rate",
            "leave out the subtraction of the row maximum, or any other step that keeps huge logits finite",
            "enable reduced-precision modes of a GPU or library (TF32 or bfloat16 tensor cores)",
        ),
    )


def _kernel(dtype: str) -> Kernel:
    spec = _spec(dtype)
    itemsize = np.dtype(dtype).itemsize

    def footprint(size) -> float:  # Q, K, V, O and NumPy's scores, the largest any variant needs
        batch, heads, seq, _ = size
        return spec.bytes_moved(size) + itemsize * batch * heads * seq * seq

    return Kernel(
        spec=spec,
        make_inputs=make_inputs(dtype),
        reference=reference,
        allocate_output=allocate_output,
        default_size=_default_size(itemsize),
        footprint=footprint,
        variants=_variants(),
    )


float64 = _kernel("float64")
float32 = _kernel("float32")
KERNELS = (float64, float32)
DEFAULT = float64
