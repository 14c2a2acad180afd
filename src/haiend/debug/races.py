"""Data races in an OpenMP sum and in Numba's ``prange``, seen by ThreadSanitizer (TSan).

TSan is compile-time instrumentation: gcc's ``-fsanitize=thread`` puts a call to the runtime
(``__tsan_read8``, ``__tsan_write8`` ...) before every memory access of the code it compiles and
intercepts the synchronisation calls it knows (pthread mutexes and thread creation, C11 atomics).
The runtime keeps shadow cells beside each 8 bytes of memory (the last accesses: thread, clock,
read or write) and a vector clock per thread, advanced by each synchronisation it sees; two
accesses to the same bytes, one a write, neither ordered before the other by that happens-before
relation, are a race, reported with both stacks. What it cannot see it cannot order: a barrier
inside gcc's libgomp (built without TSan, synchronising with its own futexes and atomics) orders
nothing for TSan, hence false reports; code not compiled with TSan (Numba's JIT output) is not
checked at all, hence missed races.

The C kernels are ``races.c`` beside this file, built as a program (not a ctypes library, so that
the TSan runtime starts first without ``LD_PRELOAD`` into Python); the Numba kernels are
:mod:`haiend.debug.prange_sums`, run in a child Python with the TSan runtime preloaded.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from haiend.debug import bounded, tools
from haiend.errors import HaiendError
from haiend.requirements import c_compiler

SOURCE = Path(__file__).with_name("races.c")
FLAGS = ("-O2", "-g", "-fopenmp")
MODES = ("racy", "reduced", "phases")
_FRAME = re.compile(r"^\s+#(\d+) (\S+) (\S+?)(?::(\d+))?(?::\d+)? \((\S+?)\+0x[0-9a-f]+\)")
_ACCESS = re.compile(r"^  ((?:Previous )?(?:atomic )?(?:[Rr]ead|[Ww]rite) of size \d+) at \S+ by (.+?):$")
_SUMMARY = re.compile(r"^SUMMARY: ThreadSanitizer: data race (\S+?):(\d+) in (\S+)")


@dataclass(frozen=True)
class Access:
    """One side of a reported race: what it did, which thread, and its stack (function, where, module)."""

    what: str  # "Write of size 8", "Previous atomic read of size 8" ...
    thread: str  # "main thread", "thread T1"
    frames: tuple[tuple[str, str, str], ...]  # (function, file:line, module)

    @property
    def line(self) -> int | None:
        """The source line of the innermost frame, when it has one."""
        if not self.frames or ":" not in self.frames[0][1]:
            return None
        return int(self.frames[0][1].rsplit(":", 1)[1])


@dataclass(frozen=True)
class Report:
    """One ``WARNING: ThreadSanitizer: data race`` block, parsed."""

    file: str
    line: int
    function: str
    accesses: tuple[Access, ...]
    text: str

    @property
    def lines(self) -> tuple[int | None, ...]:
        """The source lines of the two racing accesses."""
        return tuple(access.line for access in self.accesses)

    @property
    def through(self) -> tuple[str, ...]:
        """The uninstrumented libraries the racing stacks pass through (libgomp.so.1 ...)."""
        modules = {m for a in self.accesses for _, _, m in a.frames if not m.startswith(("libtsan", "libc."))}
        return tuple(sorted(m for m in modules if ".so" in m))


@dataclass(frozen=True)
class Sum:
    """A run of ``races MODE``: the sum, the kernel's best time, TSan's reports, the run itself."""

    mode: str
    threads: int
    total: float | None
    seconds: float | None
    reports: tuple[Report, ...]
    finished: bounded.Finished


def parse_reports(text: str) -> tuple[Report, ...]:
    """The data-race reports in TSan's output (stderr), in order."""
    reports = []
    for block in text.split("==================\n"):
        if "WARNING: ThreadSanitizer: data race" not in block:
            continue
        accesses: list[Access] = []
        summary = None
        in_accesses = True  # the "Location is" and "Thread T1 created" parts follow the two accesses
        for line in block.splitlines():
            head = _ACCESS.match(line)
            if head:
                accesses.append(Access(head.group(1), head.group(2), ()))
                continue
            if line.startswith(("  Location is", "  Thread T", "  Mutex M")):
                in_accesses = False
            frame = _FRAME.match(line)
            if frame and accesses and in_accesses:
                last = accesses[-1]
                where = f"{frame.group(3)}:{frame.group(4)}" if frame.group(4) else frame.group(3)
                accesses[-1] = Access(last.what, last.thread, (*last.frames, (frame.group(2), where, frame.group(5))))
            summary = _SUMMARY.match(line) or summary
        if summary is not None:
            reports.append(Report(summary.group(1), int(summary.group(2)), summary.group(3), tuple(accesses), block))
    return tuple(reports)


def build(folder: str | os.PathLike, sanitize: bool) -> Path:
    """Compile ``races.c`` into ``folder`` with FLAGS, plus ``-fsanitize=thread`` when ``sanitize``."""
    compiler = c_compiler()
    if compiler is None:
        raise HaiendError("no C compiler was found: install gcc (Debian: apt-get install gcc) or set CC.")
    program = Path(folder) / ("races-tsan" if sanitize else "races")
    flags = [*FLAGS, "-fsanitize=thread"] if sanitize else list(FLAGS)
    done = bounded.run([compiler, *flags, str(SOURCE), "-o", str(program)], 120)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise HaiendError(f"{compiler} could not build {SOURCE.name} with {' '.join(flags)} ({first}).")
    return program


def run(
    program: str | os.PathLike,
    mode: str,
    n: int,
    *,
    repeats: int = 1,
    threads: int = 2,
    suppressions: str | os.PathLike | None = None,
    timeout_s: float = 60,
) -> Sum:
    """Run ``program MODE N REPEATS`` on ``threads`` OpenMP threads; its sum, best time and TSan reports.

    ``suppressions`` names a TSan suppressions file (lines such as ``race:libgomp.so.1``).
    """
    if mode not in MODES:
        raise HaiendError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}.")
    options = "halt_on_error=0" + (f" suppressions={os.fspath(suppressions)}" if suppressions else "")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TSAN_OPTIONS": options}
    done = bounded.run([os.fspath(program), mode, str(n), str(repeats)], timeout_s, env=env)
    found = re.search(r"sum=(\S+) seconds=(\S+)", done.stdout)
    total, seconds = (float(found.group(1)), float(found.group(2))) if found else (None, None)
    return Sum(mode, threads, total, seconds, parse_reports(done.stderr), done)


def numba_under_tsan(threads: int = 2, layer: str = "omp", n: int = 200_000, timeout_s: float = 120) -> tuple[dict, bounded.Finished]:
    """Run :mod:`haiend.debug.prange_sums` with the TSan runtime preloaded into Python.

    Returns the sums it printed ({"reduced": ..., "racy": ..., "layer": ...}) and the run (whose
    stderr holds any TSan report). Raises HaiendError with the one sentence when TSan is missing.
    """
    reason = tools.TSAN.missing()
    runtime = tools.runtime_library("thread")
    if reason is None and runtime is None:
        reason = "gcc does not name its libtsan.so, so the TSan runtime cannot be preloaded into Python."
    if reason is not None:
        raise HaiendError(reason)
    env = {
        **os.environ,
        "LD_PRELOAD": str(runtime),
        "NUMBA_NUM_THREADS": str(threads),
        "NUMBA_THREADING_LAYER": layer,
        "TSAN_OPTIONS": "halt_on_error=0 report_signal_unsafe=0",
    }
    done = bounded.run([sys.executable, "-m", "haiend.debug.prange_sums", str(n)], timeout_s, env=env)
    values: dict = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition("=")
        if key in ("reduced", "racy"):
            values[key] = float(value)  # printed with float(), so plain numbers
        elif key == "layer":
            values[key] = value
    return values, done
