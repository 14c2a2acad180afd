"""Seeded bug (b): a data race in the OpenMP residual of a Jacobi sweep (``residual.c``).

Every thread adds into one shared ``sum``: the loop has no ``reduction`` clause. An update is a
load, an add and a store; when two threads interleave them, one thread's additions are lost.
With one thread the answer is always right, and with two it is right whenever the threads happen
not to overlap, so a correctness check passes some of the time. ThreadSanitizer instruments every
load and store of the kernel (``-fsanitize=thread``) and reports two accesses to one address
from two threads with no synchronisation ordering them, whether or not this run lost an update.
"""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

import numpy as np

from haiend.debug import bounded, tools
from haiend.debug.seeded import programs
from haiend.debug.seeded.judgement import Judgement

SOURCE = Path(__file__).with_name("residual.c")
DRIVER = Path(__file__).with_name("residual_main.c")
DEFAULT_N = 100_000
THREADS = 2
CHECK_RUNS = 20  # a fix must give the reference on every one of these runs on THREADS threads
RUN_TIMEOUT_S = 60
FLAGS = ("-O2", "-fopenmp")  # as a release build: the sum stays in a register, stored once per thread
TSAN_FLAGS = ("-O1", "-fopenmp", "-fsanitize=thread")
_ACCESS = re.compile(r"^  (Write|Read|Previous \w+|Atomic \w+) of size")


def reference(n: int = DEFAULT_N) -> float:
    """The residual the driver's grids must give, from NumPy (exact: every value is a multiple of 1/2)."""
    k = np.arange(n)
    return float(np.sum((0.5 * (k % 5) - k % 7) ** 2))


def build(kernel: str | Path = SOURCE, *, sanitize: bool = False) -> Path:
    return programs.build(
        kernel, DRIVER, TSAN_FLAGS if sanitize else FLAGS, name="residual-tsan" if sanitize else "residual"
    )


def run(program: Path, n: int = DEFAULT_N, threads: int = THREADS) -> bounded.Finished:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TSAN_OPTIONS": "halt_on_error=0"}
    return bounded.run([str(program), str(n)], RUN_TIMEOUT_S, env=env)


def value(done: bounded.Finished) -> float | None:
    """The residual the program printed, or None when it printed none (a crash, a time-out)."""
    try:
        return float(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None


def outcomes(
    program: Path, runs: int = 20, n: int = DEFAULT_N, threads: int = THREADS
) -> collections.Counter:
    """How often each answer came out of ``runs`` runs: more than one answer means lost updates."""
    return collections.Counter(value(run(program, n, threads)) for _ in range(runs))


def races(output: str) -> list[str]:
    """ThreadSanitizer's one-line summaries (``SUMMARY: ThreadSanitizer: data race FILE:LINE in F``)."""
    return [line for line in output.splitlines() if line.startswith("SUMMARY: ThreadSanitizer")]


def trim(output: str) -> str:
    """The lines of a ThreadSanitizer report that matter: what raced, where, and the summary."""
    kept, after_access = [], False
    for line in output.splitlines():
        if line.startswith(("WARNING: ThreadSanitizer", "SUMMARY: ThreadSanitizer")) or _ACCESS.match(line):
            kept.append(line)
        elif after_access and line.startswith("    #0 "):
            kept.append(line)  # the innermost frame of the access just kept
        after_access = bool(_ACCESS.match(line))
    return "\n".join(kept)


def judge(kernel: str | Path, runs: int = CHECK_RUNS) -> Judgement:
    """ThreadSanitizer must be quiet on ``kernel`` and ``runs`` runs on two threads must all match."""
    reason = tools.missing(tools.TSAN)
    if reason is not None:
        return Judgement(not_run=reason)
    text = kernel.read_text() if isinstance(kernel, Path) else kernel
    if "#pragma omp" not in text:
        return Judgement(
            problems=("the loop is no longer an OpenMP loop: keep it parallel, and make it right",)
        )
    try:
        checked, plain = build(kernel, sanitize=True), build(kernel)
    except programs.BuildFailed as exc:
        return Judgement(problems=(str(exc),))
    report = run(checked)
    problems = [f"ThreadSanitizer still reports: {line}" for line in races(report.output)]
    if report.returncode is None:
        problems.append(f"the ThreadSanitizer run did not finish within {RUN_TIMEOUT_S} s")
    expected = reference()
    seen = outcomes(plain, runs)
    wrong = {answer: count for answer, count in seen.items() if answer != expected}
    if wrong:
        problems.append(
            f"{sum(wrong.values())} of {runs} runs on {THREADS} threads gave {sorted(wrong, key=str)}, not {expected:.17g}"
        )
    return Judgement(problems=tuple(problems), evidence=trim(report.output))
