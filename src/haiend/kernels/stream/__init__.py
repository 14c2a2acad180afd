"""STREAM: the four vector operations of McCalpin's benchmark, in float64.

====== ================== ================================ =====
kernel computes           bytes moved per element           flops
====== ================== ================================ =====
copy   out = b            16 (read b, write out)            0
scale  out = s * b        16                                1
add    out = b + c        24 (read b and c, write out)      1
triad  out = b + s * c    24                                2
====== ================== ================================ =====

Bytes are counted as STREAM counts them: each array read or written once, with no allowance
for the write-allocate read of ``out`` that caches without streaming stores also make.

Inputs: ``make_inputs(size)`` with ``size = (n,)`` returns the arrays and scalar the operation
takes, in order: copy ``(b,)``, scale ``(b, s)``, add ``(b, c)``, triad ``(b, c, s)``; ``b`` and
``c`` are uniform random in [0, 1) from ``numpy.random.default_rng(seed)``, ``s = 3.0``.

Default size: each vector at least four times the last-level cache (STREAM's own rule), so that
the data comes from memory, and all of them together at most a quarter of free memory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from haiend import requirements as req
from haiend.kernels import Kernel, Variant, realisation, variants

SCALAR = 3.0
QUICK_N = 1 << 20

_OPERATIONS = {
    # name: (formula, vectors read, flops per element)
    "copy": ("out = b", 1, 0),
    "scale": ("out = s * b", 1, 1),
    "add": ("out = b + c", 2, 1),
    "triad": ("out = b + s * c", 2, 2),
}


def default_n(machine: Mapping[str, Any], vectors: int = 3) -> int:
    """Elements per vector: >= 4x the last-level cache, <= 1/4 of free memory over all vectors."""
    llc = machine.get("last_level_cache_bytes") or 32 * 2**20
    free = machine.get("memory_available_bytes") or 4 * 2**30
    n = 4 * llc // 8
    n = math.ceil(n / 2**20) * 2**20  # whole MiB-multiples of elements read well in tables
    return int(max(QUICK_N, min(n, free // (4 * 8 * vectors))))


def _make_inputs(operation: str):
    vectors = _OPERATIONS[operation][1]

    def make_inputs(size=(QUICK_N,), seed: int = 0) -> tuple[Any, ...]:
        (n,) = size if isinstance(size, tuple) else (int(size),)
        rng = np.random.default_rng(seed)
        b = rng.random(n)
        c = rng.random(n) if vectors == 2 else None
        return {
            "copy": (b,),
            "scale": (b, SCALAR),
            "add": (b, c),
            "triad": (b, c, SCALAR),
        }[operation]

    return make_inputs


_REFERENCES = {
    "copy": lambda b: b.copy(),
    "scale": lambda b, s: s * b,
    "add": lambda b, c: b + c,
    "triad": lambda b, c, s: b + s * c,
}


def _allocate_output(b, *rest):
    out = np.empty_like(b)
    out.fill(0.0)  # touch every page now, so the first timed call does not pay the page faults
    return out


def _variants(operation: str) -> dict[str, Variant]:
    return variants(
        __name__,
        operation,
        realisation("numpy", "NumPy ufuncs writing into out="),
        realisation("numba", "a loop compiled by Numba @njit"),
        realisation("numba_parallel", "a prange loop, @njit(parallel=True)"),
        realisation("c", "C loop with OpenMP, compiled at first use", details={"source": "stream.c"}),
        realisation("cupy", "array code on the xp namespace (CuPy)"),
        realisation("cuda", "a numba-cuda kernel, one thread per element"),
        realisation("mpi", "one block per MPI rank, gathered on rank 0", also_requires=(req.NUMBA,)),
    )


def _kernel(operation: str) -> Kernel:
    formula, vectors, flops_per_element = _OPERATIONS[operation]
    moved = 8 * (vectors + 1)
    return Kernel(
        name=f"stream.{operation}",
        summary=f"STREAM {operation}: {formula} on float64 vectors of length n",
        make_inputs=_make_inputs(operation),
        reference=_REFERENCES[operation],
        allocate_output=_allocate_output,
        bytes_moved=lambda size: float(moved * size[0]),
        flops=lambda size: float(flops_per_element * size[0]),
        size_names=("n",),
        quick_size=(QUICK_N,),
        default_size=lambda machine: (default_n(machine),),
        footprint=lambda size: float(moved * size[0]),
        tolerances={"float64": 1e-14},
        variants=_variants(operation),
        baseline="c",
        check_sizes=((1,), (2,), (1009,)),
    )


copy = _kernel("copy")
scale = _kernel("scale")
add = _kernel("add")
triad = _kernel("triad")
KERNELS = (copy, scale, add, triad)
DEFAULT = triad  # "stream" alone means the triad, the figure STREAM users quote
