"""What each correctness tool costs: the same fixed kernel timed plain, under a tool, and in a debug build.

For C, the fixed ``smooth`` of ``memory_bugs.c`` is built at ``-O2`` plainly and with
AddressSanitizer, and the plain build is also run under valgrind's memcheck; the program times
its own calls (best of REPS, ``clock_gettime``), so the ratios compare the kernel and leave out
valgrind's start-up. For Numba, a stencil kernel is timed in child processes, because the
``NUMBA_*`` settings are read once, when Numba is imported (:mod:`haiend.debug.numba_builds`).
Each run is one process on one thread, bounded by a time limit.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass

from haiend.debug import bounded, memcheck, numba_builds, programs, sanitizers, tools
from haiend.errors import HaiendError

_BEST = re.compile(r"best (\S+) s")


@dataclass(frozen=True)
class Cost:
    """One way of running the kernel: its best time per call, or why it could not run here."""

    name: str
    seconds: float | None
    missing: str | None = None
    settings: dict | None = None  # for a Numba build: the NUMBA_* settings its process had
    code: dict | None = None  # for a Numba build: its instruction count and whether its loop is packed


def c_costs(n: int = 100_000, reps: int = 20, timeout_s: float = 120) -> dict[str, Cost]:
    """The fixed C stencil at ``-O2``: plain, with AddressSanitizer, and the plain build under memcheck."""
    args = ["time", str(n), str(reps)]
    plain = programs.build(programs.MEMORY_BUGS, ("-g", "-O2", programs.FIXED))
    costs = {"plain -O2": _c_cost("plain -O2", [str(plain), *args], timeout_s)}
    reason = tools.missing(sanitizers.REQUIREMENT["address"])
    if reason is None:
        asan = sanitizers.build(programs.MEMORY_BUGS, "address", fixed=True, optimise="-O2")
        costs["AddressSanitizer -O2"] = _c_cost("AddressSanitizer -O2", [str(asan), *args], timeout_s)
    else:
        costs["AddressSanitizer -O2"] = Cost("AddressSanitizer -O2", None, reason)
    reason = tools.missing(tools.VALGRIND)
    if reason is None:
        report = memcheck.run([str(plain), *args], timeout_s=timeout_s)
        if report.missing is not None:
            raise HaiendError(f"the timed run under valgrind failed: {report.missing}")
        costs["valgrind memcheck"] = Cost("valgrind memcheck", _best(report.run.stdout))
    else:
        costs["valgrind memcheck"] = Cost("valgrind memcheck", None, reason)
    return costs


def _c_cost(name: str, argv: list[str], timeout_s: float) -> Cost:
    done = bounded.run(argv, timeout_s)
    if done.returncode != 0:
        raise HaiendError(f"the timed run '{name}' failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    return Cost(name, _best(done.stdout))


def _best(stdout: str) -> float:
    match = _BEST.search(stdout)
    if match is None:
        raise HaiendError(f"the timed run printed no time: {stdout.strip()[-200:]!r}")
    return float(match.group(1))


def numba_costs(n: int = 200_000, reps: int = 20, timeout_s: float = 120) -> dict[str, Cost]:
    """The fixed Numba stencil: normal, ``boundscheck=True``, and ``debug=True`` with ``NUMBA_OPT=0``."""
    costs: dict[str, Cost] = {}
    for builds, extra_env in (
        ("normal,boundscheck", {}),  # the same settings: one process
        ("debug", {"NUMBA_OPT": "0", "NUMBA_EXTEND_VARIABLE_LIFETIMES": "1"}),
    ):
        env = {**os.environ, "NUMBA_NUM_THREADS": "1", **extra_env}
        argv = [sys.executable, "-m", "haiend.debug.numba_builds", builds, str(n), str(reps)]
        done = bounded.run(argv, timeout_s, env=env)
        if done.returncode != 0:
            raise HaiendError(f"timing the Numba builds '{builds}' failed: {done.output.strip()[-300:]}")
        for line in done.stdout.strip().splitlines():
            result = json.loads(line)
            costs[result["build"]] = Cost(
                numba_builds.DESCRIPTION[result["build"]],
                result["best"],
                settings=result["settings"],
                code=result["code"],
            )
    return costs


def ratios(costs: dict[str, Cost], baseline: str) -> dict[str, float | None]:
    """Each time over the baseline's (None where a tool was missing)."""
    base = costs[baseline].seconds
    return {name: (c.seconds / base if c.seconds is not None and base else None) for name, c in costs.items()}
