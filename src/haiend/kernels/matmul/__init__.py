"""Matrix multiplication, C = A @ B, in float64, float32, float16 and bfloat16: the compute-bound kernel.

For A of shape (m, k) and B of shape (k, n), each of the m * n results is a dot product of length
k. What is counted (the classical flop count; the compulsory traffic of A, B and C), the tolerances and
why, the sizes, the baseline (NumPy's BLAS) and what a variant may change are stated once, as
data, in each kernel's ``spec`` (``_spec`` below); ``haiend spec matmul.float64`` prints it.

float16 and bfloat16 (``ml_dtypes``) are the low-precision members: inputs and result in 16 bits,
sums in float32, as AI frameworks compute on hardware without 16-bit arithmetic. Their tolerances
are the textbook bound of ``rounding.py`` at the largest k a default size reaches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ml_dtypes
import numpy as np

from haiend.kernels import Kernel, Specification, Tolerance, Variant, realisation, variants
from haiend.kernels.matmul import rounding

QUICK_SIZE = (64, 48, 80)  # non-square, so a transposed index cannot pass unnoticed
DEFAULT_N = 2048
LOW_PRECISION = ("float16", "bfloat16")  # stored in 16 bits, summed in float32
DEFAULT_N_LOW = 1024  # NumPy's float16 loop runs without BLAS, several times slower than sgemm

_BOUND = (
    "The textbook bound |C - fl(C)| <= gamma_k |A||B|, gamma_k = k u / (1 - k u) with u the unit roundoff"
    " of the format the sums are made in (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed.,"
    " SIAM 2002, ch. 3), holds for a sum in any order; the inputs are non-negative, so |A||B| = C, and the"
    " normwise relative error is within gamma_k."
)
_REFERENCE = (
    "The float64 reference is within gamma_k(u64) of the exact product, so the tolerance adds that."
    f" It is taken at k = {DEFAULT_N}, the largest k any default size reaches"
)


def _tolerance(name: str) -> Tolerance:
    """The bound for ``name`` at the largest default k, summed in float32 when stored in 16 bits."""
    accumulate = "float32" if name in LOW_PRECISION else name
    value = rounding.tolerance(DEFAULT_N, name, accumulate)
    u = rounding.unit_roundoff(name)
    formats = (
        f"Inputs and result in {name} (unit roundoff u = 2^-{rounding.SIGNIFICAND_BITS[name]} = {u:.3g})"
    )
    if accumulate == name:
        return Tolerance(
            value,
            f"{formats}, sums in {name}. {_BOUND} {_REFERENCE}: {value:.3g}. Errors of random sign grow"
            " like sqrt(k) u, so a correct realisation stays far inside it, and a wrong index or a"
            " missing term gives errors of order one.",
        )
    return Tolerance(
        value,
        f"{formats}, sums in float32 (u32 = 2^-24). {_BOUND} That is gamma_k(u32) before, and"
        f" u + (1 + u) gamma_k(u32) after, the final rounding to {name}. {_REFERENCE}: {value:.3g}. A"
        f" realisation that sums in {name} itself has only the bound gamma_k(u), void from"
        f" k = {2 ** rounding.SIGNIFICAND_BITS[name]} (k u = 1), and exceeds this tolerance many times over"
        f" at k = {DEFAULT_N} (tests/test_kernel_matmul_precision.py).",
    )


TOLERANCES = {name: _tolerance(name) for name in ("float64", "float32", *LOW_PRECISION)}


def _make_inputs(dtype):
    def make_inputs(size=QUICK_SIZE, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        m, k, n = size
        rng = np.random.default_rng(seed)
        return rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype)

    return make_inputs


def reference(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.matmul(A.astype(np.float64), B.astype(np.float64))


def allocate_output(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    return np.zeros((A.shape[0], B.shape[1]), dtype=A.dtype)  # zeros touches every page


def _default_size(itemsize: int, largest: int = DEFAULT_N):
    def default_size(machine: Mapping[str, Any]) -> tuple[int, int, int]:
        free = machine.get("memory_available_bytes") or 4 * 2**30
        n = largest
        while n > 256 and 3 * n * n * itemsize > free / 8:
            n //= 2
        return (n, n, n)

    return default_size


def edge_size() -> tuple[int, int, int]:
    """A size that reaches every edge of ``numba_blocked`` with the blocks derived for this machine.

    Three k-slabs of float32 (2 KC each: ``numba_impl.slab_depth``; five of float64) and three column
    blocks (of ``haiend.tune``'s KC and NC), each of the last ending partly, and a partial register
    tile in both directions; tests/test_kernel_matmul.py guards it.
    """
    from haiend import tune

    t = tune.this_machine()
    kc, nc, mr, nr = t["matmul_kc"], t["matmul_nc"], t["matmul_mr"], t["matmul_nr"]
    return (2 * mr + 1, 4 * kc + kc // 2 + 1, 2 * nc + nr + 1)


def _blocked_summary() -> str:
    from haiend import tune

    t = tune.this_machine()
    return (
        f"packed, cache-blocked, {t['matmul_mr']}x{t['matmul_nr']} register tiles of {t['vector_bits']}-bit"
        " vectors (from haiend.tune), @njit(fastmath=True)"
    )


def _blocked_details() -> dict[str, Any]:
    """What a record of numba_blocked must say to be compared across builds and machines."""
    from haiend import tune

    t = tune.this_machine()
    return {"vector_bits": t["vector_bits"], "tile": f"{t['matmul_mr']}x{t['matmul_nr']}"}


def _variants() -> dict[str, Variant]:
    return variants(
        __name__,
        "matmul",
        realisation("numpy", "np.matmul: the BLAS library NumPy links", spreads="threads", uses_blas=True),
        realisation("numba", "the textbook triple loop, i-k-j order, @njit"),
        realisation(
            "numba",
            _blocked_summary(),
            name="numba_blocked",
            function="blocked",
            details=_blocked_details(),
        ),
        realisation("numba_parallel", "the blocked version with prange over row blocks"),
        realisation("c", "blocked C loop with OpenMP, compiled at first use", details={"source": "matmul.c"}),
        realisation("cupy", "xp.matmul (cuBLAS on a GPU)"),
        realisation("cuda", "a numba-cuda kernel with 16x16 tiles in shared memory"),
        realisation("mpi", "row blocks of A per MPI rank, local BLAS, gathered on rank 0", uses_blas=True),
    )


def _low_variants() -> dict[str, Variant]:
    """float16 and bfloat16: what NumPy does with them, and two ways to sum in float32 on purpose."""
    return variants(
        __name__,
        "matmul",
        realisation(
            "numpy",
            "np.matmul on the 16-bit arrays: NumPy's own loop for float16 (no BLAS), for bfloat16 the"
            " float32 loop that ml_dtypes' casts lead to; both sum in float32",
        ),
        realisation(
            "numpy",
            "inputs widened to float32, sgemm, the result rounded once into the 16-bit output",
            name="numpy_sgemm",
            function="widened",
            spreads="threads",
            uses_blas=True,
        ),
        realisation(
            "numba", "inputs widened to float32, the i-k-j loop summing in float32", function="widened"
        ),
        realisation(
            "numba",
            "inputs widened to float32, numba_blocked's packed and tiled loop summing in float32",
            name="numba_blocked",
            function="widened_blocked",
            details=_blocked_details(),
        ),
    )


def _spec(dtype: np.dtype) -> Specification:
    itemsize = dtype.itemsize
    low = dtype.name in LOW_PRECISION
    if low:
        computes = (
            f"The matrix product of A (m x k) and B (k x n), stored in {dtype.name} and summed in float32:"
            " every one of the m * n results is a dot product of length k, summed in float32 and"
            f" rounded once into a separate C (m x n) of {dtype.name}."
        )
        size_rule = (
            f"{DEFAULT_N_LOW} cubed, halved while the three matrices take more than an eighth of free"
            " memory (but not below 256): smaller than the float64 and float32 default because NumPy's"
            " float16 matmul has no BLAS path and runs many times slower than sgemm"
        )
        baseline, baseline_reason = (
            "numpy_sgemm",
            "sgemm on float32 copies of the inputs, the fastest library path on a CPU without 16-bit"
            " arithmetic, measured in the same run; a variant's ratio is of times for the same work.",
        )
        may = (
            "widen the inputs to float32 (or wider) inside the call, where the widening is timed",
            "call a BLAS library or any library routine for the float32 product",
        )
        must_not = (
            f"sum in a format narrower than float32: the {dtype.name} tolerance is the bound of a"
            " float32 sum, and a 16-bit sum exceeds it at long k",
            "use an algorithm with fewer multiplications (Strassen, Winograd)",
            "assume square sizes, or sizes that are a multiple of a block or tile",
        )
    else:
        computes = (
            f"The matrix product of A (m x k) and B (k x n), in {dtype.name} throughout: every one"
            " of the m * n results is a dot product of length k, written into a separate C (m x n)."
        )
        size_rule = (
            f"{DEFAULT_N} cubed, halved while the three matrices take more than an eighth of"
            " free memory (but not below 256): many times any L2 cache, so blocking matters, and a BLAS"
            " call takes long enough to time well"
        )
        baseline, baseline_reason = (
            "numpy",
            "np.matmul, the BLAS library NumPy links (OpenBLAS in NumPy's wheels), hand-tuned"
            " assembly measured in the same run; a variant's ratio is of times for the same work.",
        )
        may = (
            "call a BLAS library or any library routine for the product (the baseline does)",
            "pack panels of A and B into contiguous buffers inside the call, where the packing is timed",
        )
        must_not = (
            "use an algorithm with fewer multiplications (Strassen, Winograd): the 2 m k n flops counted"
            " would overstate its rate",
            "enable reduced-precision modes of a GPU or library (TF32 or bfloat16 tensor cores)",
            "assume square sizes, or sizes that are a multiple of a block or tile: every check size must"
            " pass",
        )
    return Specification(
        name=f"matmul.{dtype.name}",
        summary=f"C = A @ B for A (m, k) and B (k, n), {dtype.name}",
        formula="C[i, j] = sum over p of A[i, p] * B[p, j]",
        computes=computes,
        inputs=f"make_inputs((m, k, n), seed) returns (A, B), uniform in [0, 1) from"
        f" numpy.random.default_rng(seed), converted to {dtype.name}; the reference is np.matmul on"
        " float64 copies",
        size_names=("m", "k", "n"),
        quick_size=QUICK_SIZE,
        default_size_rule=size_rule,
        check_sizes=((7, 13, 11), (1, 1, 1), (37, 300, 29), edge_size()),
        check_sizes_reason="odd and non-square, so a transposed index cannot pass; a single element; a"
        " long k; and the size that reaches every edge of numba_blocked with the blocks derived for this"
        " machine, which therefore differs between machines",
        tolerances={dtype.name: TOLERANCES[dtype.name]},
        merit="gflop_per_s",
        merit_reason="The flops grow as the cube of the size and the compulsory traffic as its square,"
        " so matmul is limited by arithmetic, and its figure is a rate of arithmetic.",
        bytes_counted=f"{itemsize} * (m * k + k * n + m * n)",
        bytes_reason=f"the compulsory traffic, {itemsize}-byte values: A and B read once and C written"
        " once. Any real loop moves more, since no cache holds all three matrices and a blocked loop"
        " re-reads each panel of A or B once per block of the other; this is the roofline convention"
        " (intensity from the compulsory traffic).",
        flops_counted="2 * m * k * n",
        flops_reason="one multiply and one add for each of the k terms of each of the m * n dot"
        " products: the classical count, whatever algorithm a library uses.",
        baseline=baseline,
        baseline_reason=baseline_reason,
        may=may,
        must_not=must_not,
    )


def _kernel(dtype) -> Kernel:
    spec = _spec(np.dtype(dtype))
    low = np.dtype(dtype).name in LOW_PRECISION
    return Kernel(
        spec=spec,
        make_inputs=_make_inputs(dtype),
        reference=reference,
        allocate_output=allocate_output,
        default_size=_default_size(np.dtype(dtype).itemsize, DEFAULT_N_LOW if low else DEFAULT_N),
        footprint=spec.bytes_moved,  # the three matrices, each once: the same as the bytes counted
        variants=_low_variants() if low else _variants(),
    )


float64 = _kernel(np.float64)
float32 = _kernel(np.float32)
float16 = _kernel(np.float16)
bfloat16 = _kernel(ml_dtypes.bfloat16)
KERNELS = (float64, float32, float16, bfloat16)
