"""One Numba stencil, built three ways (normal, bounds-checked, debug), and a seeded out-of-bounds read.

``smooth`` is a three-point smoothing of a row, the stencil's inner loop; ``smooth_one_too_far``
runs its loop one point too far and reads ``u[n]``. Numba does not check indices unless asked:
``boundscheck=True`` (or ``NUMBA_BOUNDSCHECK=1`` for every function) makes each access compare
the index with the extent and raise ``IndexError`` naming it. ``debug=True`` emits DWARF for the
JIT code (gdb can show the source line and the locals); with ``NUMBA_OPT=0`` LLVM keeps every
variable instead of optimising it away. ``NUMBA_*`` settings are read when Numba is imported, so
``python -m haiend.debug.numba_builds BUILD[,BUILD...] N REPS`` times builds in a process of its own and
prints a line of JSON for each: its best time, the settings it ran with, and facts about its code.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

OPTIONS = {"normal": {}, "boundscheck": {"boundscheck": True}, "debug": {"debug": True}}
DESCRIPTION = {
    "normal": "@njit",
    "boundscheck": "@njit(boundscheck=True)",
    "debug": "@njit(debug=True), NUMBA_OPT=0, NUMBA_EXTEND_VARIABLE_LIFETIMES=1",
}


def smooth(u, out):
    for i in range(1, u.size - 1):
        out[i] = (u[i - 1] + u[i] + u[i + 1]) / 3.0
    return out


def smooth_one_too_far(u, out):
    for i in range(1, u.size):  # seeded: the last i reads u[u.size]
        out[i] = (u[i - 1] + u[i] + u[i + 1]) / 3.0
    return out


def row_and_neighbour(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two rows of ``n`` values that lie one after the other in one buffer (0, 1, ... and then -1, -2, ...)."""
    buffer = np.concatenate([np.arange(n, dtype=np.float64), -np.arange(1, n + 1, dtype=np.float64)])
    return buffer[:n], buffer[n:]


def compiled(function, build: str):
    """``function`` compiled by Numba with the options of ``build`` (normal, boundscheck, debug)."""
    from numba import njit

    return njit(**OPTIONS[build])(function)


def settings() -> dict[str, object]:
    """The ``NUMBA_*`` settings this process imported Numba with (the ones a debug build changes)."""
    from numba.core import config

    return {
        "NUMBA_OPT": int(config.OPT),
        "NUMBA_EXTEND_VARIABLE_LIFETIMES": bool(config.EXTEND_VARIABLE_LIFETIMES),
    }


def code_facts(kernel) -> dict[str, object]:
    """How many instructions the compiled kernel has, and whether its hot loop uses packed (SIMD) arithmetic."""
    from haiend import asm

    function = asm.kernel_function(kernel.inspect_asm(kernel.signatures[0]))
    loop = asm.hot_loop(function)
    return {
        "instructions": sum(asm.mnemonics(function).values()),
        "packed loop": bool(loop and asm.has_packed(loop)),
    }


def best_time(build: str, n: int, reps: int) -> dict[str, object]:
    """The best of ``reps`` calls of the fixed stencil built as ``build`` (after a compiling call), and the settings."""
    kernel = compiled(smooth, build)
    u = np.random.default_rng(0).random(n)
    out = np.zeros_like(u)
    kernel(u, out)
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        kernel(u, out)
        best = min(best, time.perf_counter() - start)
    return {"build": build, "best": best, "settings": settings(), "code": code_facts(kernel)}


def main(argv: list[str]) -> int:
    if argv == ["seeded"]:  # the seeded read, compiled as the NUMBA_* settings of this process say
        row, _ = row_and_neighbour(8)
        print("out =", compiled(smooth_one_too_far, "normal")(row, np.zeros_like(row)).tolist(), flush=True)
        return 0
    builds = argv[0].split(",") if argv else []
    if (
        len(argv) != 3
        or not builds
        or any(b not in OPTIONS for b in builds)
        or not all(a.isdigit() for a in argv[1:])
    ):
        print(
            f"usage: python -m haiend.debug.numba_builds BUILD[,BUILD...] N REPS (BUILD: {', '.join(OPTIONS)}), or seeded",
            file=sys.stderr,
        )
        return 2
    for build in builds:
        print(json.dumps(best_time(build, int(argv[1]), int(argv[2]))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
