"""Seeded bug (a): a Numba stencil sweep whose column loop runs one past the interior.

    python -m haiend.debug.seeded.overrun [--sweep-from FILE] [--size NY NX STEPS]

The loop ``for j in range(1, nx)`` also computes the right edge column, so at ``j = nx - 1`` it
reads ``src[i, nx]``: one past the end of row ``i``. Numba, like C, does not check indices by
default, and in a C-ordered grid that address holds ``src[i + 1, 0]``, so nothing crashes. This
realisation re-imposes the fixed edges after every sweep (one common way to hold Dirichlet
edges), which overwrites the wrong edge value: the grid is right on every input, and the read
outside each row goes unseen. With stencil2d's own driver, which sets the edges once, the edge
column would be wrong; in a Fortran-ordered grid ``src[i, nx]`` would lie past the end of the
whole array.

Numba checks every index when the function is compiled with ``boundscheck=True``, or when
``NUMBA_BOUNDSCHECK=1`` is set before Numba is imported (it is read once, at import; a set value
overrides every function's own choice). The check raises ``IndexError`` (Numba 0.68 names
neither the index nor the axis: the traceback names the jitted function, and the loop bounds are
what to read next). It is run here in a child process, so that the setting reaches the import.
Run as a program, this module sweeps stencil2d's input with ``sweep`` (or the one defined in
``FILE``) and prints a JSON verdict of the correctness check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from numba import njit

from haiend.debug.seeded import carried
from haiend.kernels import stencil2d as kernel
from haiend.kernels.stencil2d.buffers import copy_edges, sweep_pairs

SIZE = kernel.QUICK_SIZE
RUN_TIMEOUT_S = 120
_INDEX_ERROR = re.compile(r"IndexError: index[^\n]*out of bounds[^\n]*")  # Numba 0.68 names no index
_PRELUDE = "import numpy as np\nfrom numba import njit"


@njit
def sweep(src, dst):
    """One Jacobi sweep of src's interior into dst."""
    ny, nx = src.shape
    for i in range(1, ny - 1):
        for j in range(1, nx):
            dst[i, j] = 0.25 * (src[i - 1, j] + src[i + 1, j] + src[i, j - 1] + src[i, j + 1])


def stencil2d(u0, steps, out, sweep=sweep):
    """``steps`` sweeps of u0 into out, with the fixed edges re-imposed after each one."""
    for src, dst in sweep_pairs(u0, steps, out):
        sweep(src, dst)
        copy_edges(u0, dst)
    return out


def stencil2d_edges_once(u0, steps, out, sweep=sweep):
    """The same sweeps with stencil2d's own driver: the edges set once, before the first sweep."""
    for src, dst in sweep_pairs(u0, steps, out):
        sweep(src, dst)
    return out


def verdict(sweep_function=sweep, size=SIZE) -> dict:
    """Both drivers with ``sweep_function`` on stencil2d's input: the correctness check of each.

    ``passed`` is this realisation's (edges re-imposed), ``passed_edges_once`` that of stencil2d's driver.
    """
    u0, steps = kernel.make_inputs(size)
    expected = kernel.reference(u0, steps)
    found = {"size": list(size)}
    for suffix, driver in (("", stencil2d), ("_edges_once", stencil2d_edges_once)):
        check = kernel.stencil2d.check(
            driver(u0, steps, kernel.allocate_output(u0, steps), sweep_function), expected
        )
        found |= {f"passed{suffix}": bool(check.passed), f"error{suffix}": float(check.error)}
    return found


def run_checked(sweep_from: Path | None = None, *, boundscheck: bool = True, size=SIZE):
    """Run this module as a program in a child process, with ``NUMBA_BOUNDSCHECK=1`` if ``boundscheck``."""
    from haiend.debug import bounded

    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1" if boundscheck else "0"}
    argv = [sys.executable, "-m", __name__, "--size", *map(str, size)]
    if sweep_from is not None:
        argv += ["--sweep-from", str(sweep_from)]
    return bounded.run(argv, RUN_TIMEOUT_S, env=env)


def index_errors(output: str) -> list[str]:
    """The ``IndexError`` lines of Numba's bounds check."""
    return _INDEX_ERROR.findall(output)


def trim(output: str) -> str:
    """The innermost frame of the traceback (the call into the jitted sweep) and the error itself."""
    lines = output.rstrip().splitlines()
    frames = [k for k, line in enumerate(lines) if line.lstrip().startswith("File ")]
    return "\n".join(lines[frames[-1] :] if frames else lines[-1:])


def printed_verdict(output: str) -> dict | None:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def judge(sweep_function):
    """The bounds-checked run of ``sweep_function`` must raise no IndexError and pass the check."""
    from haiend.debug.seeded.judgement import Judgement

    path = carried.write(sweep_function, _PRELUDE)
    try:
        done = run_checked(path)
    finally:
        path.unlink()
    problems = [f"with NUMBA_BOUNDSCHECK=1: {line}" for line in index_errors(done.output)]
    result = printed_verdict(done.stdout)
    if result is None and not problems:
        last = (done.output.strip().splitlines() or ["no output"])[-1]
        problems.append(f"the bounds-checked run gave no verdict ({last})")
    elif result is not None:
        for suffix, driver in (("", "with the edges re-imposed"), ("_edges_once", "with the edges set once")):
            if not result[f"passed{suffix}"]:
                problems.append(f"the grid {driver} is wrong (relative error {result[f'error{suffix}']:.1e})")
    return Judgement(problems=tuple(problems), evidence="\n".join(index_errors(done.output)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m haiend.debug.seeded.overrun", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sweep-from", type=Path, help="a Python file defining an @njit sweep(src, dst)")
    parser.add_argument("--size", type=int, nargs=3, default=SIZE, metavar=("NY", "NX", "STEPS"))
    args = parser.parse_args(argv)
    if min(args.size[:2]) < 3 or args.size[2] < 0:
        parser.error("the grid needs at least 3 x 3 points and a number of sweeps of 0 or more.")
    try:
        chosen = carried.load(args.sweep_from, "sweep") if args.sweep_from else sweep
    except carried.NotCarried as exc:
        parser.error(str(exc))
    print(json.dumps(verdict(chosen, tuple(args.size))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
