"""Seeded bug (c): a C stencil that reads a scratch grid's edges it never wrote (``stencil2d_scratch.c``).

The kernel gives ``out`` the fixed edges of ``u0`` but not its scratch grid, so from the second
sweep on, the sweeps that read the scratch grid read edges that hold whatever ``malloc`` left
there. Memory fresh from the kernel is zero, so on a grid with cold (zero) edges the answer is
right; on the kernel's own input, with a hot edge, it is wrong next to the edges. valgrind's
memcheck runs the program on a synthetic CPU that keeps a validity bit for every bit of memory
and registers, and reports where an undefined value decides something or leaves the process (here
in ``write``), with the allocation it came from (``--track-origins=yes``). AddressSanitizer does
not look for this at all: the bytes are inside a live allocation.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np

from haiend.debug import bounded, tools
from haiend.debug.seeded import programs
from haiend.debug.seeded.judgement import Judgement
from haiend.kernels import stencil2d
from haiend.requirements import C_COMPILER

SOURCE = Path(__file__).with_name("stencil2d_scratch.c")
DRIVER = Path(__file__).with_name("stencil2d_main.c")
SIZE = stencil2d.QUICK_SIZE  # (ny, nx, steps)
FLAGS = ("-O2",)
RUN_TIMEOUT_S = 120
MEMCHECK = ("valgrind", "--tool=memcheck", "--track-origins=yes", "--error-exitcode=99")
_SUMMARY = re.compile(r"ERROR SUMMARY: (\d+) errors")


def cold_inputs(size=SIZE) -> tuple[np.ndarray, int]:
    """The lab's default problem: stencil2d's random interior with every edge held at zero."""
    u0, steps = stencil2d.make_inputs(size)
    u0[0] = u0[-1] = 0.0
    u0[:, 0] = u0[:, -1] = 0.0
    return u0, steps


def hot_inputs(size=SIZE) -> tuple[np.ndarray, int]:
    """stencil2d's own problem: a hot top edge, a cold bottom and sides at one half."""
    return stencil2d.make_inputs(size)


def build(kernel: str | Path = SOURCE) -> Path:
    return programs.build(kernel, DRIVER, FLAGS, name="stencil2d-scratch")


def run(
    program: Path, u0: np.ndarray, steps: int, *, memcheck: bool = False
) -> tuple[np.ndarray | None, bounded.Finished]:
    """Run the program on ``u0`` (under valgrind if ``memcheck``); its grid, or None if it gave none."""
    with tempfile.TemporaryDirectory(prefix="haiend-uninit-") as folder:
        given, result = Path(folder) / "u0.bin", Path(folder) / "out.bin"
        np.ascontiguousarray(u0, dtype=np.float64).tofile(given)
        ny, nx = u0.shape
        argv = [str(program), str(given), str(result), str(ny), str(nx), str(steps)]
        done = bounded.run([*MEMCHECK, *argv] if memcheck else argv, RUN_TIMEOUT_S)
        if not result.exists() or result.stat().st_size != u0.nbytes:
            return None, done
        return np.fromfile(result, dtype=np.float64).reshape(u0.shape), done


def error_count(output: str) -> int | None:
    """memcheck's count of errors (``ERROR SUMMARY: N errors``), None if it printed no summary."""
    found = _SUMMARY.search(output)
    return int(found.group(1)) if found else None


def trim(output: str) -> str:
    """memcheck's first report (what, where, and where the value came from) and its summary."""
    lines = [line.split("== ", 1)[-1] for line in output.splitlines() if line.startswith("==")]
    first, started = [], False
    for line in lines:
        if not started and ("uninitialised" in line or "Invalid" in line):
            started = True
        if started:
            if not line.strip():
                if any("created by" in kept for kept in first) or len(first) > 12:
                    break
                continue
            first.append(line)
    summary = [line for line in lines if line.startswith("ERROR SUMMARY")]
    return "\n".join(first + summary)


def check(result: np.ndarray | None, u0: np.ndarray, steps: int) -> str | None:
    """None when ``result`` is stencil2d's reference grid within its tolerance; else what is wrong."""
    if result is None:
        return "the program wrote no grid"
    kernel_check = stencil2d.stencil2d.check(result, stencil2d.reference(u0, steps))
    return None if kernel_check.passed else f"the grid is wrong (relative error {kernel_check.error:.1e})"


def judge(kernel: str | Path) -> Judgement:
    """memcheck must find no error on the cold input, and the grid must be right on cold and hot inputs."""
    reason = tools.missing(C_COMPILER, tools.VALGRIND)
    if reason is not None:
        return Judgement(not_run=reason)
    try:
        program = build(kernel)
    except programs.BuildFailed as exc:
        return Judgement(problems=(str(exc),))
    problems = []
    u0, steps = cold_inputs()
    result, done = run(program, u0, steps, memcheck=True)
    errors = error_count(done.output)
    if errors != 0:
        problems.append(
            f"valgrind memcheck reports {errors if errors is not None else 'no summary (did it run?)'} error(s)"
        )
    wrong = check(result, u0, steps)
    if wrong:
        problems.append(f"on the cold grid, {wrong}")
    hot, hot_steps = hot_inputs()
    wrong = check(run(program, hot, hot_steps)[0], hot, hot_steps)
    if wrong:
        problems.append(f"on stencil2d's own grid (a hot edge), {wrong}")
    return Judgement(problems=tuple(problems), evidence=trim(done.output))
