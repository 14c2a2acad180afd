"""A CUDA kernel with a seeded out-of-bounds read, for Numba's CUDA simulator (the GPU chapter).

    NUMBA_ENABLE_CUDASIM=1 python -m haiend.debug.cudasim_kernels oob|fixed|step THREAD

``shift`` reads ``x[i + 1]`` for every ``i < out.size``: the last thread reads one past the end
of ``x`` (the seeded bug); ``shift_fixed`` guards with ``i + 1 < x.size``. Modes ``oob`` and
``fixed`` run on a GPU too (under compute-sanitizer, for instance). The simulator runs every CUDA
thread as a Python thread on NumPy arrays, so indexing is checked as NumPy checks it, and the
IndexError names the thread (``tid``) and block (``ctaid``). ``step THREAD`` runs
``shift_stepped``, the fixed kernel plus a ``breakpoint()`` in thread ``STOP_AT = THREAD`` (pdb,
reading its commands from stdin): a simulator-only kernel, as device code has no ``breakpoint()``.
Prints ``out=[...]`` when the kernel finishes.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from numba import cuda  # the simulator replaces this module's ``cuda`` when NUMBA_ENABLE_CUDASIM=1

STOP_AT = -1  # the global thread index that stops in pdb (set by ``step``)
BLOCKS, THREADS = 2, 4


@cuda.jit
def shift(x, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = x[i + 1]  # seeded bug: the last thread reads x[x.size]


@cuda.jit
def shift_fixed(x, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = x[i + 1] if i + 1 < x.size else 0.0


@cuda.jit
def shift_stepped(x, out):
    """``shift_fixed`` with a pdb stop in thread STOP_AT: simulator only (device code has no breakpoint())."""
    i = cuda.grid(1)
    if i < out.size:
        if i == STOP_AT:
            breakpoint()
        out[i] = x[i + 1] if i + 1 < x.size else 0.0


def main(argv: list[str]) -> int:
    global STOP_AT
    if not argv or argv[0] not in ("oob", "fixed", "step") or (argv[0] == "step") != (len(argv) == 2):
        print("usage: python -m haiend.debug.cudasim_kernels oob|fixed|step THREAD", file=sys.stderr)
        return 2
    if argv[0] == "step":
        if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
            print("step needs the CUDA simulator: set NUMBA_ENABLE_CUDASIM=1", file=sys.stderr)
            return 2
        STOP_AT = int(argv[1])
    x = np.arange(BLOCKS * THREADS, dtype=np.float64)
    out = np.zeros_like(x)
    kernel = {"oob": shift, "fixed": shift_fixed, "step": shift_stepped}[argv[0]]
    kernel[BLOCKS, THREADS](x, out)
    print(f"out={out.tolist()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
