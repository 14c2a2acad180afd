"""stencil2d: Jacobi sweeps of the 5-point Laplace stencil on a float64 grid with fixed edges.

One sweep replaces every interior point by the mean of its four neighbours; the result is the grid
after ``steps`` sweeps. What is counted (bytes and flops per interior point and sweep), the
tolerance and why, the sizes, the baseline (the C STREAM triad, by bandwidth) and what a variant
may change are stated once, as data, in ``SPEC`` below; ``haiend spec stencil2d`` prints it.

Traffic of the NumPy variant (``numpy_impl``), counted the one way this project uses everywhere:
memory traffic per interior point and sweep, in float64 values of 8 bytes, with each pass over
the grid streaming its operands once (the rows a pass reads twice, such as the rows above and
below, come from cache, as in the 16-byte count) and a write to a line not yet in cache costing
a write-allocate read. Its four ufunc calls are four passes: ``add(above, below, out=inner)``
reads the old grid and writes ``inner`` (8 + 8 + 8 write-allocate = 24), ``add(inner, left,
out=inner)`` and ``add(inner, right, out=inner)`` each read ``inner`` and the old grid and write
``inner`` back (3 x 8 = 24 each, no write-allocate: the line was just read), and
``multiply(inner, 0.25, out=inner)`` reads and writes ``inner`` (16): 88 bytes per point and
sweep, 5.5 times the 16 counted and about 3.7 times the 24 a compiled loop moves with
write-allocate. The kernel still *counts* 16 bytes for every variant, so NumPy's score is the
share of streaming speed it reaches, not a bandwidth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from haiend import requirements as req
from haiend.kernels import Kernel, Specification, Tolerance, Variant, realisation, variants

QUICK_SIZE = (64, 64, 4)
HOT, COLD, SIDE = 1.0, 0.0, 0.5


def make_inputs(size=QUICK_SIZE, seed: int = 0) -> tuple[np.ndarray, int]:
    ny, nx, steps = (int(v) for v in size)
    u0 = np.random.default_rng(seed).random((ny, nx))
    u0[:, 0] = u0[:, -1] = SIDE
    u0[-1] = COLD
    u0[0] = HOT
    return u0, steps


def reference(u0: np.ndarray, steps: int) -> np.ndarray:
    """Sweep by whole-array slices into a second grid, then swap: plainly Jacobi."""
    u = np.array(u0, dtype=np.float64)
    v = u.copy()  # same edges; the interior is overwritten by every sweep
    for _ in range(steps):
        inner = v[1:-1, 1:-1]
        inner[...] = u[:-2, 1:-1]  # in-place adds: no temporary grids, even at 1 GB per grid
        inner += u[2:, 1:-1]
        inner += u[1:-1, :-2]
        inner += u[1:-1, 2:]
        inner *= 0.25
        u, v = v, u
    return u


def allocate_output(u0, steps) -> np.ndarray:
    out = np.empty_like(u0, dtype=np.float64)
    out.fill(0.0)  # touch every page now, so the first timed call does not pay the page faults
    return out


def default_size(machine: Mapping[str, Any]) -> tuple[int, int, int]:
    llc = machine.get("last_level_cache_bytes") or 32 * 2**20
    free = machine.get("memory_available_bytes") or 4 * 2**30
    n = math.ceil(math.sqrt(4 * llc / 8) / 1000) * 1000
    n_max = int(math.sqrt(free / 4 / (3 * 8)))
    n = max(1000, min(n, n_max))
    steps = 4 * math.ceil(16e9 / SPEC.bytes_moved((n, n, 1)) / 4)  # 16 GB counted per call
    return n, n, steps


def _variants() -> dict[str, Variant]:
    return variants(
        __name__,
        "stencil2d",
        realisation("numpy", "NumPy slices, ufuncs writing into out="),
        realisation("numba", "the plain double loop, Numba @njit"),
        realisation(
            "numba",
            "4 sweeps per pass over rows kept in cache, in place, Numba @njit",
            name="numba_blocked",
            function="blocked",
        ),
        realisation("numba_parallel", "prange over rows, @njit(parallel=True)"),
        realisation(
            "c",
            "C double loop with OpenMP over rows, compiled at first use",
            details={"source": "stencil2d.c"},
        ),
        realisation("cupy", "array slices on the xp namespace (CuPy)"),
        realisation("cuda", "a numba-cuda kernel, one thread per point"),
        realisation(
            "mpi", "row blocks per MPI rank, halo rows exchanged every sweep", also_requires=(req.NUMBA,)
        ),
    )


_POINTS = "max(ny - 2, 0) * max(nx - 2, 0) * steps"  # interior points times sweeps

SPEC = Specification(
    name="stencil2d",
    summary="Jacobi sweeps of the 5-point Laplace stencil on a (ny, nx) float64 grid, edges fixed",
    formula="u_new[i, j] = 0.25 * (u[i-1, j] + u[i+1, j] + u[i, j-1] + u[i, j+1])",
    computes="One sweep replaces every interior point (0 < i < ny-1, 0 < j < nx-1) by the mean of its"
    " four neighbours in the previous grid (Jacobi, not Gauss-Seidel); the edge rows and columns keep"
    " their initial values. The result is the grid after steps sweeps. A grid with ny or nx below 3"
    " has no interior, so the result is the input itself.",
    inputs="make_inputs((ny, nx, steps), seed) returns (u0, steps): u0 has a uniform random interior in"
    " [0, 1) from numpy.random.default_rng(seed), a hot top edge (1.0), a cold bottom edge (0.0) and"
    " left and right edges at 0.5 (the top row wins the corners)",
    size_names=("ny", "nx", "steps"),
    quick_size=QUICK_SIZE,
    default_size_rule="a square grid of at least four times the last-level cache (STREAM's rule, so the"
    " data comes from memory), rounded up to a multiple of 1000 so that rows are not a power of two"
    " apart (the rows above and below would collide in the same cache sets), capped so that three grids"
    " (input, output, scratch) fit in a quarter of free memory; and enough sweeps that one call counts"
    " at least 16 GB, rounded up to a multiple of 4 (the sweeps per pass of numba_blocked)",
    check_sizes=(
        (3, 17, 3),  # one interior row
        (1, 5, 2),  # no interior: the result is the input
        (2, 7, 3),
        (6, 1, 2),
        (5, 2, 1),
        (13, 17, 3),  # primes, non-square; 11 interior rows split 4 + 4 + 3 over three ranks
        (31, 29, 1),  # a single sweep
        (29, 31, 5),  # odd steps, more than one pass of numba_blocked
        (17, 13, 8),  # even steps, a whole number of passes
        (4, 41, 7),  # more sweeps than rows; 2 interior rows for 3 ranks
    ),
    check_sizes_reason="one interior row; grids with no interior; primes, non-square, uneven over two"
    " and three ranks; one sweep; odd and even sweeps over the passes of numba_blocked; more sweeps than"
    " rows",
    tolerances={
        "float64": Tolerance(
            1e-13,
            "every realisation adds the same four numbers in its own order, so one sweep differs from"
            " the reference by a few units in the last place of values that stay within [0, 1] (about"
            " 4e-16); a sweep is an average, which never amplifies an earlier difference, so differences"
            " add up at most linearly: the tolerance covers some 200 sweeps.",
        )
    },
    merit="gb_per_s",
    merit_reason="A sweep does 4 flops per 16 bytes counted, far below any machine's ridge point, so"
    " its figure is a bandwidth.",
    bytes_counted=f"16 * {_POINTS}",
    bytes_reason="per interior point and sweep, the old value read once and the new one written once:"
    " the ideal streaming traffic, as if the neighbours came from cache. A plain sweep into a second"
    " grid really moves 24 (the write-allocate read of the destination); a variant that applies several"
    " sweeps while rows sit in cache moves fewer bytes than counted.",
    flops_counted=f"4 * {_POINTS}",
    flops_reason="per interior point and sweep, 3 adds and 1 multiply.",
    baseline="stream.triad:c",
    baseline_reason="the C STREAM triad measured in the same run, on as much data and with as many"
    " threads, compared by bandwidth: a sweep that streams as well as the triad scores 1.0, a plain"
    " sweep lands near 16/24 of it, and a temporally blocked one may legitimately score above 1.0.",
    may=(
        "apply several sweeps while rows sit in cache (temporal blocking, as numba_blocked does): its"
        " figure then says how much faster it is than streaming allows",
        "update in place with a rolling buffer of rows, as long as every sweep reads only the previous"
        " sweep's values",
    ),
    must_not=(
        "turn the Jacobi update into Gauss-Seidel or over-relaxation, which read values of the same sweep",
        "change the edge values, or skip sweeps (even those that no longer change the grid much)",
    ),
)

stencil2d = Kernel(
    spec=SPEC,
    make_inputs=make_inputs,
    reference=reference,
    allocate_output=allocate_output,
    default_size=default_size,
    footprint=lambda size: 3.0 * 8 * size[0] * size[1],  # input, output and a scratch grid
    variants=_variants(),
)
KERNELS = (stencil2d,)
