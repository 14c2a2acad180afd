"""Matrix multiplication, C = A @ B, in float64 and float32: the compute-bound kernel.

For A of shape (m, k) and B of shape (k, n), each of the m * n results is a dot product of
length k, so a call does ``2 * m * k * n`` flops (one multiply and one add per term).

Bytes moved are the *compulsory* traffic: A and B read once and C written once,
``(m * k + k * n + m * n) * itemsize``. Any real loop moves more, because no cache holds all
three matrices: a blocked loop re-reads each panel of A or B once per block of the other. This
is the roofline convention (intensity from the compulsory traffic), which places matmul far
to the right of the ridge point: at 2048 cubed in float64 it is about 170 flops per byte.

Inputs: ``make_inputs((m, k, n), seed)`` returns A and B, uniform in [0, 1) from
``numpy.random.default_rng(seed)``, in the kernel's dtype. The reference is ``np.matmul`` on
float64 copies.

Tolerances (normwise: max |C - C_ref| / max |C_ref|). All terms are positive, so there is no
cancellation and the classical bound for any summation order is ``k * u`` (u the unit
roundoff); rounding errors of random sign grow like ``sqrt(k) * u`` in practice.

* float64: 1e-12, the worst-case bound ``k * u`` up to k of about 9000, and a thousand times
  the typical error at k = 2048.
* float32: 1e-4, the worst-case bound up to k of about 1600, and ten times the typical
  error at k = 2048 even for a plain loop that sums in float32 from left to right.

Default size: 2048 cubed, shrunk by halves while the three matrices take more than an eighth
of free memory. At 2048 each float64 matrix is 32 MiB, many times any L2 cache, so blocking
matters, and the run is compute-bound: a BLAS call takes a few tenths of a second on one core.

The baseline is the ``numpy`` variant: NumPy's BLAS (OpenBLAS in the wheels), the hand-tuned
assembly every other realisation is compared with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from haiend.kernels import Kernel, Variant, realisation, variants

QUICK_SIZE = (64, 48, 80)  # non-square, so a transposed index cannot pass unnoticed
DEFAULT_N = 2048
TOLERANCES = {"float64": 1e-12, "float32": 1e-4}


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


def _default_size(itemsize: int):
    def default_size(machine: Mapping[str, Any]) -> tuple[int, int, int]:
        free = machine.get("memory_available_bytes") or 4 * 2**30
        n = DEFAULT_N
        while n > 256 and 3 * n * n * itemsize > free / 8:
            n //= 2
        return (n, n, n)

    return default_size


def edge_size() -> tuple[int, int, int]:
    """A size that reaches every edge of ``numba_blocked`` with the blocks derived for this machine.

    Three k-slabs and three column blocks (of ``haiend.tune``'s KC and NC), each of the last ending
    partly, and a partial register tile in both directions; tests/test_kernel_matmul.py guards it.
    """
    from haiend import tune

    t = tune.this_machine()
    kc, nc, mr, nr = t["matmul_kc"], t["matmul_nc"], t["matmul_mr"], t["matmul_nr"]
    return (2 * mr + 1, 2 * kc + kc // 2 + 1, 2 * nc + nr + 1)


def _blocked_summary() -> str:
    from haiend import tune

    t = tune.this_machine()
    return (
        f"packed, cache-blocked, {t['matmul_mr']}x{t['matmul_nr']} register tiles of {t['vector_bits']}-bit"
        " vectors (from haiend.tune), @njit(fastmath=True)"
    )


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
        ),
        realisation("numba_parallel", "the blocked version with prange over row blocks"),
        realisation("c", "blocked C loop with OpenMP, compiled at first use", details={"source": "matmul.c"}),
        realisation("cupy", "xp.matmul (cuBLAS on a GPU)"),
        realisation("cuda", "a numba-cuda kernel with 16x16 tiles in shared memory"),
        realisation("mpi", "row blocks of A per MPI rank, local BLAS, gathered on rank 0", uses_blas=True),
    )


def _kernel(dtype) -> Kernel:
    dtype = np.dtype(dtype)
    size = dtype.itemsize
    return Kernel(
        name=f"matmul.{dtype.name}",
        summary=f"C = A @ B for A (m, k) and B (k, n), {dtype.name}",
        make_inputs=_make_inputs(dtype),
        reference=reference,
        allocate_output=allocate_output,
        bytes_moved=lambda s: float(size * (s[0] * s[1] + s[1] * s[2] + s[0] * s[2])),
        flops=lambda s: float(2 * s[0] * s[1] * s[2]),
        size_names=("m", "k", "n"),
        quick_size=QUICK_SIZE,
        default_size=_default_size(size),
        footprint=lambda s: float(size * (s[0] * s[1] + s[1] * s[2] + s[0] * s[2])),
        tolerances={dtype.name: TOLERANCES[dtype.name]},
        variants=_variants(),
        baseline="numpy",
        check_sizes=((7, 13, 11), (1, 1, 1), (37, 300, 29), edge_size()),
    )


float64 = _kernel(np.float64)
float32 = _kernel(np.float32)
KERNELS = (float64, float32)
