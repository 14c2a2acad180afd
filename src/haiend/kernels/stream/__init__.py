"""STREAM: the four vector operations of McCalpin's benchmark, in float64.

copy (``out = b``), scale (``out = s * b``), add (``out = b + c``) and triad (``out = b + s * c``)
on vectors of length n. What each computes and counts, its tolerance, sizes, timing and what a
variant may change are stated once, as data, in each kernel's ``spec`` (built by ``_spec`` below
from the table ``_OPERATIONS``); ``haiend spec stream.triad`` prints it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from haiend import requirements as req
from haiend.kernels import Kernel, Specification, Tolerance, Variant, realisation, variants

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


_EXACTNESS = {
    "copy": "A copy is exact.",
    "scale": "One correctly rounded operation per element gives the reference's value exactly.",
    "add": "One correctly rounded operation per element gives the reference's value exactly.",
    "triad": "Two operations per element, each correctly rounded; a realisation that fuses them into one"
    " multiply-add (one rounding instead of two) differs by about one unit roundoff (1.1e-16) of the"
    " largest value.",
}
_INPUTS = {
    "copy": "(b,)",
    "scale": "(b, s)",
    "add": "(b, c)",
    "triad": "(b, c, s)",
}


def _spec(operation: str) -> Specification:
    formula, vectors, flops_per_element = _OPERATIONS[operation]
    arrays = "b" if vectors == 1 else "b and c"
    scalar = "s" in _INPUTS[operation]
    return Specification(
        name=f"stream.{operation}",
        summary=f"STREAM {operation}: {formula} on float64 vectors of length n",
        formula=formula,
        computes=f"{formula} for every element i of float64 vectors of length n, into a separate out.",
        inputs=f"make_inputs((n,), seed) returns {_INPUTS[operation]}: {arrays} uniform in [0, 1) from"
        " numpy.random.default_rng(seed)" + (f", s = {SCALAR} (a Python float)" if scalar else ""),
        size_names=("n",),
        quick_size=(QUICK_N,),
        default_size_rule="each vector at least four times the last-level cache (STREAM's own rule, so"
        " the data comes from memory), rounded up to a whole multiple of 2^20 elements; all the"
        " vectors together at most a quarter of free memory, and never fewer elements than the quick size",
        check_sizes=((1,), (2,), (1009,)),
        check_sizes_reason="one element, two, and a prime that no vector width or thread count divides",
        tolerances={
            "float64": Tolerance(
                1e-14,
                _EXACTNESS[operation]
                + " The tolerance leaves room for that and still catches a wrong element,"
                " which is off by order 1.",
            )
        },
        merit="gb_per_s",
        merit_reason="STREAM is limited by memory bandwidth, so its figure is a bandwidth.",
        bytes_counted=f"{8 * (vectors + 1)} * n",
        bytes_reason=f"STREAM's count: {arrays} read once and out written once, 8 bytes each per"
        " element, with no allowance for the write-allocate read of out that caches without"
        " streaming stores also make.",
        flops_counted=f"{flops_per_element} * n",
        flops_reason={
            0: "a copy does no arithmetic.",
            1: "one operation per element.",
            2: "one multiply and one add per element.",
        }[flops_per_element],
        baseline="c",
        baseline_reason="the C loop with OpenMP, measured in the same run; a variant's ratio is of"
        " times for the same work.",
        may=(
            "use streaming (non-temporal) stores, which skip the write-allocate read; the count stays as"
            " stated, so such a variant reports the bandwidth STREAM's count credits it with",
            "split the vectors over threads or ranks in blocks of any size",
        ),
        must_not=(
            "fuse this operation with another one (copy then scale in one pass) or run it in place: each"
            " call reads its inputs and writes a separate out",
            *(("treat s as a constant of the code: it is an input",) if scalar else ()),
        ),
    )


def _kernel(operation: str) -> Kernel:
    spec = _spec(operation)
    return Kernel(
        spec=spec,
        make_inputs=_make_inputs(operation),
        reference=_REFERENCES[operation],
        allocate_output=_allocate_output,
        default_size=lambda machine: (default_n(machine),),
        footprint=spec.bytes_moved,  # the vectors, each once: the same as the bytes counted
        variants=_variants(operation),
    )


copy = _kernel("copy")
scale = _kernel("scale")
add = _kernel("add")
triad = _kernel("triad")
KERNELS = (copy, scale, add, triad)
DEFAULT = triad  # "stream" alone means the triad, the figure STREAM users quote
